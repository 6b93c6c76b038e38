//! The auditor's page (`web/`, DESIGN.md §7a) as this binary carries it:
//! served at `/` by the log ([`crate::api`]) and written beside the tiles
//! by every mirror writer ([`crate::publish`]), so the same page works from
//! the log, a static mirror or an object store. The files are embedded at
//! build time (`build-support/page.rs`); the verdicts they compute come
//! from the WebAssembly build of the core crate, never from this server.
//!
//! Invariant: [`built`] is false exactly when the binary was built without
//! the generated verifier (`scripts/build-page` not run); the log then
//! answers `/` with [`NOT_BUILT`] and the mirrors get no page, rather than
//! a page that cannot verify.

/// One file of the page.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its name, relative to the page's directory (`index.html`, ...).
    pub name: &'static str,
    pub body: &'static [u8],
    pub content_type: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            body: include_bytes!(concat!(env!("OUT_DIR"), "/page/", $name)),
            content_type: $type,
        }
    };
}

/// Every file of the page; `index.html` first.
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("evidence.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("rootlog_web.js", "text/javascript; charset=utf-8"),
    asset!("rootlog_web_bg.wasm", "application/wasm"),
];

/// `Cache-Control` of the page's files: they change when the log is
/// upgraded, and are small, so every visit asks again.
pub const CACHE: &str = "no-cache";

/// The Content-Security-Policy the page runs under (also in its `<meta>`):
/// its own scripts and the WebAssembly verifier only, and fetches only from
/// where it is served, so nothing leaves for a third party.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What `/` says when this binary was built without the page.
pub const NOT_BUILT: &str = "This rootlog was built without the auditor's page: run scripts/build-page, then build rootlog again (web/README.md). The log's API and tiles work without it.\n";

/// Whether the page's WebAssembly verifier was built into this binary.
pub fn built() -> bool {
    env!("ROOTLOG_PAGE_BUILT") == "yes"
}

/// The file called `name`, if the page has one.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

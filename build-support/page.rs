//! The auditor's page as the `rootlog` binary embeds it: `web/static/`
//! (index.html, app.js, style.css, written by hand) and the WebAssembly
//! verifier with its glue (rootlog_web_bg.wasm, rootlog_web.js, generated
//! into the same directory by `scripts/build-page`), copied into
//! `$OUT_DIR/page/` for `include_bytes!` (`src/page.rs`).
//!
//! A build without the generated files still succeeds, so the log builds
//! on a machine without the wasm tools; it embeds empty files and sets
//! `ROOTLOG_PAGE_BUILT=no`, and the log then answers `/` with a page that
//! says how to build it, and publishes no page beside its tiles.
//!
//! Only std: a build script should not pull in crates.

use std::path::Path;

/// Every file of the page, as `src/page.rs` lists them.
pub const FILES: &[&str] = &[
    "index.html",
    "app.js",
    "evidence.js",
    "style.css",
    "rootlog_web.js",
    "rootlog_web_bg.wasm",
];
/// The files `scripts/build-page` generates.
const GENERATED: &[&str] = &["rootlog_web.js", "rootlog_web_bg.wasm"];

/// Copies the page into `$OUT_DIR/page/` and tells cargo when to do it again.
pub fn emit(static_dir: &Path) {
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("page");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/page");
    // The directory itself: a generated file appearing or going changes it.
    println!("cargo:rerun-if-changed={}", static_dir.display());
    let built = GENERATED.iter().all(|f| static_dir.join(f).is_file());
    for file in FILES {
        let from = static_dir.join(file);
        println!("cargo:rerun-if-changed={}", from.display());
        let body = if built || !GENERATED.contains(file) {
            std::fs::read(&from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
        } else {
            Vec::new()
        };
        std::fs::write(out.join(file), body).expect("write OUT_DIR/page");
    }
    println!(
        "cargo:rustc-env=ROOTLOG_PAGE_BUILT={}",
        if built { "yes" } else { "no" }
    );
}

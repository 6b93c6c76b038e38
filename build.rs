//! Build script of `rootlog`: the commit the binary is built from, for
//! `rootlog --version` (`ROOTLOG_COMMIT`; see `build-support/commit.rs`),
//! and the auditor's page it serves and publishes
//! (`build-support/page.rs`).

#[path = "build-support/commit.rs"]
mod commit;
#[path = "build-support/page.rs"]
mod page;

fn main() {
    commit::emit(&[
        "src",
        "tlog",
        "runtime",
        "web",
        "build.rs",
        "build-support",
        "Cargo.toml",
        "Cargo.lock",
    ]);
    page::emit(std::path::Path::new("web/static"));
}

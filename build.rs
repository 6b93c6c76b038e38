//! Build script of `rootlog`: the commit the binary is built from, for
//! `rootlog --version` (`ROOTLOG_COMMIT`; see `build-support/commit.rs`).

#[path = "build-support/commit.rs"]
mod commit;

fn main() {
    commit::emit(&[
        "src",
        "tlog",
        "runtime",
        "build.rs",
        "build-support",
        "Cargo.toml",
        "Cargo.lock",
    ]);
}

//! Build script of `rootlog-witness`: the commit the binary is built from,
//! for `rootlog-witness --version` (`ROOTLOG_COMMIT`; see
//! `../build-support/commit.rs`). The witness is built from its own sources
//! and from the core and runtime crates'.

#[path = "../build-support/commit.rs"]
mod commit;

fn main() {
    commit::emit(&[
        "src",
        "build.rs",
        "Cargo.toml",
        "../tlog",
        "../runtime",
        "../build-support",
        "../Cargo.toml",
        "../Cargo.lock",
    ]);
}

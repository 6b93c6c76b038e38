//! Build script of `rootlog`: the commit the binary is built from, for
//! `rootlog --version` (`ROOTLOG_COMMIT`; see `build-support/commit.rs`).

#[path = "build-support/commit.rs"]
mod commit;

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let found = commit::describe(
        &dir,
        &[
            "src",
            "build.rs",
            "build-support",
            "Cargo.toml",
            "Cargo.lock",
        ],
        std::env::var(commit::OVERRIDE).ok().as_deref(),
    );
    println!("cargo:rustc-env=ROOTLOG_COMMIT={}", found.text);
    println!("cargo:rerun-if-env-changed={}", commit::OVERRIDE);
    for path in &found.watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

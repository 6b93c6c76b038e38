//! The commit a binary is built from, for `--version`: shared by the build
//! scripts of `rootlog` (`build.rs`) and `rootlog-witness`
//! (`witness/build.rs`), and tested by `tests/version.rs`.
//!
//! - `ROOTLOG_BUILD_COMMIT` set and not empty: that text as it is (for a
//!   packager building from a source tarball who knows the commit);
//! - built from a git work tree: `git rev-parse --short HEAD`, with `-dirty`
//!   when any of the binary's source paths differs from that commit
//!   (modified, staged, deleted or untracked files);
//! - otherwise (a source tarball, no git): `unknown`.
//!
//! Only std: a build script should not pull in crates.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that overrides what git says.
pub const OVERRIDE: &str = "ROOTLOG_BUILD_COMMIT";

/// What `--version` says about the commit, and the files whose change must
/// run the build script again so that it stays true.
pub struct Commit {
    /// `<short hash>`, `<short hash>-dirty`, `unknown`, or the override.
    pub text: String,
    /// Existing files and directories: the sources (whose change can make
    /// the tree dirty or clean) and git's HEAD and branch ref (which a commit
    /// or a checkout moves). Not the index, which `git status` rewrites:
    /// staging a change neither makes nor cleans `-dirty`.
    pub watch: Vec<PathBuf>,
}

/// The build script's whole work: describes the package's commit with
/// `sources` (relative to the package directory) as what it is built from,
/// sets `ROOTLOG_COMMIT` for `env!`, and tells cargo when to run it again.
#[allow(dead_code)] // tests/version.rs includes this file for `describe` only.
pub fn emit(sources: &[&str]) {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let found = describe(&dir, sources, std::env::var(OVERRIDE).ok().as_deref());
    println!("cargo:rustc-env=ROOTLOG_COMMIT={}", found.text);
    println!("cargo:rerun-if-env-changed={OVERRIDE}");
    for path in &found.watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Describes the commit of the work tree holding `dir` (a package
/// directory), with `sources` (paths relative to `dir`) as what the binary
/// is built from.
pub fn describe(dir: &Path, sources: &[&str], override_text: Option<&str>) -> Commit {
    let mut watch: Vec<PathBuf> = sources
        .iter()
        .map(|s| dir.join(s))
        .filter(|p| p.exists())
        .collect();
    if let Some(text) = override_text.map(str::trim).filter(|t| !t.is_empty()) {
        return Commit {
            text: text.to_string(),
            watch,
        };
    }
    let Some(hash) = git(dir, &["rev-parse", "--short", "HEAD"]) else {
        return Commit {
            text: "unknown".to_string(),
            watch,
        };
    };
    let mut status = vec!["status", "--porcelain", "--untracked-files=normal", "--"];
    status.extend_from_slice(sources);
    // A status git cannot give is reported as changes: "-dirty" claims only
    // that the binary may differ from the commit.
    let dirty = git(dir, &status).is_none_or(|out| !out.is_empty());
    let mut git_files = vec!["HEAD".to_string()];
    git_files.extend(git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]));
    git_files.push("packed-refs".to_string());
    for name in git_files {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            // A missing file would make cargo run the script on every build.
            if path.exists() {
                watch.push(path);
            }
        }
    }
    Commit {
        text: if dirty { format!("{hash}-dirty") } else { hash },
        watch,
    }
}

/// Runs git in `dir`; its trimmed standard output when it succeeded.
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

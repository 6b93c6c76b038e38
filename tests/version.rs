//! `rootlog --version` and `rootlog-witness --version` name the commit the
//! binary was built from; `build-support/commit.rs`, which the build
//! scripts share, says `<hash>`, `<hash>-dirty` or `unknown` as it should.

mod common;

#[path = "../build-support/commit.rs"]
mod commit;

use std::path::Path;
use std::process::Command;

use common::{rootlog_bin, witness_bin};

use commit::git;

fn version(bin: &Path) -> String {
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected_commit = match std::env::var(commit::OVERRIDE) {
        Ok(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => git(repo, &["rev-parse", "--short", "HEAD"]),
    };
    for (bin, name) in [
        (Path::new(rootlog_bin()).to_path_buf(), "rootlog"),
        (witness_bin(), "rootlog-witness"),
    ] {
        let line = version(&bin);
        let prefix = format!("{name} {} (commit ", env!("CARGO_PKG_VERSION"));
        let commit = line
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{name} --version: {line:?}"));
        match &expected_commit {
            // Built from this checkout: its HEAD, clean or not.
            Some(hash) => assert!(
                commit == hash || commit == format!("{hash}-dirty"),
                "{name} --version says {commit:?}, HEAD is {hash}"
            ),
            None => assert_eq!(commit, "unknown", "{name}: no git here"),
        }
    }
}

/// A scratch git repository with one commit of `src/lib.rs` and `README`.
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "// one\n").unwrap();
    std::fs::write(dir.path().join("README"), "one\n").unwrap();
    run(&["init", "-q", "-b", "main"]);
    run(&["add", "."]);
    run(&["commit", "-q", "-m", "one"]);
    dir
}

#[test]
fn describe_says_hash_dirty_or_unknown() {
    if git(Path::new("."), &["--version"]).is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI has git");
        return;
    }
    let repo = scratch_repo();
    let dir = repo.path();
    let head = git(dir, &["rev-parse", "--short", "HEAD"]).unwrap();
    let sources = ["src", "Cargo.toml"];
    let described = commit::describe(dir, &sources, None);
    assert_eq!(described.text, head);
    // Watched: the sources that exist, HEAD and the branch's ref, so a
    // commit or a checkout runs the build script again.
    assert!(described.watch.contains(&dir.join("src")));
    assert!(!described.watch.contains(&dir.join("Cargo.toml")));
    assert!(described.watch.iter().any(|p| p.ends_with(".git/HEAD")));
    assert!(described
        .watch
        .iter()
        .any(|p| p.ends_with("refs/heads/main")));

    // A change outside the sources leaves the binary what the commit built.
    std::fs::write(dir.join("README"), "two\n").unwrap();
    assert_eq!(commit::describe(dir, &sources, None).text, head);
    // A changed source, or a new one not yet committed, makes it dirty.
    std::fs::write(dir.join("src/lib.rs"), "// two\n").unwrap();
    assert_eq!(
        commit::describe(dir, &sources, None).text,
        format!("{head}-dirty")
    );
    std::fs::write(dir.join("src/lib.rs"), "// one\n").unwrap();
    assert_eq!(commit::describe(dir, &sources, None).text, head);
    std::fs::write(dir.join("src/new.rs"), "").unwrap();
    assert_eq!(
        commit::describe(dir, &sources, None).text,
        format!("{head}-dirty")
    );

    // A packager's override wins; an empty one does not count.
    assert_eq!(
        commit::describe(dir, &sources, Some("v0.1.0-abc")).text,
        "v0.1.0-abc"
    );
    assert_eq!(
        commit::describe(dir, &sources, Some(" ")).text,
        format!("{head}-dirty")
    );

    // Not a git work tree (a source tarball): unknown.
    let tarball = tempfile::tempdir().unwrap();
    std::fs::create_dir(tarball.path().join("src")).unwrap();
    let outside = commit::describe(tarball.path(), &sources, None);
    assert_eq!(outside.text, "unknown");
    assert_eq!(outside.watch, vec![tarball.path().join("src")]);
}

//! What the repository itself promises: the license the manifests declare,
//! a security policy and a changelog; a `.gitignore` that covers what the
//! README's walk-throughs write into the repository; a README command list
//! that names every command the binaries have; scripts that find cargo's
//! target directory wherever it is.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use common::{rootlog_bin, witness_bin};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn license_is_the_apache_2_0_text_the_manifests_declare() {
    for manifest in ["Cargo.toml", "witness/Cargo.toml", "bench/Cargo.toml"] {
        let text = read(manifest);
        assert!(
            text.contains("license = \"Apache-2.0\"") || text.contains("license.workspace = true"),
            "{manifest} declares another license"
        );
    }
    // SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt: the
    // standard text, unaltered.
    let license = std::fs::read(repo().join("LICENSE")).expect("LICENSE");
    assert_eq!(
        hex::encode(Sha256::digest(&license)),
        "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
        "LICENSE is not the Apache License 2.0 text"
    );
}

#[test]
fn security_policy_says_how_to_report_and_what_to_do_on_a_key_compromise() {
    let text = read("SECURITY.md");
    for needle in [
        "## Reporting a vulnerability",
        "Privately",
        "## What is in scope",
        "**The log**",
        "**The witness**",
        "**The verifiers**",
        "**The formats**",
        "## On a key compromise",
        "tenant's signing key",
        "admin token",
        "log's key",
        "witness's key",
        "revoke-key",
    ] {
        assert!(text.contains(needle), "SECURITY.md lacks {needle:?}");
    }
}

#[test]
fn changelog_has_an_unreleased_section_and_the_earlier_history() {
    let text = read("CHANGELOG.md");
    let unreleased = text
        .find("\n## Unreleased\n")
        .expect("an Unreleased section");
    let earlier = text.find("\n## Earlier").expect("an earlier section");
    assert!(unreleased < earlier);
    let wave = &text[unreleased..earlier];
    for needle in [
        "fdatasync",
        "power-cut",
        "fork guard",
        "--from-mirror",
        "conclusive",
        "high-water mark",
        "--max-delay",
        "Receipts",
        "--header-timeout",
        "--max-connections",
        "--trusted-proxy",
        "--admin-listen",
    ] {
        assert!(
            wave.contains(needle),
            "the Unreleased section lacks {needle:?}"
        );
    }
}

/// What the README's walk-throughs write into the repository root when run
/// from it, as a path git would see (a file inside each directory).
const WALK_THROUGH_WRITES: [(&str, &str); 9] = [
    ("--out-dir keys", "keys/acme-securities.skey"),
    ("> records.txt", "records.txt"),
    ("--data rootlog-data", "rootlog-data/log.skey"),
    ("--to mirror", "mirror/checkpoint"),
    ("--data demo/log", "demo/log/log.skey"),
    ("--out demo-export", "demo-export/manifest.json"),
    (
        "--to rootlog-$(date -u +%F).backup",
        "rootlog-2026-12-01.backup",
    ),
    // `rootlog backup` writes the file under a temporary name first.
    (
        "--to rootlog-$(date -u +%F).backup",
        "rootlog-2026-12-01.partial",
    ),
    // `rootlog-witness serve` without --data.
    ("rootlog-witness-data", "rootlog-witness-data/witness.skey"),
];

/// Relative paths the README's shell blocks write to (`--out-dir X`,
/// `--data X`, `--to X`, `--out X`, `--publish-dir X`, `> X`): each must be
/// in the list above, so a new walk-through step cannot be forgotten.
fn readme_written_paths() -> Vec<String> {
    let readme = read("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = line.split(" #").next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if ["--out-dir", "--data", "--to", "--out", "--publish-dir", ">"].contains(&pair[0]) {
                let target = pair[1].trim_matches(|c| c == '"' || c == ')');
                if !target.starts_with('/') && !target.starts_with('$') && !target.is_empty() {
                    out.push(target.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn gitignore_covers_what_the_readme_walk_through_writes() {
    // The witness's walk-through (and its default data directory) is in its own README.
    let readmes = read("README.md") + &read("witness/README.md");
    let listed: Vec<&str> = WALK_THROUGH_WRITES.iter().map(|(_, p)| *p).collect();
    for (command, _) in WALK_THROUGH_WRITES {
        assert!(
            readmes.contains(command),
            "README.md and witness/README.md no longer say {command:?}: update the list"
        );
    }
    for written in readme_written_paths() {
        let top = written.split('/').next().unwrap();
        let top = top.split('$').next().unwrap();
        assert!(
            listed.iter().any(|p| p.starts_with(top)),
            "the README writes {written:?} into the repository: add it to WALK_THROUGH_WRITES and .gitignore"
        );
    }
    let git = Command::new("git")
        .arg("-C")
        .arg(repo())
        .arg("rev-parse")
        .arg("--git-dir")
        .output();
    if !git.is_ok_and(|o| o.status.success()) {
        // A source tarball has no git to ask; CI is a clone.
        assert!(std::env::var_os("CI").is_none(), "CI runs in a git clone");
        return;
    }
    for path in listed {
        let ignored = Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["check-ignore", "--quiet", "--no-index", path])
            .status()
            .unwrap();
        assert!(ignored.success(), ".gitignore does not ignore {path}");
    }
}

/// The subcommands a `--help` lists.
fn subcommands(bin: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new(bin).args(args).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_command_list_names_every_command() {
    let readme = read("README.md");
    let start = readme
        .find("\n## Commands\n")
        .expect("README.md has a Commands section");
    let rest = &readme[start + 1..];
    let list = &rest[..rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3)];
    let rootlog = PathBuf::from(rootlog_bin());
    let top = subcommands(&rootlog, &[]);
    assert!(
        top.contains(&"serve".to_string()) && top.contains(&"tenant".to_string()),
        "{top:?}"
    );
    let mut names = Vec::new();
    for command in &top {
        let nested = subcommands(&rootlog, &[command]);
        if nested.is_empty() {
            names.push(format!("`rootlog {command}`"));
        }
        for sub in nested {
            names.push(format!("`rootlog {command} {sub}`"));
        }
    }
    for command in subcommands(&witness_bin(), &[]) {
        names.push(format!("`rootlog-witness {command}`"));
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !list.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's Commands section does not name {missing:?}"
    );
}

/// Runs bash with `scripts/lib/target-dir` sourced, then `script`.
fn with_target_dir(script: &str, target: Option<&str>) -> String {
    let mut command = Command::new("bash");
    command
        .current_dir(repo())
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; . scripts/lib/target-dir; {script}"
        ))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if let Some(dir) = target {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let out = command.output().expect("bash runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn scripts_find_cargos_target_directory_wherever_it_is() {
    let elsewhere = tempfile::tempdir().unwrap();
    let elsewhere = elsewhere.path().to_str().unwrap();
    assert_eq!(with_target_dir("target_dir", Some(elsewhere)), elsewhere);
    // Without the variable (and no config moving it): target/ of the workspace.
    let default = with_target_dir("target_dir", None);
    let config_moves_it = repo().join(".cargo/config.toml").exists();
    if !config_moves_it {
        assert_eq!(Path::new(&default), repo().join("target"));
    }

    // Every script that runs what cargo built finds it through the helper:
    // none names target/ itself (fuzz/target is cargo-fuzz's own corpus
    // directory, not a build output of ours).
    for entry in std::fs::read_dir(repo().join("scripts")).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.replace("fuzz/target/", ""))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !code.contains("target/"),
            "{} names target/: use $(target_dir) from scripts/lib/target-dir",
            path.display()
        );
        if code.contains("target_dir") {
            assert!(
                code.contains(". scripts/lib/target-dir"),
                "{} uses target_dir without sourcing scripts/lib/target-dir",
                path.display()
            );
        }
    }
}

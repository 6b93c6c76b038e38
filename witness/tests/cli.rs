//! The `rootlog-witness` command line beyond `serve`: `--version` names the
//! commit it was built from; `vkey` and `evidence` into a pipe whose reader
//! is gone end quietly with exit 0, and into a full disk with exit 1.

mod common;

use std::process::{Command, Output, Stdio};

use common::{WitnessProcess, BIN};

/// A data directory with a witness key, made by a first start.
fn witness_data() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(WitnessProcess::start(
        &data,
        &["--name".into(), "w1.example".into()],
    ));
    dir
}

fn run(args: &[&str], stdout: Stdio) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("rootlog-witness runs")
}

#[test]
fn version_names_the_commit() {
    let out = run(&["--version"], Stdio::piped());
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let prefix = format!("rootlog-witness {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .trim()
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(
        commit == "unknown"
            || commit
                .trim_end_matches("-dirty")
                .chars()
                .all(|c| c.is_ascii_hexdigit())
            || std::env::var_os("ROOTLOG_BUILD_COMMIT").is_some(),
        "{commit:?}"
    );
}

#[test]
fn a_closed_stdout_pipe_ends_the_printing_quietly() {
    let dir = witness_data();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    for args in [["vkey", "--data", data], ["evidence", "--data", data]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = run(&args, Stdio::from(writer));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn output_that_cannot_be_written_is_a_failure() {
    let dir = witness_data();
    let data = dir.path().join("data");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = run(
        &["vkey", "--data", data.to_str().unwrap()],
        Stdio::from(full),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rootlog-witness: cannot write to standard output"),
        "{stderr}"
    );
}

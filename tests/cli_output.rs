//! What `rootlog` does when its output cannot be written: a pipe whose
//! reader is gone (`rootlog submit ... | head -3`) ends the printing
//! quietly with the command's own exit code; any other write error (a full
//! disk) is exit 1 with a message, not a panic. And its log lines carry no
//! colour codes when standard error is not a terminal (the journal).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{register, rootlog_bin, Server, Tenant, ADMIN_TOKEN};

/// Runs `rootlog args` with standard output a pipe whose reader is already
/// closed, so its first write meets EPIPE, as under `| head` once head has
/// read what it wanted.
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(rootlog_bin())
        .args(args)
        .env("ROOTLOG_LOG", "warn")
        .env_remove("ROOTLOG_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("rootlog runs")
}

fn assert_quiet(args: &[&str], out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("Broken pipe")
            && !stderr.contains("failed printing"),
        "rootlog {args:?} complained about the closed pipe:\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "rootlog {args:?}: {stderr}");
}

#[tokio::test]
async fn a_closed_stdout_pipe_ends_the_printing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).display().to_string();
    let (data, keys, records) = (path("data"), path("keys"), path("records.txt"));
    std::fs::write(&records, format!("{}\n", "ab".repeat(32))).unwrap();
    let mut server = Server::start(Path::new(&data), &[]);
    let tenant = Tenant::new("acme-securities");
    register(&server, &tenant).await;

    let keygen = ["keygen", "--name", "acme-securities", "--out-dir", &keys];
    let out = into_closed_pipe(&keygen);
    assert_quiet(&keygen, &out);
    // The tenant registered above has another key: register this one.
    let skey = format!("{keys}/acme-securities.skey");
    let vkey = format!("@{keys}/acme-securities.vkey");
    let add = [
        "tenant",
        "add-key",
        "--log",
        &server.url,
        "--id",
        "acme-securities",
        "--vkey",
        &vkey,
        "--token",
        ADMIN_TOKEN,
    ];
    let root = "ab".repeat(32);
    let day = common::day(3);
    let statement = [
        "statement",
        "--key",
        &skey,
        "--date",
        &day,
        "--records",
        "1",
        "--root",
        &root,
    ];
    // Pretty JSON of many lines: `rootlog submit ... | head -3`.
    let submit = [
        "submit",
        "--log",
        &server.url,
        "--key",
        &skey,
        "--date",
        &day,
        "--records",
        "1",
        "--root",
        &root,
    ];
    let show = [
        "tenant",
        "show",
        "--log",
        &server.url,
        "--id",
        "acme-securities",
    ];
    let simple: [&[&str]; 5] = [&add, &statement, &submit, &show, &["root", &records]];
    for args in simple {
        let out = into_closed_pipe(args);
        assert_quiet(args, &out);
    }
    let vkey_args = ["vkey", "--data", &data];
    assert_quiet(&vkey_args, &into_closed_pipe(&vkey_args));

    // The statement was logged although nobody read the answer.
    let entry = server
        .client()
        .get_json(&format!("/v1/roots/acme-securities/{day}"))
        .await
        .unwrap();
    assert!(entry["index"].is_u64(), "{entry}");

    server.stop();
    let fsck = ["fsck", "--data", &data];
    assert_quiet(&fsck, &into_closed_pipe(&fsck));
}

#[test]
fn closed_stdout_and_stderr_keep_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys").display().to_string();
    let run = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        Command::new(rootlog_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .status()
            .expect("rootlog runs")
    };
    // `rootlog keygen ... 2>&1 | head -1`: a line to each.
    assert_eq!(
        run(&["keygen", "--name", "acme", "--out-dir", &keys]).code(),
        Some(0)
    );
    // A failure says so on stderr, which is closed too: still exit 1, not a panic's 101.
    let missing = dir.path().join("missing.txt").display().to_string();
    assert_eq!(run(&["root", &missing]).code(), Some(1));
}

#[test]
fn output_that_cannot_be_written_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.txt");
    std::fs::write(&records, format!("{}\n", "cd".repeat(32))).unwrap();
    let full = match std::fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(f) => f,
        Err(e) => panic!("/dev/full: {e}"),
    };
    let out = Command::new(rootlog_bin())
        .arg("root")
        .arg(&records)
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("rootlog runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rootlog: cannot write to standard output"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn log_lines_are_plain_text_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(rootlog_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .env("ROOTLOG_LOG", "info")
        .env_remove("ROOTLOG_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rootlog serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // A first start without --origin warns, and says where the admin token is.
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        let token = line.contains("admin token");
        lines.push(line);
        if token {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l.contains("admin token")),
        "no log line about the admin token: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes in the log: {lines:?}"
    );
}

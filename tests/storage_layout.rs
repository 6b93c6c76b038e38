//! The on-disk layout with the real binaries: a data directory of the older
//! layout (leaves and nodes inside sled) is moved into the tree files on the
//! first start and serves the same log; an uncommitted tail in the tree
//! files (what a crash between the file sync and the sled batch leaves) is
//! harmless and cut off on start; a tree file shorter than the committed
//! tree is found by fsck and refused by the server. A directory of layout
//! `tree-files/v1` (one index row per leaf in sled) has its indexes moved to
//! layout v2 on the first start and answers every query as before, and the
//! leaf-hash runs are rebuilt when they are lost.

mod common;

use std::path::Path;
use std::process::Command;

use common::{day, register, released, rootlog_bin, run_rootlog, Server, Tenant};
use serde_json::Value;

/// Unpacks `tests/fixtures/<name>` into a fresh directory.
fn unpack(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// The older-layout fixture: 3 registrations and 300 statements written by
/// `rootlog-bench load` before the tree files existed.
fn legacy_log() -> tempfile::TempDir {
    unpack("legacy-layout-v1.tar.gz")
}

/// The layout-v1 fixture: 3 registrations and 300 statements over 3
/// tenants and the 100 days 2026-08-25..2026-12-02, written by
/// `rootlog-bench load` when every leaf had an `H` and a `T` row.
fn v1_log() -> tempfile::TempDir {
    unpack("layout-tree-files-v1.tar.gz")
}

fn fsck(data: &Path) -> (i32, Value, String) {
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tree_file(data: &Path, name: &str) -> std::path::PathBuf {
    data.join("db").join(name)
}

fn len(data: &Path, name: &str) -> u64 {
    std::fs::metadata(tree_file(data, name)).unwrap().len()
}

async fn get_json(server: &Server, path: &str) -> Value {
    reqwest::get(format!("{}{path}", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn checkpoint_text(server: &Server) -> String {
    reqwest::get(format!("{}/checkpoint", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_legacy_directory_is_moved_into_the_tree_files_and_serves_the_same_log() {
    let dir = legacy_log();
    let data = dir.path();

    // fsck reads only: it names the older layout and says what to do.
    let (code, _, stderr) = fsck(data);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("older layout"), "{stderr}");
    assert!(stderr.contains("rootlog serve"), "{stderr}");

    let mut server = Server::start(data, &[]);
    // The checkpoint and a leaf the fixture's log served before the move.
    let checkpoint = checkpoint_text(&server).await;
    assert!(
        checkpoint.starts_with(
            "example.com/legacy-log\n303\nSEgmn0wwWsSmBjMV0iQyIkT8F5zrgJZKGd50HiixGX4=\n"
        ),
        "{checkpoint}"
    );
    let entry = get_json(&server, "/v1/entries/150").await;
    assert_eq!(
        entry["leaf_hash"], "3Hvu904bXzL4YWThA/obDgwgAuOfUMV3LoVnXTo0xYs=",
        "{entry}"
    );

    // The log goes on growing on the new layout.
    let tenant = Tenant::new("after-move");
    register(&server, &tenant).await;
    let (status, proof) = server
        .client()
        .submit(&tenant.statement(&day(1), 1))
        .await
        .unwrap();
    assert_eq!(status, 201);
    assert_eq!(proof.index, 304);
    server.stop();

    let (code, report, stderr) = fsck(data);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["tree_size"], 305);
    assert_eq!(report["checked"]["leaves"], 305);
    // Every leaf is in the files: 305 end offsets.
    assert_eq!(len(data, "leaf-ends"), 305 * 8);

    // A second start finds the new layout and moves nothing.
    let server = Server::start(data, &[]);
    let entry = get_json(&server, "/v1/entries/150").await;
    assert_eq!(
        entry["leaf_hash"],
        "3Hvu904bXzL4YWThA/obDgwgAuOfUMV3LoVnXTo0xYs="
    );
}

/// A fresh log of 1 registration and 20 statements, stopped.
async fn small_log(data: &Path) {
    let mut server = Server::start(data, &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    for n in 0..20 {
        let (status, _) = server
            .client()
            .submit(&tenant.statement(&day(n), n))
            .await
            .unwrap();
        assert_eq!(status, 201);
    }
    server.stop();
}

fn append(data: &Path, name: &str, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(tree_file(data, name))
        .unwrap();
    file.write_all(bytes).unwrap();
}

#[tokio::test]
async fn an_uncommitted_tail_is_harmless_and_cut_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    small_log(data).await;
    let lengths: Vec<u64> = ["leaves", "leaf-ends", "hashes"]
        .iter()
        .map(|n| len(data, n))
        .collect();
    // What a crash after the files' sync but before sled's batch leaves.
    append(
        data,
        "leaves",
        b"half of a note that was never acknowledged",
    );
    append(data, "leaf-ends", &u64::MAX.to_be_bytes());
    append(data, "hashes", &[0x77; 48]);

    let (code, report, stderr) = fsck(data);
    assert_eq!(
        code, 0,
        "a tail beyond the tree is not damage: {report} {stderr}"
    );

    let server = Server::start(data, &[]);
    let after: Vec<u64> = ["leaves", "leaf-ends", "hashes"]
        .iter()
        .map(|n| len(data, n))
        .collect();
    assert_eq!(after, lengths, "the tail is cut back to the committed tree");
    let checkpoint = checkpoint_text(&server).await;
    assert!(checkpoint.lines().nth(1) == Some("21"), "{checkpoint}");
}

#[tokio::test]
async fn a_short_tree_file_is_found_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    small_log(data).await;
    // Lose the last stored node (the level-0 hash of leaf 20 is not the
    // last one: leaf 20 completes no parent, so the last is leaf 20's own).
    let hashes = tree_file(data, "hashes");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&hashes)
        .unwrap();
    file.set_len(len(data, "hashes") - 32).unwrap();
    drop(file);

    let (code, report, _) = fsck(data);
    assert_eq!(code, 1, "{report}");
    let findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        findings.contains(&("tree_file_short".into(), "hashes".into())),
        "{findings:?}"
    );
    assert!(
        findings.contains(&("node_missing".into(), "level 0 index 20".into())),
        "{findings:?}"
    );

    // The server will not serve a log whose acknowledged data is missing.
    let refused = Server::try_start(data, &[])
        .err()
        .expect("the server refuses");
    assert!(refused.contains("hashes holds"), "{refused}");
    let (code, _, stderr) = run_rootlog(&["vkey", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "the key is still readable: {stderr}");
}

/// What the fixture's log answered before the move (recorded from the v1
/// server): the statements of one date, one statement, a lookup by hash.
async fn assert_v1_answers(server: &Server) {
    let checkpoint = checkpoint_text(server).await;
    assert!(
        checkpoint
            .starts_with("example.com/v1-log\n303\na86S/+3ycVyWbhkYWx0nR4Z8RHe2rISEgxuWHPq7Osc=\n"),
        "{checkpoint}"
    );
    let day = get_json(server, "/v1/log/2026-10-01").await;
    let roots: Vec<(String, u64)> = day["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["tenant"].as_str().unwrap().to_string(),
                r["index"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roots,
        vec![
            ("tenant-000000".to_string(), 114),
            ("tenant-000001".to_string(), 115),
            ("tenant-000002".to_string(), 116)
        ]
    );
    let none = get_json(server, "/v1/log/2026-08-24").await;
    assert_eq!(none["roots"], serde_json::json!([]));
    let last = get_json(server, "/v1/roots/tenant-000002/2026-12-02").await;
    assert_eq!(last["index"], 302, "{last}");
    let by_hash = get_json(
        server,
        "/v1/proof/inclusion?leaf_hash=grF%2FNASvfaR%2FNgZAsbMyx7a8AaX0u%2FJ9hoGp6cK1a1U%3D",
    )
    .await;
    assert_eq!(by_hash["index"], 115, "{by_hash}");
}

#[tokio::test]
async fn a_v1_directory_moves_its_indexes_and_answers_as_before() {
    let dir = v1_log();
    let data = dir.path();

    // fsck reads only: it names the layout and says what to do.
    let (code, _, stderr) = fsck(data);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("tree-files/v1"), "{stderr}");
    assert!(stderr.contains("rootlog serve"), "{stderr}");

    let mut server = Server::start(data, &[]);
    assert_v1_answers(&server).await;
    server.stop();

    // No v1 row is left; every statement has its date record.
    let (code, report, stderr) = fsck(data);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["checked"]["index_rows"], 300);
    let db = sled::open(data.join("db")).unwrap();
    for prefix in [b"H", b"T"] {
        assert!(
            db.scan_prefix(prefix).next().is_none(),
            "{prefix:?} rows remain"
        );
    }
    assert_eq!(
        db.get(b"Mlayout").unwrap().as_deref(),
        Some(&b"tree-files/v2"[..])
    );
    drop(db);
    released(&data.join("db"));

    // Losing the leaf-hash runs loses nothing: the next start rebuilds them.
    std::fs::remove_dir_all(data.join("db").join("hash-index")).unwrap();
    let server = Server::start(data, &[]);
    assert_v1_answers(&server).await;
}

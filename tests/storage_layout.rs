//! The on-disk layout with the real binaries: an uncommitted tail in the
//! tree files (what a crash between the file sync and the sled batch
//! leaves) is harmless and cut off on start; a tree file shorter than the
//! committed tree is found by fsck and refused by the server; the
//! leaf-hash runs are rebuilt when they are lost; and a directory recording
//! another layout version is refused by the server and by fsck, with the
//! found and the supported version named, and left unchanged.

mod common;

use std::path::Path;
use std::process::Command;

use common::{day, register, released, rootlog_bin, run_rootlog, Server, Tenant};
use serde_json::Value;

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

#[tokio::test]
async fn lost_leaf_hash_runs_are_rebuilt_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    small_log(data).await;
    let mut server = Server::start(data, &[]);
    let before = get_json(&server, "/v1/entries/7").await;
    server.stop();

    std::fs::remove_dir_all(data.join("db").join("hash-index")).unwrap();
    let server = Server::start(data, &[]);
    let leaf_hash = before["leaf_hash"].as_str().unwrap();
    let by_hash = reqwest::Client::new()
        .get(format!("{}/v1/proof/inclusion", server.url))
        .query(&[("leaf_hash", leaf_hash)])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(by_hash["index"], 7, "{by_hash}");
}

/// Every file under `dir` with its bytes, in path order, except sled's
/// `snap.*` files: sled writes a new one of those (where its pages are)
/// whenever it opens a database, whatever the caller does next.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                pending.push(path);
            } else if !name.starts_with("snap.") {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn another_layout_version_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    small_log(data).await;

    // An older version, a newer one, and rows with no version named.
    for layout in ["tree-files/v1", "tree-files/v9", ""] {
        let db = sled::open(data.join("db")).unwrap();
        if layout.is_empty() {
            db.remove(b"Mlayout").unwrap();
        } else {
            db.insert(b"Mlayout", layout.as_bytes()).unwrap();
        }
        db.flush().unwrap();
        drop(db);
        released(&data.join("db"));
        let before = snapshot(data);

        let found = if layout.is_empty() {
            "rows but no storage layout version".to_string()
        } else {
            format!("storage layout \"{layout}\"")
        };
        let refused = Server::try_start(data, &[])
            .err()
            .expect("the server refuses");
        assert!(refused.contains(&found), "{refused}");
        assert!(
            refused.contains("supports only storage layout \"tree-files/v2\""),
            "{refused}"
        );

        let (code, _, stderr) = fsck(data);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(&found), "{stderr}");
        assert!(
            stderr.contains("supports only storage layout \"tree-files/v2\""),
            "{stderr}"
        );

        let after = snapshot(data);
        let changed: Vec<_> = after
            .iter()
            .filter(|f| !before.contains(f))
            .map(|f| &f.0)
            .chain(before.iter().filter(|f| !after.contains(f)).map(|f| &f.0))
            .collect();
        assert!(
            changed.is_empty(),
            "a refused directory is changed: {changed:?}"
        );
    }
}

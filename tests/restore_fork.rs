//! A restore must never fork the log, with real processes: a log restored
//! from a backup older than what its witnesses cosigned and its mirror
//! published refuses to sequence (503 `log_behind`, `/healthz` 503, a
//! metric) instead of signing a second tree; `rootlog restore` continued
//! from the mirror (a directory or a URL) brings back the missing entries
//! and the log goes on with the same tree. Restores appear atomically, the
//! first start refuses bad flags before it creates anything, and published
//! checkpoints keep their cosignatures.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    day, first_start, register, run_rootlog, Server, Tenant, WatchingWitness, ADMIN_TOKEN,
};
use rootlog::merkle::verify_consistency;
use rootlog::note::{Checkpoint, Note, Verifier};
use serde_json::Value;

const ORIGIN: &str = "restore.example/log";

/// POSTs a statement; (status, body).
async fn submit(url: &str, note: &[u8], witnessed: bool) -> (u16, Value) {
    let query = if witnessed { "?wait=witnessed" } else { "" };
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/roots{query}"))
        .header("content-type", "text/plain")
        .body(note.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn str_path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The checkpoint in a mirror directory and the names of the keys that
/// cosigned it with a signature that verifies (among `witnesses`).
fn published(mirror: &Path, witnesses: &[&Verifier]) -> Option<(Checkpoint, Vec<String>)> {
    let bytes = std::fs::read(mirror.join("checkpoint")).ok()?;
    let note = Note::parse(&bytes).ok()?;
    let cp = Checkpoint::parse(&note.text).ok()?;
    let cosigned = witnesses
        .iter()
        .filter(|w| {
            note.signatures
                .iter()
                .any(|s| w.matches(s) && w.verify(note.text.as_bytes(), &s.signature))
        })
        .map(|w| w.name().to_string())
        .collect();
    Some((cp, cosigned))
}

/// Waits until the mirror publishes a checkpoint of `size` cosigned by all of `witnesses`.
async fn wait_published(mirror: &Path, size: u64, witnesses: &[&Verifier]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((cp, cosigned)) = published(mirror, witnesses) {
            if cp.size == size && cosigned.len() == witnesses.len() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the mirror did not publish size {size} with every cosignature"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn restore(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["restore"];
    all.extend_from_slice(args);
    run_rootlog(&all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_restored_behind_its_witnesses_and_mirror_holds_until_the_mirror_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let mirror = dir.path().join("mirror");
    let key = data.join("log.skey");
    // The log's first start makes its key; the witnesses need its vkey.
    let log_vkey = first_start(&data, ORIGIN);
    let w1 = WatchingWitness::start_named(
        &dir.path().join("w1"),
        "w1.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_vkey,
    );
    let w2 = WatchingWitness::start_named(
        &dir.path().join("w2"),
        "w2.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_vkey,
    );
    let witness_flags = [
        "--witness".to_string(),
        format!("{}@{}", w1.vkey, w1.url),
        "--witness".to_string(),
        format!("{}@{}", w2.vkey, w2.url),
        "--witness-quorum".to_string(),
        "2".to_string(),
        "--witness-interval".to_string(),
        "100ms".to_string(),
    ];
    let witnesses: Vec<&str> = witness_flags.iter().map(String::as_str).collect();
    let with_mirror: Vec<&str> = witnesses
        .iter()
        .copied()
        .chain(["--publish-dir", str_path(&mirror)])
        .collect();
    let keys = [&w1.key, &w2.key];

    let mut log = Server::start(&data, &with_mirror);
    let tenant = Tenant::new("acme");
    register(&log, &tenant).await;
    let (status, _) = submit(&log.url, &tenant.statement(&day(0), 0), true).await;
    assert_eq!(status, 201);
    // A backup at size 2 (the registration and one statement).
    let backup = dir.path().join("size2.backup");
    let (code, out, err) = run_rootlog(&[
        "backup",
        "--log",
        &log.url,
        "--to",
        str_path(&backup),
        "--token",
        ADMIN_TOKEN,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 entries"), "{out}");
    // The log goes on to size 3, both witnesses cosign it, the mirror publishes it.
    let (status, body) = submit(&log.url, &tenant.statement(&day(1), 1), true).await;
    assert_eq!((status, body["index"].as_u64()), (201, Some(2)), "{body}");
    w1.wait_cosigned(3).await;
    w2.wait_cosigned(3).await;
    wait_published(&mirror, 3, &keys).await;
    let (_, size3) = get(&format!("{}/checkpoint", log.url)).await;
    let size3 = Checkpoint::parse(&Note::parse(size3.as_bytes()).unwrap().text).unwrap();
    assert_eq!(size3.size, 3);
    log.stop();

    // `rootlog publish` keeps the cosignatures the server stored, and a
    // fresh mirror of a restarting server gets the witnessed checkpoint too.
    let offline = dir.path().join("offline-mirror");
    let mut args = vec![
        "publish",
        "--data",
        str_path(&data),
        "--to",
        str_path(&offline),
    ];
    args.extend_from_slice(&witnesses[..6]);
    let (code, out, err) = run_rootlog(&args);
    assert_eq!(code, 0, "{out}{err}");
    let (cp, cosigned) = published(&offline, &keys).unwrap();
    assert_eq!((cp.size, cosigned.len()), (3, 2));
    let fresh = dir.path().join("fresh-mirror");
    let restarted_flags: Vec<&str> = witnesses
        .iter()
        .copied()
        .chain(["--publish-dir", str_path(&fresh)])
        .collect();
    let mut restarted = Server::start(&data, &restarted_flags);
    wait_published(&fresh, 3, &keys).await;
    restarted.stop();

    // Restored from the older backup and started with the same witnesses:
    // it learns that they hold size 3 and does not sequence.
    let restored = dir.path().join("restored");
    let (code, out, err) = restore(&[
        "--from",
        str_path(&backup),
        "--data",
        str_path(&restored),
        "--key",
        str_path(&key),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let mut behind = Server::start(&restored, &witnesses);
    let (status, body) = submit(&behind.url, &tenant.statement(&day(2), 2), false).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("log_behind")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("size 3"),
        "{body}"
    );
    let (status, health) = get(&format!("{}/healthz", behind.url)).await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "log_behind");
    assert_eq!(health["sequencing"]["seen_size"], 3);
    assert_eq!(health["sequencing"]["tree_size"], 2);
    let (_, metrics) = get(&format!("{}/metrics", behind.url)).await;
    assert!(
        metrics.contains("rootlog_sequencing_held{reason=\"behind\"} 1"),
        "{metrics}"
    );
    // Nothing was signed over the witnesses' size 3.
    assert_eq!(w1.cosigned().await.unwrap(), size3);
    assert_eq!(w2.cosigned().await.unwrap(), size3);
    behind.stop();
    // The mirror alone holds it back too, and is not written over.
    let mut behind = Server::start(&restored, &["--publish-dir", str_path(&mirror)]);
    let (status, body) = submit(&behind.url, &tenant.statement(&day(2), 2), false).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("log_behind")),
        "{body}"
    );
    behind.stop();
    assert_eq!(published(&mirror, &keys).unwrap().0, size3);

    // Recovery: the backup continued from the mirror is the published tree,
    // and the log goes on from it; the witnesses keep cosigning.
    let recovered = dir.path().join("recovered");
    let (code, out, err) = restore(&[
        "--from",
        str_path(&backup),
        "--from-mirror",
        str_path(&mirror),
        "--data",
        str_path(&recovered),
        "--key",
        str_path(&key),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("1 entry and the checkpoint of size 3"),
        "{out}"
    );
    let (code, out, err) = run_rootlog(&["fsck", "--data", str_path(&recovered)]);
    assert_eq!(code, 0, "{out}{err}");
    let mut log = Server::start(&recovered, &with_mirror);
    let (status, body) = submit(&log.url, &tenant.statement(&day(2), 2), true).await;
    assert_eq!((status, body["index"].as_u64()), (201, Some(3)), "{body}");
    w1.wait_cosigned(4).await;
    w2.wait_cosigned(4).await;
    wait_published(&mirror, 4, &keys).await;
    let size4 = w1.cosigned().await.unwrap();
    let proof = log.client().consistency(3, 4).await.unwrap();
    verify_consistency(3, 4, &size3.root, &size4.root, &proof).unwrap();

    // The mirror alone rebuilds the whole log, from a directory or over HTTP.
    for (name, source) in [
        ("from-dir", str_path(&mirror).to_string()),
        ("from-http", log.url.clone()),
    ] {
        let target = dir.path().join(name);
        let (code, out, err) = restore(&[
            "--from-mirror",
            &source,
            "--data",
            str_path(&target),
            "--key",
            str_path(&key),
        ]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.contains("4 entries"), "{name}: {out}");
        let (code, out, err) = run_rootlog(&["fsck", "--data", str_path(&target)]);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }
    log.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_fails_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let mut log = Server::start(&data, &["--origin", ORIGIN]);
    let tenant = Tenant::new("acme");
    register(&log, &tenant).await;
    for n in 0..3 {
        let (status, _) = submit(&log.url, &tenant.statement(&day(n), n), false).await;
        assert_eq!(status, 201);
    }
    let backup = dir.path().join("whole.backup");
    let (code, out, err) = run_rootlog(&[
        "backup",
        "--log",
        &log.url,
        "--to",
        str_path(&backup),
        "--token",
        ADMIN_TOKEN,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    log.stop();
    let key = data.join("log.skey");
    let bytes = std::fs::read(&backup).unwrap();

    let cut = dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut tampered = bytes.clone();
    let at = tampered.len() - 200;
    tampered[at] ^= 1;
    let changed = dir.path().join("changed.backup");
    std::fs::write(&changed, &tampered).unwrap();
    let parent = dir.path().join("restores");
    std::fs::create_dir(&parent).unwrap();
    let target = parent.join("data");
    for (source, says) in [(&cut, "backup truncated"), (&changed, "NOT RESTORED")] {
        let (code, out, err) = restore(&[
            "--from",
            str_path(source),
            "--data",
            str_path(&target),
            "--key",
            str_path(&key),
        ]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.contains(says), "{out}");
        // Neither the directory nor a temporary one is left.
        assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
    }
    // So the retry with the whole backup is not refused.
    let (code, out, err) = restore(&[
        "--from",
        str_path(&backup),
        "--data",
        str_path(&target),
        "--key",
        str_path(&key),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_rootlog(&["fsck", "--data", str_path(&target)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("tree size 4"), "{out}");
}

#[test]
fn the_first_start_refuses_bad_flags_before_it_creates_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let d = str_path(&data);
    for (args, token) in [
        (vec!["--witness-quorum", "2"], None),
        (vec!["--origin", "not an origin"], None),
        (vec!["--listen", taken.as_str()], None),
        (vec![], Some("short")),
    ] {
        let mut command = std::process::Command::new(common::rootlog_bin());
        command.args(["serve", "--data", d, "--admin-listen", "127.0.0.1:0"]);
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command.args(&args).env("ROOTLOG_LOG", "warn");
        match token {
            Some(t) => command.env("ROOTLOG_ADMIN_TOKEN", t),
            None => command.env_remove("ROOTLOG_ADMIN_TOKEN"),
        };
        let out = command.output().unwrap();
        assert!(!out.status.success(), "{args:?} started");
        assert!(
            !data.exists(),
            "{args:?} left {:?} behind",
            std::fs::read_dir(&data).map(|d| d.count())
        );
    }
    // A first start without --origin says the default name is forever.
    let mut child = std::process::Command::new(common::rootlog_bin())
        .args([
            "serve",
            "--data",
            d,
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("ROOTLOG_LOG", "warn")
        .env("ROOTLOG_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("rootlog: listening on"), "{line}");
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no --origin given at first start"), "{err}");
}

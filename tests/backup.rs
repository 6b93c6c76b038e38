//! Backup and restore with real processes: `rootlog backup` from a server
//! that keeps sequencing, `rootlog restore` into a new directory (which
//! re-verifies everything), fsck on the restored copy, and the restored log
//! serving and growing. Tampered or cut-off backups are refused.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{day, register, run_rootlog, Server, Tenant, ADMIN_TOKEN};
use rootlog::client::verify_checkpoint;

const TENANTS: usize = 4;

/// `rootlog backup` of a running server into `file`.
fn take_backup(server: &Server, file: &std::path::Path) -> (i32, String, String) {
    run_rootlog(&[
        "backup",
        "--log",
        &server.url,
        "--to",
        file.to_str().unwrap(),
        "--token",
        ADMIN_TOKEN,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_running_restores_verifies_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &["--batch-wait-ms", "2"]);
    let log_key = server.log_key();
    let tenants: Arc<Vec<Tenant>> = Arc::new(
        (0..TENANTS)
            .map(|i| Tenant::new(&format!("tenant-{i}")))
            .collect(),
    );
    for t in tenants.iter() {
        register(&server, t).await;
    }

    // Clients submit until told to stop; every acknowledgement is recorded.
    let acked: Arc<Mutex<BTreeMap<u64, Vec<u8>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..TENANTS {
        let (client, tenants, acked, stop) = (
            server.client(),
            tenants.clone(),
            acked.clone(),
            stop.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) && n < 1500 {
                let note = tenants[c].statement(&day(n), n);
                let (status, entry) = client.submit(&note).await.unwrap();
                assert_eq!(status, 201);
                acked.lock().unwrap().insert(entry.index, note);
                n += 1;
            }
        }));
    }
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // The backup, taken while the clients keep submitting.
    let before: BTreeMap<u64, Vec<u8>> = acked.lock().unwrap().clone();
    let file = dir.path().join("log.backup");
    let (code, out, err) = take_backup(&server, &file);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("entries"), "{out}");
    let during = acked.lock().unwrap().len();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    assert!(
        acked.lock().unwrap().len() > during || during > before.len(),
        "the log kept sequencing while the backup ran"
    );
    // Without the admin token there is no backup.
    let response = reqwest::get(format!("{}/v1/admin/backup", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The original's consistency proof from the backup's size to its latest
    // checkpoint, to check the restored history against it afterwards.
    let bytes = std::fs::read(&file).unwrap();
    let header_line = bytes.split(|&b| b == b'\n').nth(1).unwrap();
    let header: serde_json::Value = serde_json::from_slice(header_line).unwrap();
    let backed_up = header["tree_size"].as_u64().expect("header names its size");
    let original = server.client().checkpoint().await.unwrap();
    let latest = verify_checkpoint(&log_key, &original).unwrap();
    let proof = server
        .client()
        .consistency(backed_up, latest.size)
        .await
        .unwrap();
    // The original is lost.
    server.kill();

    // Restore into a new directory with the log key from the operator's own copy.
    let key = dir.path().join("log.skey.copy");
    std::fs::copy(data.join("log.skey"), &key).unwrap();
    let restored = dir.path().join("restored");
    let (code, out, err) = run_rootlog(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every checkpoint verified"), "{out}");
    let (code, out, err) = run_rootlog(&["fsck", "--data", restored.to_str().unwrap()]);
    assert_eq!(code, 0, "fsck of the restored log: {out}{err}");

    // The restored log serves what was acknowledged before the backup began,
    // byte for byte at the same indexes, and its checkpoint is one the
    // original signed (consistent with the original's latest).
    let server = Server::start(&restored, &[]);
    let client = server.client();
    let cp = verify_checkpoint(&log_key, &client.checkpoint().await.unwrap()).unwrap();
    assert_eq!(cp.size, backed_up);
    assert!(cp.size > *before.keys().last().unwrap());
    rootlog::merkle::verify_consistency(cp.size, latest.size, &cp.root, &latest.root, &proof)
        .expect("the restored tree is a prefix of the original's");
    for (index, note) in before.iter() {
        let entry = client.entry(*index).await.unwrap();
        assert_eq!(entry.statement.as_bytes(), note.as_slice(), "entry {index}");
    }
    // It continues: tenants and their keys came back with the entries.
    let (status, entry) = client
        .submit(&tenants[0].statement(&day(2400), 2400))
        .await
        .unwrap();
    assert_eq!((status, entry.index), (201, cp.size));
    entry.verify(&log_key, None).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_cut_off_backups_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    for n in 0..20 {
        server
            .client()
            .submit(&tenant.statement(&day(n), n))
            .await
            .unwrap();
    }
    let file = dir.path().join("b");
    let (code, out, err) = take_backup(&server, &file);
    assert_eq!(code, 0, "{out}{err}");
    let good = std::fs::read(&file).unwrap();
    let key = data.join("log.skey");
    let restore = |name: &str, bytes: &[u8], key: &std::path::Path| {
        let path = dir.path().join(format!("{name}.backup"));
        std::fs::write(&path, bytes).unwrap();
        run_rootlog(&[
            "restore",
            "--from",
            path.to_str().unwrap(),
            "--data",
            dir.path().join(name).to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
    };
    // A statement's record count changed: the checkpoints no longer match.
    let at = good.windows(10).position(|w| w == b"records 6\n").unwrap() + 8;
    let mut changed = good.clone();
    changed[at] = b'7';
    let (code, out, _) = restore("changed", &changed, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("signs a root the leaves before it do not hash to"),
        "{out}"
    );
    // Cut off before its end.
    let (code, out, _) = restore("cut", &good[..good.len() - 20], &key);
    assert_eq!(code, 1, "{out}");
    // Another log's key: refused before anything is written.
    let stranger = dir.path().join("stranger.skey");
    let other = rootlog::note::Signer::generate("localhost/rootlog").unwrap();
    std::fs::write(&stranger, other.skey()).unwrap();
    let (code, out, _) = restore("stranger", &good, &stranger);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not of the key given"), "{out}");
    // Not a backup at all.
    let (code, _, err) = restore("junk", b"hello\n", &key);
    assert_eq!(code, 2, "{err}");
    // The good one restores.
    let (code, out, err) = restore("good", &good, &key);
    assert_eq!(code, 0, "{out}{err}");
}

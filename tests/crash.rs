//! Crash safety: clients submit while the server is killed with SIGKILL at a
//! random moment; after each restart every acknowledged entry is at its
//! acknowledged index with identical bytes, every checkpoint handed out is
//! consistent with the tree, and no (tenant, date) was appended twice.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{day, register, Server, Tenant};
use rootlog::client::verify_checkpoint;
use rootlog::merkle::verify_consistency;
use rootlog::note::Checkpoint;
use rootlog::statement::parse_submission;

const CYCLES: u64 = 6;
const CLIENTS: usize = 8;

#[derive(Default, Clone)]
struct Seen {
    /// index -> acknowledged note bytes
    acknowledged: BTreeMap<u64, Vec<u8>>,
    /// every checkpoint handed out with an acknowledgement
    checkpoints: Vec<Checkpoint>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let log_key = server.log_key();
    let tenants: Arc<Vec<Tenant>> =
        Arc::new((0..4).map(|i| Tenant::new(&format!("crash-{i}"))).collect());
    for t in tenants.iter() {
        register(&server, t).await;
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let next = Arc::new(AtomicU64::new(0));

    for cycle in 0..CYCLES {
        let client = server.client();
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (client, tenants, seen, next, log_key) = (
                client.clone(),
                tenants.clone(),
                seen.clone(),
                next.clone(),
                log_key.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let note = tenants[(n % 4) as usize].statement(&day(n / 4), n);
                    match client.submit(&note).await {
                        Ok((_, entry)) => {
                            let checkpoint = entry
                                .verify(&log_key, Some(&note))
                                .expect("acknowledged answers verify");
                            let mut seen = seen.lock().unwrap();
                            seen.acknowledged.insert(entry.index, note);
                            seen.checkpoints.push(checkpoint);
                        }
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        // Kill at a pseudo-random moment between 50 and 450 ms.
        let delay = 50 + (cycle * 7919 + 131) % 400;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
        server = Server::start(dir.path(), &[]);
        // A snapshot, so no lock is held across the await.
        let snapshot = seen.lock().unwrap().clone();
        check(&server, &log_key, &snapshot).await;
    }
    let seen = seen.lock().unwrap();
    eprintln!(
        "{CYCLES} kills: {} acknowledged entries, {} checkpoints handed out, all intact",
        seen.acknowledged.len(),
        seen.checkpoints.len()
    );
    assert!(
        seen.acknowledged.len() > 50,
        "too few submissions were acknowledged to mean anything"
    );
}

async fn check(server: &Server, log_key: &rootlog::note::Verifier, seen: &Seen) {
    let client = server.client();
    let current = verify_checkpoint(log_key, &client.checkpoint().await.unwrap()).unwrap();
    for (index, note) in &seen.acknowledged {
        assert!(
            *index < current.size,
            "acknowledged index {index} is beyond the restarted tree {}",
            current.size
        );
        let entry = client
            .get_json(&format!("/v1/entries/{index}"))
            .await
            .unwrap();
        assert_eq!(
            entry["statement"].as_str().unwrap().as_bytes(),
            note.as_slice(),
            "entry {index} changed"
        );
    }
    for cp in &seen.checkpoints {
        if cp.size == current.size {
            assert_eq!(cp.root, current.root);
        } else {
            let proof = client.consistency(cp.size, current.size).await.unwrap();
            verify_consistency(cp.size, current.size, &cp.root, &current.root, &proof)
                .expect("a handed-out checkpoint is consistent with the tree after restart");
        }
    }
    let mut days = HashSet::new();
    for index in 0..current.size {
        let entry = client
            .get_json(&format!("/v1/entries/{index}"))
            .await
            .unwrap();
        let (_, statement) =
            parse_submission(entry["statement"].as_str().unwrap().as_bytes()).unwrap();
        assert!(
            days.insert((statement.tenant, statement.date)),
            "entry {index} repeats a (tenant, date)"
        );
    }
}

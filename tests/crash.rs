//! Crash safety: clients submit while the server is killed with SIGKILL at a
//! random moment; after each restart every acknowledged entry is at its
//! acknowledged index with identical bytes, every checkpoint handed out (in
//! an answer, by the static mirror killed mid-publish, or cosigned by the
//! witness the log pushes to) is consistent with the tree, fsck passes on
//! what each kill left, and no (tenant, date) was appended twice.

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

/// Kill cycles: `ROOTLOG_CRASH_CYCLES` (scripts/crash-test sets it), else a short run.
fn cycles() -> u64 {
    std::env::var("ROOTLOG_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(6)
}

/// A small deterministic generator for kill moments; the seed is printed so a
/// failing run can be repeated with `ROOTLOG_CRASH_SEED`.
struct Moments(u64);

impl Moments {
    fn new() -> Self {
        let seed = std::env::var("ROOTLOG_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("crash seed {seed} (set ROOTLOG_CRASH_SEED to repeat)");
        Moments(seed | 1)
    }

    /// Milliseconds in [from, to).
    fn next(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}
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
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    // The log's key and origin first, for the witness it pushes to.
    drop(Server::start(&data, &[]));
    let log_key = rootlog::identity::read_signer(&data).unwrap().verifier();
    let witness = common::WatchingWitness::start_pushed(
        &dir.path().join("witness"),
        log_key.name(),
        &log_key.vkey(),
    );
    let witness_flag = format!("{}@{}", witness.vkey, witness.url);
    let args = [
        "--publish-dir",
        site.to_str().unwrap(),
        "--witness",
        &witness_flag,
        "--witness-interval",
        "100ms",
    ];
    let mut server = Server::start(&data, &args);
    let tenants: Arc<Vec<Tenant>> =
        Arc::new((0..4).map(|i| Tenant::new(&format!("crash-{i}"))).collect());
    for t in tenants.iter() {
        register(&server, t).await;
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let next = Arc::new(AtomicU64::new(0));

    let mut moments = Moments::new();
    let mut witnessed = 0u64;
    for _ in 0..cycles() {
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
        tokio::time::sleep(Duration::from_millis(moments.next(50, 450))).await;
        server.kill();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
        // While it is down: fsck passes on what the kill left, and the mirror
        // (killed mid-publish, perhaps) has every tile its checkpoint needs.
        let fsck = std::process::Command::new(common::rootlog_bin())
            .args(["fsck", "--json", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            fsck.status.success(),
            "fsck after a kill: {}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        let mut handed_out = Vec::new();
        if site.join("checkpoint").exists() {
            let (published, _) = common::tiles::verify_dir(&site, &log_key);
            handed_out.push(published);
        }
        if let Some(cosigned) = witness.cosigned().await {
            handed_out.push(cosigned);
            witnessed += 1;
        }
        server = Server::start(&data, &args);
        // A copy: no lock is held across the awaits of the check.
        let snapshot = {
            let mut seen = seen.lock().unwrap();
            seen.checkpoints.extend(handed_out);
            seen.clone()
        };
        check(&server, &log_key, &snapshot).await;
    }
    let seen = seen.lock().unwrap();
    eprintln!(
        "{} kills: {} acknowledged entries, {} checkpoints handed out (the log's answers, its mirror, {witnessed} cosigned by the witness), fsck clean after every kill, all intact",
        cycles(),
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
    // The served checkpoint is the newest witnessed one: wait for the witness
    // to cosign the restarted log's whole tree.
    // A restarted log first asks its witness for its size (503 `starting`
    // meanwhile): wait until it sequences again.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let tree_size = loop {
        match client.get_json("/healthz").await {
            Ok(health) => break health["tree_size"].as_u64().unwrap(),
            Err(e) => assert!(
                std::time::Instant::now() < deadline,
                "the restarted log is not healthy: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let current = loop {
        let served = verify_checkpoint(log_key, &client.checkpoint().await.unwrap()).unwrap();
        if served.size == tree_size {
            break served;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the witness did not cosign the restarted tree of {tree_size} (served: {})",
            served.size
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Every entry, read in bundles of 256 through the tlog-tiles endpoints.
    let tiles = rootlog::tiles::TileClient::new(&server.url).unwrap();
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(current.size as usize);
    for bundle in 0..current.size.div_ceil(256) {
        let width = (current.size - bundle * 256).min(256) as u16;
        entries.extend(tiles.entries(bundle, width).await.unwrap());
    }
    assert_eq!(entries.len() as u64, current.size);

    // Recompute the tree: it must give the checkpoint's root, and every
    // checkpoint ever handed out must be the root of a prefix of it.
    let handed_out: BTreeMap<u64, rootlog::merkle::Hash> =
        seen.checkpoints.iter().map(|c| (c.size, c.root)).collect();
    for cp in &seen.checkpoints {
        assert_eq!(
            handed_out[&cp.size], cp.root,
            "two roots were handed out for size {}",
            cp.size
        );
    }
    let mut tree = rootlog::merkle::Frontier::new();
    if let Some(root) = handed_out.get(&0) {
        assert_eq!(*root, tree.root());
    }
    let mut days = HashSet::new();
    for (index, entry) in entries.iter().enumerate() {
        tree.append(rootlog::merkle::leaf_hash(entry), |_, _| {});
        if let Some(root) = handed_out.get(&tree.size()) {
            assert_eq!(
                *root,
                tree.root(),
                "the checkpoint handed out for size {} is not a prefix of the tree",
                tree.size()
            );
        }
        if rootlog::tenant_key::is_key_change_entry(entry) {
            continue; // a registration
        }
        let (_, statement) = parse_submission(entry).unwrap();
        assert!(
            days.insert((statement.tenant, statement.date)),
            "entry {index} repeats a (tenant, date)"
        );
    }
    assert_eq!(
        tree.root(),
        current.root,
        "the entries do not hash to the checkpoint"
    );
    assert!(
        handed_out.keys().all(|&s| s <= current.size),
        "a handed-out checkpoint is beyond the restarted tree of {}: {:?}",
        current.size,
        handed_out.keys().rev().take(3).collect::<Vec<_>>()
    );

    // Every acknowledged entry is at its acknowledged index with identical bytes.
    for (index, note) in &seen.acknowledged {
        assert_eq!(
            entries.get(*index as usize),
            Some(note),
            "acknowledged entry {index} is missing or changed"
        );
    }

    // And the log's own consistency proofs agree, for a sample of sizes.
    for (&size, root) in handed_out
        .iter()
        .filter(|(&s, _)| s > 0 && s < current.size)
        .step_by(97)
        .take(20)
    {
        let proof = client.consistency(size, current.size).await.unwrap();
        verify_consistency(size, current.size, root, &current.root, &proof)
            .expect("consistency proof from the log verifies");
    }
}

//! End to end against the real server: register tenants, submit 1,000
//! statements from concurrent clients, check every answer's proof against the
//! checkpoint in the same answer, check consistency between every pair of
//! checkpoints seen, then restart and check nothing moved.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{day, register, Server, Tenant};
use rootlog::client::verify_checkpoint;
use rootlog::merkle::verify_consistency;
use rootlog::note::{decode_hash_b64, Checkpoint};

const TENANTS: usize = 10;
const STATEMENTS: usize = 1000;
const CLIENTS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submit_prove_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A short batch wait groups the concurrent clients' submissions, so there
    // are a few hundred checkpoints rather than one per entry.
    let mut server = Server::start(
        dir.path(),
        &["--origin", "test.example/flow", "--batch-wait-ms", "50"],
    );
    let log_key = server.log_key();
    let client = server.client();

    // A new log has signed the empty tree.
    let empty = verify_checkpoint(&log_key, &client.checkpoint().await.unwrap()).unwrap();
    assert_eq!(
        (empty.origin.as_str(), empty.size, empty.root),
        ("test.example/flow", 0, rootlog::merkle::EMPTY_ROOT)
    );

    let tenants: Arc<Vec<Tenant>> = Arc::new(
        (0..TENANTS)
            .map(|i| Tenant::new(&format!("tenant-{i}")))
            .collect(),
    );
    for t in tenants.iter() {
        register(&server, t).await;
    }

    // Concurrent submissions: statement n is tenant n % 10, day n / 10.
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = client.clone();
        let tenants = tenants.clone();
        let log_key = log_key.clone();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in (c..STATEMENTS).step_by(CLIENTS) {
                let note = tenants[n % TENANTS].statement(&day((n / TENANTS) as u64), n as u64);
                let (status, entry) = client.submit(&note).await.unwrap();
                assert_eq!(status, 201, "statement {n}");
                let checkpoint = entry
                    .verify(&log_key, Some(&note))
                    .unwrap_or_else(|e| panic!("statement {n}: {e}"));
                answers.push((n, note, entry, checkpoint));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.extend(t.await.unwrap());
    }
    assert_eq!(answers.len(), STATEMENTS);

    // Each registration is an entry (its tenant-key/v1 note) at 0..10; the
    // statements take exactly 10..1010, each index given once.
    let first = TENANTS as u64;
    let mut indexes: Vec<u64> = answers.iter().map(|a| a.2.index).collect();
    indexes.sort();
    assert_eq!(
        indexes,
        (first..first + STATEMENTS as u64).collect::<Vec<_>>()
    );
    for i in 0..first {
        let entry = client.entry(i).await.unwrap();
        assert!(entry.statement.starts_with("tenant-key/v1\n"), "entry {i}");
    }

    // Every checkpoint handed out, by size; the same size always has the same root.
    let mut checkpoints: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    checkpoints.insert(0, empty);
    for (_, _, _, cp) in &answers {
        if let Some(seen) = checkpoints.insert(cp.size, cp.clone()) {
            assert_eq!(seen.root, cp.root, "two roots for size {}", cp.size);
        }
    }
    let latest = verify_checkpoint(&log_key, &client.checkpoint().await.unwrap()).unwrap();
    assert_eq!(latest.size, first + STATEMENTS as u64);
    checkpoints.insert(latest.size, latest.clone());

    // Consistency between every pair of non-empty checkpoints seen.
    let sized: Vec<Checkpoint> = checkpoints
        .values()
        .filter(|c| c.size > 0)
        .cloned()
        .collect();
    let mut pairs = Vec::new();
    for i in 0..sized.len() {
        for j in i..sized.len() {
            pairs.push((sized[i].clone(), sized[j].clone()));
        }
    }
    let pair_count = pairs.len();
    let pairs = Arc::new(pairs);
    let mut checks = Vec::new();
    for w in 0..16 {
        let client = client.clone();
        let pairs = pairs.clone();
        checks.push(tokio::spawn(async move {
            for (old, new) in pairs.iter().skip(w).step_by(16) {
                let proof = client.consistency(old.size, new.size).await.unwrap();
                verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
                    .unwrap_or_else(|e| panic!("{} -> {}: {e}", old.size, new.size));
            }
        }));
    }
    for c in checks {
        c.await.unwrap();
    }
    eprintln!(
        "checked {} checkpoints, {pair_count} consistency pairs",
        sized.len()
    );

    // Retries are idempotent; a different statement for a taken (tenant, date) is refused.
    let (n, note, entry, _) = &answers[123];
    let (status, again) = client.submit(note).await.unwrap();
    assert_eq!((status, again.index), (200, entry.index));
    let conflicting = tenants[n % TENANTS].statement(&day((n / TENANTS) as u64), 999_999);
    match client.submit(&conflicting).await {
        Err(rootlog::client::ClientError::Api {
            status: 409,
            code,
            body,
            ..
        }) => {
            assert_eq!(code, "conflict");
            assert_eq!(body["existing"]["index"], entry.index);
            assert_eq!(
                body["existing"]["statement"].as_str().unwrap().as_bytes(),
                note.as_slice()
            );
        }
        other => panic!("expected 409, got {other:?}"),
    }

    // Reads: by tenant and date, by index, by date, inclusion by leaf hash.
    let tenant = &tenants[n % TENANTS];
    let date = day((n / TENANTS) as u64);
    let by_name = client.root(&tenant.id, &date).await.unwrap();
    assert_eq!(by_name.index, entry.index);
    by_name.verify(&log_key, Some(note)).unwrap();
    let by_index = client
        .get_json(&format!("/v1/entries/{}", entry.index))
        .await
        .unwrap();
    assert_eq!(
        by_index["statement"].as_str().unwrap().as_bytes(),
        note.as_slice()
    );
    let on_date = client.get_json(&format!("/v1/log/{date}")).await.unwrap();
    assert_eq!(on_date["roots"].as_array().unwrap().len(), TENANTS);
    // Inclusion by leaf hash at an older checkpoint's size.
    let older = checkpoints
        .values()
        .find(|c| c.size > first + STATEMENTS as u64 / 2)
        .unwrap();
    let early = answers.iter().find(|a| a.2.index < older.size).unwrap();
    let leaf = urlencode(&early.2.leaf_hash);
    let inclusion = client
        .get_json(&format!(
            "/v1/proof/inclusion?leaf_hash={leaf}&size={}",
            older.size
        ))
        .await
        .unwrap();
    assert_eq!(inclusion["index"], early.2.index);
    let hashes = rootlog::client::decode_proof(
        &serde_json::from_value::<Vec<String>>(inclusion["inclusion_proof"].clone()).unwrap(),
    )
    .unwrap();
    rootlog::merkle::verify_inclusion(
        early.2.index,
        older.size,
        &decode_hash_b64(&early.2.leaf_hash).unwrap(),
        &hashes,
        &older.root,
    )
    .unwrap();

    // Restart: everything is where it was.
    server.stop();
    let server = Server::start(dir.path(), &[]);
    let client = server.client();
    let after = verify_checkpoint(&log_key, &client.checkpoint().await.unwrap()).unwrap();
    assert_eq!((after.size, after.root), (latest.size, latest.root));
    for (n, note, entry, _) in answers.iter().step_by(7) {
        let stored = client
            .root(&tenants[n % TENANTS].id, &day((n / TENANTS) as u64))
            .await
            .unwrap();
        assert_eq!(stored.index, entry.index);
        assert_eq!(
            stored.statement.as_deref().map(str::as_bytes),
            Some(note.as_slice())
        );
        stored.verify(&log_key, Some(note)).unwrap();
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

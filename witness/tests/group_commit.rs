//! Group commit over HTTP: many origins pushing at once share flushes, every
//! 200 still carries a valid cosignature, and what was acknowledged is there
//! after a SIGKILL.

mod common;

use common::*;
use rootlog_tlog::note::{open, Checkpoint, Note, Verifier};

const ORIGINS: usize = 16;
const STEPS: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_origins_share_flushes_and_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let logs: Vec<TestLog> = (0..ORIGINS)
        .map(|k| {
            let mut log = TestLog::new(&format!("example.com/group-{k}"));
            log.grow_to(STEPS * 3);
            log
        })
        .collect();
    let mut args = vec!["--name".to_string(), "witness.example/group".into()];
    for log in &logs {
        args.extend(["--log".to_string(), log.flag()]);
    }
    let w = WitnessProcess::start(&data, &args);
    let (ok, vkey, err) = run_cli(&["vkey", "--data", data.to_str().unwrap()]);
    assert!(ok, "{err}");
    let verifier = Verifier::cosignature_from_vkey(vkey.trim()).unwrap();

    // Each origin grows by 3 leaves per step, its requests in sequence;
    // the origins run side by side.
    let logs = std::sync::Arc::new(logs);
    let mut tasks = Vec::new();
    for k in 0..ORIGINS {
        let (logs, base, verifier) = (logs.clone(), w.url.clone(), verifier.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            let log = &logs[k];
            let mut old = 0;
            for step in 1..=STEPS {
                let size = step * 3;
                let proof = if old == 0 {
                    Vec::new()
                } else {
                    log.proof(old, size)
                };
                let note = log.checkpoint(size);
                let a = post(&c, &base, body(old, &proof, &note)).await;
                assert_eq!(a.status, 200, "{} size {size}: {a:?}", log.origin);
                let joined = format!("{}\n{}", note.text, a.body);
                let parsed = Note::parse(joined.as_bytes()).unwrap();
                assert_eq!(
                    open(&parsed, std::slice::from_ref(&verifier))
                        .unwrap()
                        .len(),
                    1
                );
                old = size;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let m = get(&client(), &format!("{}/metrics", w.url)).await.body;
    let counter = |name: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{m}"))
    };
    let cosigned = counter("rootlog_witness_cosignatures_total");
    let flushes = counter("rootlog_witness_database_flushes_total");
    assert_eq!(cosigned, ORIGINS as u64 * STEPS);
    assert_eq!(counter("rootlog_witness_database_flush_errors_total"), 0);
    // Sixteen requests in flight at once cannot each have had a flush of
    // their own: some shared one.
    assert!(
        flushes >= 1 && flushes < cosigned,
        "{flushes} flushes for {cosigned} cosignatures"
    );

    // Every acknowledged state is on disk: kill without warning, restart,
    // and each origin's cosigned checkpoint is its last one.
    w.kill();
    let w = WitnessProcess::start(&data, &args);
    let c = client();
    for log in logs.iter() {
        let a = get(&c, &checkpoint_url(&w.url, &log.origin)).await;
        assert_eq!(a.status, 200, "{a:?}");
        let note = Note::parse(a.body.as_bytes()).unwrap();
        let cp = Checkpoint::parse(&note.text).unwrap();
        assert_eq!((cp.size, cp.root), (STEPS * 3, log.root(STEPS * 3)));
    }
}

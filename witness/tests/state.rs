//! The witness's state over HTTP: racing requests with the same old size
//! (compare-and-swap: exactly one wins), and a restart on the same data
//! directory (state and key survive; the name is fixed).

mod common;

use common::*;
use rootlog_tlog::note::{open, Note, Verifier};

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_racing_requests_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("example.com/race");
    let w = WitnessProcess::start(
        &dir.path().join("data"),
        &[
            "--name".into(),
            "race-witness".into(),
            "--log".into(),
            log.flag(),
        ],
    );
    let c = client();
    log.grow_to(100);
    assert_eq!(
        post(&c, &w.url, body(0, &[], &log.checkpoint(10)))
            .await
            .status,
        200
    );
    for round in 0..3u64 {
        let old = if round == 0 { 10 } else { log.size() };
        let start = old;
        log.grow_to(start + 40);
        // 16 different valid checkpoints, all extending `old`.
        let bodies: Vec<String> = (1..=16u64)
            .map(|k| {
                let size = start + 2 * k + round;
                body(old, &log.proof(old, size), &log.checkpoint(size))
            })
            .collect();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|b| {
                let c = c.clone();
                let url = w.url.clone();
                tokio::spawn(async move { post(&c, &url, b).await })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        let served = Note::parse(
            get(&c, &checkpoint_url(&w.url, &log.origin))
                .await
                .body
                .as_bytes(),
        )
        .unwrap();
        let stored_size: u64 = served.text.lines().nth(1).unwrap().parse().unwrap();
        for a in answers.iter().filter(|a| a.status != 200) {
            assert_eq!(a.status, 409, "round {round}: {a:?}");
            assert_eq!(a.content_type, "text/x.tlog.size");
            assert_eq!(a.body, format!("{stored_size}\n"));
        }
        // Leave the log's tree exactly at the stored size for the next round.
        let mut next = TestLog::with_signer(
            &log.origin,
            rootlog_tlog::note::Signer::from_skey(&log.signer.skey()).unwrap(),
            0,
        );
        next.grow_to(stored_size);
        log = next;
    }
    // No race was mistaken for misbehaviour.
    let ev = get(&c, &format!("{}/evidence", w.url)).await;
    assert_eq!(ev.body.trim(), "[]");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_state_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/durable");
    let args = vec![
        "--name".to_string(),
        "durable-witness".into(),
        "--log".into(),
        log.flag(),
    ];
    let w = WitnessProcess::start(&data, &args);
    let c = client();
    log.grow_to(42);
    let cp = log.checkpoint(42);
    let a = post(&c, &w.url, body(0, &[], &cp)).await;
    assert_eq!(a.status, 200, "{a:?}");
    let before = get(&c, &checkpoint_url(&w.url, &log.origin)).await.body;
    let (_, vkey, _) = run_cli(&["vkey", "--data", data.to_str().unwrap()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("witness.skey"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    w.kill();

    // Restart without --name: the recorded key and state are used.
    let w = WitnessProcess::start(&data, &["--log".into(), log.flag()]);
    let a = post(&c, &w.url, body(0, &[], &cp)).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (409, "text/x.tlog.size", "42\n")
    );
    let after = get(&c, &checkpoint_url(&w.url, &log.origin)).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, before);
    let served = Note::parse(after.body.as_bytes()).unwrap();
    open(
        &served,
        &[Verifier::cosignature_from_vkey(vkey.trim()).unwrap()],
    )
    .unwrap();
    let (_, vkey2, _) = run_cli(&["vkey", "--data", data.to_str().unwrap()]);
    assert_eq!(vkey, vkey2);
    // Growth continues from the persisted state with the same key.
    log.grow_to(50);
    let a = post(
        &c,
        &w.url,
        body(42, &log.proof(42, 50), &log.checkpoint(50)),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with("\u{2014} durable-witness "));
    w.kill();

    // Another name on the same data directory is refused with a clear message.
    let err = WitnessProcess::try_start(
        &data,
        &["--name".into(), "other".into(), "--log".into(), log.flag()],
    )
    .err()
    .expect("a different --name must be refused");
    assert!(
        err.contains("durable-witness") && err.contains("refusing"),
        "{err}"
    );
    // The same name is fine.
    let w = WitnessProcess::start(&data, &args);
    let a = post(&c, &w.url, body(0, &[], &cp)).await;
    assert_eq!(a.body, "50\n");
}

#[test]
fn first_start_needs_a_name_and_vkey_needs_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let err = WitnessProcess::try_start(&data, &[])
        .err()
        .expect("no --name on first start");
    assert!(err.contains("--name"), "{err}");
    let (ok, _, err) = run_cli(&["vkey", "--data", data.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("witness.skey"), "{err}");
}

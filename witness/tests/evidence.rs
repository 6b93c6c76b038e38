//! A lying log: checkpoints signed by the trusted log key that cannot be
//! consistent with what the witness cosigned are refused, never cosigned,
//! and kept as evidence that anyone can check with only the log's vkey. And
//! only those: what an unauthenticated client adds (a consistency proof)
//! never turns a refusal into evidence.

mod common;

use common::*;
use rootlog_tlog::note::Signer;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn forked_checkpoints_become_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut honest = TestLog::new("example.com/liar");
    let w = WitnessProcess::start(
        &data,
        &[
            "--name".into(),
            "watchful".into(),
            "--log".into(),
            honest.flag(),
        ],
    );
    let c = client();
    honest.grow_to(16);
    assert_eq!(
        post(&c, &w.url, body(0, &[], &honest.checkpoint(16)))
            .await
            .status,
        200
    );
    let cosigned_before = get(&c, &checkpoint_url(&w.url, &honest.origin)).await.body;

    // The same key signs a different history.
    let mut fork = TestLog::with_signer(
        &honest.origin,
        Signer::from_skey(&honest.signer.skey()).unwrap(),
        7,
    );
    fork.grow_to(40);
    // Same size, different root: 422 (no size body), evidence.
    let a = post(&c, &w.url, body(16, &[], &fork.checkpoint(16))).await;
    assert_eq!(a.status, 422, "{a:?}");
    assert_ne!(a.content_type, "text/x.tlog.size");
    // Larger size with the fork's own proof: refused, but the proof came
    // from a client, so it proves nothing about the log: no evidence.
    let a = post(
        &c,
        &w.url,
        body(16, &fork.proof(16, 40), &fork.checkpoint(40)),
    )
    .await;
    assert_eq!(a.status, 422, "{a:?}");
    // Replaying the same fork adds no new record.
    assert_eq!(
        post(&c, &w.url, body(16, &[], &fork.checkpoint(16)))
            .await
            .status,
        422
    );
    // With a stale old the answer is 409 (the spec checks old first), and
    // it is the same conflict: still one record.
    let a = post(&c, &w.url, body(3, &[], &fork.checkpoint(16))).await;
    assert_eq!((a.status, a.body.as_str()), (409, "16\n"));

    // Never cosigned: the witness still serves the honest checkpoint.
    assert_eq!(
        get(&c, &checkpoint_url(&w.url, &honest.origin)).await.body,
        cosigned_before
    );

    let listed = get(&c, &format!("{}/evidence", w.url)).await;
    assert_eq!(listed.status, 200);
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    let records = listed.as_array().unwrap();
    assert_eq!(records.len(), 1, "{listed:#}");
    let reasons: Vec<String> = records
        .iter()
        .map(|r| check_evidence(r, &honest.vkey()))
        .collect();
    assert_eq!(reasons, ["same_size_different_root"]);
    assert!(records[0].get("prefix_root").is_none(), "{listed:#}");
    for r in records {
        // The stored side is exactly what the witness cosigned.
        assert_eq!(r["stored_checkpoint"].as_str().unwrap(), cosigned_before);
    }

    // The CLI prints the same records, even while the server runs.
    let (ok, out, err) = run_cli(&["evidence", "--data", data.to_str().unwrap()]);
    assert!(ok, "{err}");
    let from_cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(from_cli, listed);

    let m = get(&c, &format!("{}/metrics", w.url)).await.body;
    assert!(m.contains("rootlog_witness_evidence_total 1"), "{m}");
    assert!(w.stderr().contains("LOG MISBEHAVIOUR"));

    // Evidence survives a restart, and the count with it.
    w.kill();
    let w = WitnessProcess::start(&data, &["--log".into(), honest.flag()]);
    let m = get(&c, &format!("{}/metrics", w.url)).await.body;
    assert!(m.contains("rootlog_witness_evidence_total 1"), "{m}");
    let again: Value =
        serde_json::from_str(&get(&c, &format!("{}/evidence", w.url)).await.body).unwrap();
    assert_eq!(again, listed);

    // After a re-cosign (new stored bytes, same checkpoint), the same fork is
    // still the same conflict: no new record.
    assert_eq!(
        post(&c, &w.url, body(16, &[], &honest.checkpoint(16)))
            .await
            .status,
        200
    );
    assert_eq!(
        post(&c, &w.url, body(16, &[], &fork.checkpoint(16)))
            .await
            .status,
        422
    );
    let m = get(&c, &format!("{}/metrics", w.url)).await.body;
    assert!(m.contains("rootlog_witness_evidence_total 1"), "{m}");

    // Honest growth is still cosigned.
    honest.grow_to(40);
    let a = post(
        &c,
        &w.url,
        body(16, &honest.proof(16, 40), &honest.checkpoint(40)),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_from_others_are_not_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/fine");
    let w = WitnessProcess::start(
        &data,
        &["--name".into(), "w".into(), "--log".into(), log.flag()],
    );
    let c = client();
    log.grow_to(9);
    assert_eq!(
        post(&c, &w.url, body(0, &[], &log.checkpoint(9)))
            .await
            .status,
        200
    );
    // Not signed by the log: 403, no evidence even though it is a "fork".
    let stranger = TestLog::new("example.com/fine");
    assert_eq!(
        post(&c, &w.url, body(9, &[], &stranger.checkpoint(0)))
            .await
            .status,
        403
    );
    // Stale old: 409, nothing to prove.
    assert_eq!(
        post(&c, &w.url, body(3, &[], &log.checkpoint(9)))
            .await
            .status,
        409
    );
    let ev = get(&c, &format!("{}/evidence", w.url)).await;
    assert_eq!(ev.body.trim(), "[]");
}

/// Anyone can POST a genuine, log-signed checkpoint that extends the
/// cosigned one together with random hashes as its proof. That proves
/// nothing about the log: a plain 422 (counted, logged as a warning), no
/// evidence file, no evidence count, no "LOG MISBEHAVIOUR"; and the same
/// checkpoint with the right proof is cosigned.
#[tokio::test(flavor = "multi_thread")]
async fn a_random_proof_is_refused_without_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/honest");
    let w = WitnessProcess::start(
        &data,
        &["--name".into(), "w".into(), "--log".into(), log.flag()],
    );
    let c = client();
    log.grow_to(16);
    assert_eq!(
        post(&c, &w.url, body(0, &[], &log.checkpoint(16)))
            .await
            .status,
        200
    );
    log.grow_to(40);
    let right = log.proof(16, 40);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let random: Vec<[u8; 32]> = (0..right.len())
        .map(|_| {
            let mut h = [0u8; 32];
            for b in &mut h {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            h
        })
        .collect();
    for proof in [random.as_slice(), &right[1..], &[]] {
        let a = post(&c, &w.url, body(16, proof, &log.checkpoint(40))).await;
        assert_eq!(a.status, 422, "{a:?}");
    }

    let evidence_files = std::fs::read_dir(data.join("evidence")).unwrap().count();
    assert_eq!(evidence_files, 0);
    assert_eq!(
        get(&c, &format!("{}/evidence", w.url)).await.body.trim(),
        "[]"
    );
    let m = get(&c, &format!("{}/metrics", w.url)).await.body;
    assert!(m.contains("rootlog_witness_evidence_total 0"), "{m}");
    assert!(
        m.contains("rootlog_witness_add_checkpoint_requests_total{code=\"422\"} 3"),
        "{m}"
    );
    let log_text = w.stderr();
    assert!(!log_text.contains("LOG MISBEHAVIOUR"), "{log_text}");
    assert!(!log_text.contains("ERROR"), "{log_text}");
    assert!(
        log_text.contains("WARN") && log_text.contains("status=422"),
        "{log_text}"
    );

    let a = post(&c, &w.url, body(16, &right, &log.checkpoint(40))).await;
    assert_eq!(a.status, 200, "{a:?}");
}

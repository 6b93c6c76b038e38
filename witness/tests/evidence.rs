//! A lying log: checkpoints signed by the trusted log key that cannot be
//! consistent with what the witness cosigned are refused, never cosigned,
//! and kept as evidence that anyone can check with only the log's vkey.

mod common;

use common::*;
use rootlog::merkle::verify_consistency;
use rootlog::note::{decode_hash_b64, open, Checkpoint, Note, Signer, Verifier};
use serde_json::Value;

/// What a third party does with an evidence record and the log's vkey alone.
/// Returns the reason it proves.
fn check_evidence(record: &Value, log_vkey: &str) -> String {
    let log_key = Verifier::from_vkey(log_vkey).unwrap();
    let parse = |field: &str| {
        let note = Note::parse(record[field].as_str().unwrap().as_bytes()).unwrap();
        open(&note, std::slice::from_ref(&log_key)).expect("the log signed it");
        Checkpoint::parse(&note.text).unwrap()
    };
    let stored = parse("stored_checkpoint");
    let conflicting = parse("conflicting_checkpoint");
    assert_eq!(stored.origin, conflicting.origin);
    assert_eq!(record["origin"].as_str().unwrap(), stored.origin);
    let reason = record["reason"].as_str().unwrap().to_string();
    match reason.as_str() {
        "same_size_different_root" => {
            assert_eq!(stored.size, conflicting.size);
            assert_ne!(stored.root, conflicting.root);
        }
        "consistency_proof_failed" => {
            assert_eq!(record["old"].as_u64().unwrap(), stored.size);
            let proof: Vec<_> = record["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| decode_hash_b64(h.as_str().unwrap()).unwrap())
                .collect();
            assert!(verify_consistency(
                stored.size,
                conflicting.size,
                &stored.root,
                &conflicting.root,
                &proof
            )
            .is_err());
        }
        other => panic!("unknown reason {other}"),
    }
    assert!(record["observed_at"].as_str().unwrap().ends_with('Z'));
    reason
}

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
    // Larger size whose proof (from the forked tree) cannot verify: 422, evidence.
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
    // it is the same conflict: still no new record.
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
    assert_eq!(records.len(), 2, "{listed:#}");
    let mut reasons: Vec<String> = records
        .iter()
        .map(|r| check_evidence(r, &honest.vkey()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["consistency_proof_failed", "same_size_different_root"]
    );
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
    assert!(m.contains("rootlog_witness_evidence_total 2"), "{m}");
    assert!(w.stderr().contains("LOG MISBEHAVIOUR"));

    // Evidence survives a restart, and the count with it.
    w.kill();
    let w = WitnessProcess::start(&data, &["--log".into(), honest.flag()]);
    let m = get(&c, &format!("{}/metrics", w.url)).await.body;
    assert!(m.contains("rootlog_witness_evidence_total 2"), "{m}");
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
    assert!(m.contains("rootlog_witness_evidence_total 2"), "{m}");

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

//! `POST /add-checkpoint` over HTTP against the real binary: every status
//! code of tlog-witness v1.0.0 (and the current draft's 422 for a same-size,
//! different-root checkpoint), the cosignature's interop with 0x01 and 0x04
//! witness vkeys, the monitoring endpoint, health and metrics.

mod common;

use common::*;
use rootlog_tlog::note::{open, Checkpoint, Note, Signer, Verifier};

/// Appends a 200 body to the checkpoint and opens it with `verifier`: the
/// way the spec suggests clients parse cosignatures. Returns the timestamp.
fn verify_cosignature(note: &Note, response: &str, verifier: &Verifier) -> u64 {
    let joined = format!("{}\n{}", note.text, response);
    let parsed = Note::parse(joined.as_bytes()).expect("note + cosignature parses");
    let verified = open(&parsed, std::slice::from_ref(verifier)).expect("cosignature verifies");
    assert_eq!(verified.len(), 1);
    verifier
        .cosignature_timestamp(&parsed.signatures[verified[0]])
        .expect("timestamped")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_status_code_and_interop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/log-a");
    let mut fresh = TestLog::new("example.com/log-b");
    let w = WitnessProcess::start(
        &data,
        &[
            "--name".into(),
            "witness.example/w1".into(),
            "--log".into(),
            log.flag(),
            "--log".into(),
            fresh.flag(),
        ],
    );
    let c = client();
    let base = &w.url;

    // The published key: the 0x01 vkey; its 0x04 form verifies too.
    let (ok, vkey, err) = run_cli(&["vkey", "--data", data.to_str().unwrap()]);
    assert!(ok, "{err}");
    let vkey = vkey.trim().to_string();
    assert!(vkey.starts_with("witness.example/w1+"));
    let v01 = Verifier::from_vkey(&vkey).unwrap();
    assert_eq!(v01.kind(), rootlog_tlog::note::KeyKind::Ed25519);
    let cosig_from_01 = Verifier::cosignature_from_vkey(&vkey).unwrap();
    let vkey04 = cosig_from_01.vkey();
    assert_ne!(vkey04, vkey);
    let cosig_from_04 = Verifier::cosignature_from_vkey(&vkey04).unwrap();

    // 200: the first checkpoint with old 0.
    log.grow_to(20);
    let cp10 = log.checkpoint(10);
    let a = post(&c, base, body(0, &[], &cp10)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.content_type, "text/plain; charset=utf-8");
    assert!(a.body.starts_with("\u{2014} witness.example/w1 ") && a.body.ends_with('\n'));
    assert_eq!(a.body.lines().count(), 1);
    let t1 = verify_cosignature(&cp10, &a.body, &cosig_from_01);
    verify_cosignature(&cp10, &a.body, &cosig_from_04);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(t1 <= now && t1 + 60 > now, "timestamp {t1} is now");
    // A 0x01 verifier does not accept a cosignature (different key ID).
    let joined = format!("{}\n{}", cp10.text, a.body);
    assert!(open(&Note::parse(joined.as_bytes()).unwrap(), &[v01]).is_err());

    // 200: growth with a valid proof.
    let cp20 = log.checkpoint(20);
    let a = post(&c, base, body(10, &log.proof(10, 20), &cp20)).await;
    assert_eq!(a.status, 200, "{a:?}");
    verify_cosignature(&cp20, &a.body, &cosig_from_01);

    // The monitoring endpoint serves it: log signature plus cosignature.
    let a = get(&c, &checkpoint_url(base, &log.origin)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "text/plain; charset=utf-8");
    let served = Note::parse(a.body.as_bytes()).unwrap();
    assert_eq!(served.text, cp20.text);
    assert_eq!(served.signatures.len(), 2);
    open(&served, &[log.signer.verifier()]).unwrap();
    open(&served, std::slice::from_ref(&cosig_from_01)).unwrap();
    assert_eq!(
        get(&c, &checkpoint_url(base, &fresh.origin)).await.status,
        404
    );
    assert_eq!(get(&c, &checkpoint_url(base, "nobody")).await.status, 404);

    // 404: unknown origin.
    let stranger = TestLog::new("example.com/unknown");
    let a = post(&c, base, body(0, &[], &stranger.checkpoint(0))).await;
    assert_eq!(a.status, 404, "{a:?}");

    // 403: unsigned by a trusted key, signed by an unknown key, corrupted trusted signature.
    log.grow_to(30);
    let proof = log.proof(20, 30);
    let mut unsigned = log.checkpoint(30);
    let other = Signer::generate(&log.origin).unwrap();
    unsigned.signatures = vec![other.sign(unsigned.text.as_bytes())];
    assert_eq!(
        post(&c, base, body(20, &proof, &unsigned)).await.status,
        403
    );
    let mut corrupt = log.checkpoint(30);
    corrupt.signatures[0].signature[10] ^= 0x40;
    assert_eq!(post(&c, base, body(20, &proof, &corrupt)).await.status, 403);
    let mut both = log.checkpoint(30);
    both.signatures.push(corrupt.signatures[0].clone());
    assert_eq!(post(&c, base, body(20, &proof, &both)).await.status, 403);

    // 400: old larger than the checkpoint; malformed bodies.
    let cp30 = log.checkpoint(30);
    assert_eq!(post(&c, base, body(31, &[], &cp30)).await.status, 400);
    for bad in [
        String::new(),
        "old 20\n".into(),
        body(20, &proof, &cp30).replacen("old 20", "old 020", 1),
        body(20, &proof, &cp30).replacen("\n\n", "\n", 1),
        format!("old 20\nnot-base64\n\n{}", cp30.to_text()),
        format!("old 20\n\n{}", cp30.text),
    ] {
        let a = post(&c, base, bad.clone()).await;
        assert_eq!(a.status, 400, "{bad:?} → {a:?}");
    }
    let a = post(&c, base, vec![0xffu8, 0xfe, 0x00]).await;
    assert_eq!(a.status, 400);

    // 409: stale old, with the stored size as text/x.tlog.size.
    for old in [0, 10, 25] {
        let a = post(&c, base, body(old, &[], &cp30)).await;
        assert_eq!(a.status, 409, "{a:?}");
        assert_eq!(a.content_type, "text/x.tlog.size");
        assert_eq!(a.body, "20\n");
    }
    // A never-seen log has stored size 0.
    fresh.grow_to(5);
    let a = post(&c, base, body(3, &[], &fresh.checkpoint(5))).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (409, "text/x.tlog.size", "0\n")
    );

    // 422: bad proof.
    let mut bad_proof = proof.clone();
    bad_proof[0][0] ^= 1;
    assert_eq!(
        post(&c, base, body(20, &bad_proof, &cp30)).await.status,
        422
    );
    assert_eq!(
        post(&c, base, body(20, &proof[1..], &cp30)).await.status,
        422
    );
    // 422: old 0 with a proof.
    let a = post(&c, base, body(0, &fresh.proof(3, 5), &fresh.checkpoint(5))).await;
    assert_eq!(a.status, 422, "{a:?}");
    // 422: size 0 with a root other than the empty tree's.
    let mut bogus = Note::new(Checkpoint::new(&fresh.origin, 0, [7; 32]).to_text());
    bogus
        .signatures
        .push(fresh.signer.sign(bogus.text.as_bytes()));
    assert_eq!(post(&c, base, body(0, &[], &bogus)).await.status, 422);

    // 422: same size, different root, with a log-signed fork (the current
    // draft; v1.0.0 said 409): a plain refusal, no size body.
    let mut forked = TestLog::with_signer(
        &log.origin,
        Signer::from_skey(&log.signer.skey()).unwrap(),
        1,
    );
    forked.grow_to(20);
    let a = post(&c, base, body(20, &[], &forked.checkpoint(20))).await;
    assert_eq!(a.status, 422, "{a:?}");
    assert_eq!(a.content_type, "text/plain; charset=utf-8");
    assert!(a.body.contains("different root"), "{a:?}");

    // 413: a body over 16 KiB (refused before parsing).
    let big = format!("{}{}", body(20, &proof, &cp30), "x".repeat(16 * 1024));
    assert_eq!(post(&c, base, big).await.status, 413);

    // Still at 20 after all the refusals; growth to 30 works.
    let a = post(&c, base, body(20, &proof, &cp30)).await;
    assert_eq!(a.status, 200, "{a:?}");

    // 200: the same checkpoint again is re-cosigned with a fresh timestamp.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let a = post(&c, base, body(30, &[], &cp30)).await;
    assert_eq!(a.status, 200, "{a:?}");
    let t2 = verify_cosignature(&cp30, &a.body, &cosig_from_01);
    assert!(t2 > t1);
    // The first checkpoint of the fresh log, from old 0.
    assert_eq!(
        post(&c, base, body(0, &[], &fresh.checkpoint(5)))
            .await
            .status,
        200
    );

    // Health and metrics.
    let h = get(&c, &format!("{base}/healthz")).await;
    assert_eq!(h.status, 200);
    let h: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["vkey"], vkey.as_str());
    let m = get(&c, &format!("{base}/metrics")).await.body;
    for line in [
        "rootlog_witness_add_checkpoint_requests_total{code=\"200\"} 5",
        "rootlog_witness_add_checkpoint_requests_total{code=\"403\"} 3",
        "rootlog_witness_add_checkpoint_requests_total{code=\"404\"} 1",
        "rootlog_witness_add_checkpoint_requests_total{code=\"413\"} 1",
        "rootlog_witness_cosignatures_total 5",
        // One request at a time: each cosignature had its own flush.
        "rootlog_witness_database_flushes_total 5",
        "rootlog_witness_database_flush_errors_total 0",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
    // Every refusal was logged with its status.
    let log_text = w.stderr();
    assert!(log_text.contains("refused checkpoint"), "{log_text}");
    assert!(log_text.contains("status=413"));
}

#[tokio::test(flavor = "multi_thread")]
async fn body_of_16_kib_is_accepted_one_byte_more_is_413() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TestLog::new("example.com/log");
    let w = WitnessProcess::start(
        &dir.path().join("data"),
        &["--name".into(), "w".into(), "--log".into(), log.flag()],
    );
    log.grow_to(3);
    // Pad with a log-signed extension line to exactly 16384 bytes.
    let signed_with = |ext: &str| {
        let mut cp = Checkpoint::new(&log.origin, 3, log.root(3));
        cp.extensions.push(ext.to_string());
        let mut note = Note::new(cp.to_text());
        note.signatures.push(log.signer.sign(note.text.as_bytes()));
        body(0, &[], &note)
    };
    let len1 = signed_with("x").len();
    let b = signed_with(&"x".repeat(16 * 1024 - len1 + 1));
    assert_eq!(b.len(), 16 * 1024);
    let over = signed_with(&"x".repeat(16 * 1024 - len1 + 2));
    assert_eq!(post(&client(), &w.url, over).await.status, 413);
    let a = post(&client(), &w.url, b).await;
    assert_eq!(a.status, 200, "{a:?}");
}

//! When a root was logged, and one verdict from every verifier, with real
//! processes: a statement for a day long past is refused by default (`400
//! stale_date`); accepted with the limit off, `audit`, `verify` (proof file
//! and receipt) and `verify-export` all call it late (exit 1) and accept it
//! with `--max-delay none` (exit 0, still saying late); a timely statement's
//! `logged by` comes from the witness's cosignature; `audit` and
//! `verify-export` agree on a revoked key; an unreachable log is exit 3; a
//! receipt verifies with nothing listening, and so does a whole export from
//! its receipts.

mod common;

use std::path::Path;

use common::{first_start, register, run_rootlog, Server, Tenant, WatchingWitness, ADMIN_TOKEN};
use rootlog::merkle::{leaf_hash, Frontier};
use rootlog::statement::{format_date, ChainHead};
use serde_json::{json, Value};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

async fn post(url: &str, note: &[u8]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/roots"))
        .header("content-type", "text/plain")
        .body(note.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A one-day export of `records` chained records for `date`, and the
/// statement that commits to it.
fn export(tenant: &Tenant, date: time::Date, records: u64) -> (Value, Vec<u8>) {
    let mut tree = Frontier::new();
    let mut prev = "0".repeat(64);
    let mut list = Vec::new();
    let mut last = [0u8; 32];
    for seq in 1..=records {
        let hash = leaf_hash(format!("record {seq} of {}", format_date(date)).as_bytes());
        tree.append(leaf_hash(&hash), |_, _| {});
        list.push(json!({
            "seq": seq,
            "sha256": hex::encode(hash),
            "prev_hash": prev,
            "captured_at": format!("{}T12:00:{:02}Z", format_date(date), seq % 60),
        }));
        prev = hex::encode(hash);
        last = hash;
    }
    let manifest = json!({
        "schema_version": "1.0",
        "tenant_id": tenant.id,
        "range": { "from": format_date(date), "to": format_date(date) },
        "records": list,
        "chain_proof": { "head_seq": records, "head_hash": hex::encode(last) },
    });
    let text = tenant.statement_text(
        &format_date(date),
        records,
        tree.root(),
        Some(ChainHead {
            seq: records,
            hash: last,
        }),
    );
    (manifest, common::sign_text(&tenant.signer, &text))
}

fn verdict(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not a verdict ({e}): {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn late_roots_are_refused_or_reported_late_by_every_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = Tenant::new("acme");
    let old_day = today() - time::Duration::days(400);
    let (manifest, statement) = export(&tenant, old_day, 3);

    // The default age limit refuses a day 400 days back; nothing is appended.
    let mut strict = Server::start(&dir.path().join("strict"), &["--max-statement-age", "7d"]);
    register(&strict, &tenant).await;
    let (status, body) = post(&strict.url, &statement).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("stale_date")),
        "{body}"
    );
    let (status, _) = post(&strict.url, &tenant.statement(&format_date(today()), 1)).await;
    assert_eq!(status, 201, "today's statement is accepted");
    strict.stop();

    // With the limit off (an archive publishing its history) it is logged...
    let data = dir.path().join("lenient");
    let mut log = Server::start(&data, &["--max-statement-age", "none"]);
    register(&log, &tenant).await;
    let (status, body) = post(&log.url, &statement).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["logged_by_attested"], "log_claim", "{body}");
    let log_key = log.log_key().vkey();
    let url = log.url.clone();
    let date = format_date(old_day);
    let tenant_key = tenant.signer.vkey();

    // ...and every verifier calls it late, by the same rule.
    let audit = |extra: &[&str]| {
        let state = dir.path().join(format!("audit-{}.state", extra.len()));
        let mut args = vec![
            "audit",
            "--log",
            &url,
            "--log-key",
            &log_key,
            "--tenant",
            "acme",
            "--date",
            &date,
            "--state",
            p(&state),
        ];
        args.extend_from_slice(extra);
        run_rootlog(&args)
    };
    let (code, out, err) = audit(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("NOT VERIFIED (late)"), "{out}");
    assert!(out.contains("logged by"), "{out}");
    let (code, out, err) = audit(&["--max-delay", "none"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("late (accepted)"), "{out}");
    let (code, out, _) = audit(&["--json"]);
    assert_eq!(code, 1);
    let report = verdict(&out);
    assert_eq!(report["verdict"], "not_verified");
    assert_eq!(report["statements"][0]["logged"]["late"], true);

    // verify: from the proof file, and from a receipt.
    let proof = dir.path().join("proof");
    let st = dir.path().join("statement");
    std::fs::write(&st, &statement).unwrap();
    let text = reqwest::get(format!("{}/v1/roots/acme/{date}/proof", log.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(&proof, text).unwrap();
    let receipt = dir.path().join("old.receipt");
    let (code, out, err) = run_rootlog(&[
        "receipt",
        "--log",
        &log.url,
        "--tenant",
        "acme",
        "--date",
        &date,
        "--log-key",
        &log_key,
        "--out",
        p(&receipt),
        "--max-delay",
        "none",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    for (args, what) in [
        (
            vec![
                "--statement",
                p(&st),
                "--proof",
                p(&proof),
                "--tenant-key",
                &tenant_key,
            ],
            "proof file",
        ),
        (vec!["--receipt", p(&receipt)], "receipt"),
    ] {
        let mut all = vec!["verify", "--log-key", &log_key];
        all.extend_from_slice(&args);
        let (code, out, err) = run_rootlog(&all);
        assert_eq!(code, 1, "{what}: {out}{err}");
        assert!(out.contains("NOT VERIFIED (late)"), "{what}: {out}");
        all.extend_from_slice(&["--max-delay", "none"]);
        let (code, out, err) = run_rootlog(&all);
        assert_eq!(code, 0, "{what}: {out}{err}");
        assert!(out.contains("late (accepted)"), "{what}: {out}");
    }

    // verify-export, online and from receipts.
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let receipts = dir.path().join("receipts");
    std::fs::create_dir(&receipts).unwrap();
    std::fs::copy(&receipt, receipts.join(format!("{date}.receipt"))).unwrap();
    for offline in [false, true] {
        let state = dir.path().join(format!("export-{offline}.state"));
        let mut all = vec![
            "verify-export",
            p(&manifest_path),
            "--log",
            &log.url,
            "--log-key",
            &log_key,
            "--state",
            p(&state),
        ];
        if offline {
            all.extend_from_slice(&["--receipts", p(&receipts)]);
        }
        let (code, out, err) = run_rootlog(&all);
        assert_eq!(code, 1, "offline {offline}: {out}{err}");
        assert!(
            out.contains("NOT VERIFIED (late)"),
            "offline {offline}: {out}"
        );
        all.extend_from_slice(&["--max-delay", "none"]);
        let (code, out, err) = run_rootlog(&all);
        assert_eq!(code, 0, "offline {offline}: {out}{err}");
    }

    // Nothing listening: the receipt still verifies; the online commands
    // cannot check (exit 3).
    log.stop();
    let (code, out, err) = run_rootlog(&[
        "verify",
        "--receipt",
        p(&receipt),
        "--log-key",
        &log_key,
        "--max-delay",
        "none",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = audit(&["--max-delay", "none"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("COULD NOT CHECK"), "{out}");
    let (code, out, err) = run_rootlog(&[
        "verify-export",
        p(&manifest_path),
        "--log",
        &log.url,
        "--log-key",
        &log_key,
        "--receipts",
        p(&receipts),
        "--max-delay",
        "none",
        "--state",
        p(&dir.path().join("x.state")),
    ]);
    assert_eq!(code, 0, "offline, with the log down: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timely_root_is_bounded_by_the_witness_and_a_revoked_key_fails_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let origin = "timely.example/log";
    let log_key = first_start(&data, origin);
    let witness = WatchingWitness::start_named(
        &dir.path().join("w"),
        "w.example",
        "127.0.0.1:0",
        origin,
        &log_key,
    );
    let log = Server::start(
        &data,
        &[
            "--witness",
            &format!("{}@{}", witness.vkey, witness.url),
            "--witness-interval",
            "100ms",
        ],
    );
    let tenant = Tenant::new("acme");
    register(&log, &tenant).await;
    let day = today();
    let date = format_date(day);
    let (manifest, statement) = export(&tenant, day, 4);
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/roots?wait=witnessed", log.url))
        .body(statement.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let entry: Value = resp.json().await.unwrap();
    assert_eq!(entry["logged_by_attested"], "witnesses", "{entry}");

    // The auditor trusts the witness: its cosignature time bounds it.
    let state = dir.path().join("a.state");
    let (code, out, err) = run_rootlog(&[
        "audit",
        "--log",
        &log.url,
        "--log-key",
        &log_key,
        "--witness",
        &witness.vkey,
        "--tenant",
        "acme",
        "--date",
        &date,
        "--state",
        p(&state),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let report = verdict(&out);
    let logged = &report["statements"][0]["logged"];
    assert_eq!(logged["attested"], "witnesses", "{report}");
    assert_eq!(logged["late"], false, "{report}");
    let at = time::OffsetDateTime::parse(
        logged["logged_by"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert!((before - 2..=before + 30).contains(&at), "{at} vs {before}");

    // The key is revoked (effective now, so from today's date on): the
    // statement no longer counts, for audit and verify-export alike.
    let (code, out, err) = run_rootlog(&[
        "tenant",
        "revoke-key",
        "--log",
        &log.url,
        "--id",
        "acme",
        "--vkey",
        &tenant.signer.vkey(),
        "--token",
        ADMIN_TOKEN,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // Auditors read the key history as of the witnessed checkpoint: wait
    // until one covers the revocation (entry 2).
    witness.wait_cosigned(3).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while log.client().checkpoint().await.unwrap().lines().nth(1) != Some("3") {
        assert!(std::time::Instant::now() < deadline, "not witnessed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (code, out, err) = run_rootlog(&[
        "audit",
        "--log",
        &log.url,
        "--log-key",
        &log_key,
        "--witness",
        &witness.vkey,
        "--tenant",
        "acme",
        "--date",
        &date,
        "--state",
        p(&state),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("was revoked with effect from"), "{out}");
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let (code, out, err) = run_rootlog(&[
        "verify-export",
        p(&manifest_path),
        "--log",
        &log.url,
        "--log-key",
        &log_key,
        "--witness",
        &witness.vkey,
        "--state",
        p(&dir.path().join("e.state")),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("was revoked with effect from"), "{out}");
    assert!(!out.contains("tenant signatures not checked"), "{out}");
}

//! Locators in a static mirror (`locator/<tenant>/<YYYY-MM>`, `locator/<tenant>/keys`),
//! served by a stock nginx: an audit of one tenant's day reads the locator
//! and only the bundles it needs (nginx's access log says which), takes
//! `logged_by` from the earliest witnessed checkpoint the locator names
//! (not from the mirror's latest checkpoint), and a locator that omits a
//! day, names another tenant's entry, or carries a wrong checkpoint changes
//! no verdict: the day is found by scanning, the checkpoint is not used.
//! `rootlog publish` writes the locators of a mirror that had none.
//!
//! nginx: without it these tests print a notice and skip, except under CI.

mod common;

use std::path::Path;
use std::time::Duration;

use common::nginx::Nginx;
use common::tiles::Grower;
use common::{
    register, rootlog_bin, run_rootlog, sign_text, wait_published, Server, Tenant, WatchingWitness,
};
use rootlog::locator::MonthLocator;
use rootlog::merkle::leaf_hash;
use rootlog::note::{Checkpoint, Note, Signer};
use serde_json::Value;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `rootlog audit` of one day, with a fresh state file each time.
fn audit(
    log: &str,
    log_key: &str,
    state: &Path,
    tenant: &str,
    date: &str,
    extra: &[&str],
) -> (i32, String) {
    let mut args = vec![
        "audit",
        "--log",
        log,
        "--log-key",
        log_key,
        "--state",
        p(state),
        "--tenant",
        tenant,
        "--date",
        date,
        // The dates are long past; lateness is tested in tests/timeliness.rs.
        "--max-delay",
        "none",
    ];
    args.extend_from_slice(extra);
    let _ = std::fs::remove_file(state);
    let (code, out, err) = run_rootlog(&args);
    (code, format!("{out}{err}"))
}

fn verdict(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not a verdict ({e}): {out}"))
}

fn read_locator(site: &Path, tenant: &str, month: &str) -> MonthLocator {
    let bytes = std::fs::read(site.join("locator").join(tenant).join(month)).unwrap();
    MonthLocator::parse(&bytes, tenant, month).unwrap()
}

fn write_locator(site: &Path, locator: &MonthLocator) {
    let path = site
        .join("locator")
        .join(&locator.tenant)
        .join(&locator.month);
    std::fs::write(path, locator.to_json()).unwrap();
}

/// The entry bundles nginx was asked for since `skip` requests.
fn bundles_read(nginx: &Nginx, skip: usize) -> Vec<String> {
    nginx
        .requests()
        .into_iter()
        .skip(skip)
        .filter(|r| r.starts_with("/tile/entries/"))
        .collect()
}

/// The size of the checkpoint a verdict's statement was proven into.
fn statement_checkpoint_size(report: &Value) -> u64 {
    let checks = report["statements"][0]["checks"].as_array().unwrap();
    let detail = checks
        .iter()
        .find(|c| c["check"] == "checkpoint")
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_else(|| panic!("no checkpoint check: {report}"));
    let size = detail
        .strip_prefix("the log's checkpoint of size ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{detail}"));
    size.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_audit_reads_one_locator_not_every_bundle_and_a_lying_locator_changes_no_verdict()
{
    if !Nginx::available(
        "a_mirror_audit_reads_one_locator_not_every_bundle_and_a_lying_locator_changes_no_verdict",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    let mut server = Server::start(&data, &["--publish-dir", p(&site)]);
    let vkey = server.log_key().vkey();
    // 700 entries of another tenant first: acme's entries are in bundle 2.
    let grower = Grower::new(&server, 2000).await;
    grower.grow_to(&server, 700, 8).await;
    let acme = Tenant::new("acme");
    register(&server, &acme).await;
    let dates = ["2026-11-20", "2026-11-21", "2026-11-22"];
    for (i, date) in dates.iter().enumerate() {
        let root = leaf_hash(format!("acme day {i}").as_bytes());
        let note = sign_text(&acme.signer, &acme.statement_text(date, 10, root, None));
        assert_eq!(server.client().submit(&note).await.unwrap().0, 201);
    }
    let beta = Tenant::new("beta");
    register(&server, &beta).await;
    assert_eq!(
        server
            .client()
            .submit(&beta.statement("2026-11-21", 1))
            .await
            .unwrap()
            .0,
        201
    );
    wait_published(&site, 706);
    let api_entry = server.client().root("acme", "2026-11-21").await.unwrap();
    assert_eq!(api_entry.index, 702);

    // The publisher wrote acme's November: its days, each with the earliest
    // checkpoint covering it (one batch per submission here: index + 1).
    let november = read_locator(&site, "acme", "2026-11");
    let listed: Vec<(&str, u64)> = november
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.index))
        .collect();
    assert_eq!(
        listed,
        [
            ("2026-11-20", 701),
            ("2026-11-21", 702),
            ("2026-11-22", 703)
        ]
    );
    for day in &november.days {
        let note = Note::parse(day.checkpoint.as_bytes()).unwrap();
        assert_eq!(Checkpoint::parse(&note.text).unwrap().size, day.index + 1);
    }
    assert_eq!(
        november.days[1].checkpoint, api_entry.checkpoint,
        "the API names the same one"
    );
    let keys = std::fs::read_to_string(site.join("locator/acme/keys")).unwrap();
    let keys: Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys["key_changes"], serde_json::json!([700]), "{keys}");

    // A mirror that had no locators gets them all from `rootlog publish`.
    server.stop();
    std::fs::remove_dir_all(site.join("locator")).unwrap();
    let out = std::process::Command::new(rootlog_bin())
        .args(["publish", "--data", p(&data), "--to", p(&site)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_locator(&site, "acme", "2026-11").days, november.days);

    let nginx = Nginx::start(&site);
    let state = dir.path().join("audit.state");

    // One day: the locator finds it, and only bundle 2 (acme's key change and
    // statement) is read, not bundles 0 and 1.
    let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("entry 702 (found by the locator)"), "{out}");
    assert!(out.contains("named by the locator and verified"), "{out}");
    assert!(
        out.contains("key-change entry of tenant acme (found by the locator: 700)"),
        "{out}"
    );
    let bundles = bundles_read(&nginx, 0);
    assert!(
        !bundles.is_empty() && bundles.iter().all(|b| b.starts_with("/tile/entries/002")),
        "{bundles:?}"
    );
    assert!(
        nginx
            .requests()
            .iter()
            .any(|r| r == "/locator/acme/2026-11 200"),
        "{:?}",
        nginx.requests()
    );

    // logged_by is that of the earliest checkpoint (size 703), which the
    // API names too, not the latest (706).
    let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &["--json"]);
    assert_eq!(code, 0, "{out}");
    let report = verdict(&out);
    assert_eq!(report["checkpoint"]["size"], 706, "{report}");
    assert_eq!(statement_checkpoint_size(&report), 703, "{report}");
    assert_eq!(
        report["statements"][0]["logged"]["logged_by"].as_str(),
        api_entry.logged_by.as_deref(),
        "{report}"
    );

    // A locator that omits a day: auto falls back to the scan; so does --lookup scan.
    let mut omitting = november.clone();
    omitting.days.retain(|d| d.date != "2026-11-22");
    write_locator(&site, &omitting);
    let before = nginx.requests().len();
    let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-22", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("entry 703 (found by scanning the entry bundles)"),
        "{out}"
    );
    let bundles = bundles_read(&nginx, before);
    assert!(
        bundles.iter().any(|b| b.starts_with("/tile/entries/000")),
        "{bundles:?}"
    );
    let (code, out) = audit(
        &nginx.url,
        &vkey,
        &state,
        "acme",
        "2026-11-22",
        &["--lookup", "scan"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("entry 703 (found by scanning the entry bundles)"),
        "{out}"
    );

    // A locator that names another tenant's entry (beta's, 705), or one
    // beyond the tree: the right entry is found by scanning.
    for wrong in [705, 9999] {
        let mut lying = november.clone();
        lying.days[1].index = wrong;
        write_locator(&site, &lying);
        let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &[]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("entry 702 (found by scanning the entry bundles"),
            "{out}"
        );
        if wrong == 705 {
            assert!(out.contains("the locator named entry 705, which is not tenant acme's statement for 2026-11-21; ignored"), "{out}");
        }
    }

    // A wrong checkpoint: another key's, or a real one that does not cover
    // the entry (day 20's, size 702). It is not used; the latest bounds the time.
    let stranger = Signer::generate(vkey.split('+').next().unwrap()).unwrap();
    let forged = String::from_utf8(sign_text(
        &stranger,
        &Checkpoint::new(stranger.name(), 703, leaf_hash(b"forged")).to_text(),
    ))
    .unwrap();
    for (checkpoint, why) in [
        (forged, "the checkpoint is not signed by the log key"),
        (
            november.days[0].checkpoint.clone(),
            "does not cover entry 702",
        ),
    ] {
        let mut lying = november.clone();
        lying.days[1].checkpoint = checkpoint;
        write_locator(&site, &lying);
        let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &["--json"]);
        assert_eq!(code, 0, "{out}");
        let report = verdict(&out);
        assert_eq!(statement_checkpoint_size(&report), 706, "{report}");
        assert!(
            out.contains("named as the earliest was not used") && out.contains(why),
            "{out}"
        );
    }

    // A locator that is not one at all is no hint.
    std::fs::write(site.join("locator/acme/2026-11"), b"<html>not found</html>").unwrap();
    let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("found by scanning the entry bundles"), "{out}");

    // A key-change locator that lists nothing is not believed over the bundles.
    write_locator(&site, &november);
    std::fs::write(
        site.join("locator/acme/keys"),
        serde_json::to_vec(&serde_json::json!({
            "locator": "rootlog-locator-keys/v1", "tenant": "acme", "tree_size": 706, "key_changes": []
        }))
        .unwrap(),
    )
    .unwrap();
    let (code, out) = audit(&nginx.url, &vkey, &state, "acme", "2026-11-21", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("(found by scanning the entry bundles: 700)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_audit_takes_logged_by_from_the_witnessed_checkpoint_its_locator_names() {
    if !Nginx::available(
        "a_mirror_audit_takes_logged_by_from_the_witnessed_checkpoint_its_locator_names",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let site = dir.path().join("site");
    let origin = "locators.example/log";
    let mut first = Server::start(&data, &["--origin", origin]);
    let log_key = first.log_key();
    first.stop();
    let witness = WatchingWitness::start_named(
        &dir.path().join("w"),
        "w.example",
        "127.0.0.1:0",
        origin,
        &log_key.vkey(),
    );
    let server = Server::start(
        &data,
        &[
            "--witness",
            &format!("{}@{}", witness.vkey, witness.url),
            "--witness-interval",
            "100ms",
            "--publish-dir",
            p(&site),
        ],
    );
    let acme = Tenant::new("acme");
    register(&server, &acme).await;
    let (status, entry) = server
        .client()
        .submit_waiting(&acme.statement("2026-11-21", 1), true)
        .await
        .unwrap();
    assert_eq!(status, 201);
    assert_eq!(entry.logged_by_attested.as_deref(), Some("witnesses"));
    let acme_bound = entry.logged_by.clone().unwrap();
    // Later, in another second, more entries and a later witnessed checkpoint.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let beta = Tenant::new("beta");
    register(&server, &beta).await;
    let (status, last) = server
        .client()
        .submit_waiting(&beta.statement("2026-11-21", 2), true)
        .await
        .unwrap();
    assert_eq!(status, 201);
    wait_published(&site, last.index + 1);
    let mirror_note = std::fs::read_to_string(site.join("checkpoint")).unwrap();
    let latest_bound = rootlog::timebound::logged_by(
        &Note::parse(mirror_note.as_bytes()).unwrap(),
        std::slice::from_ref(&witness.key),
        1,
        &log_key,
    )
    .unwrap()
    .rfc3339();
    assert_ne!(
        latest_bound, acme_bound,
        "the two checkpoints were cosigned seconds apart"
    );

    let nginx = Nginx::start(&site);
    let state = dir.path().join("a.state");
    let (code, out) = audit(
        &nginx.url,
        &log_key.vkey(),
        &state,
        "acme",
        "2026-11-21",
        &["--witness", &witness.vkey, "--quorum", "1", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let report = verdict(&out);
    let logged = &report["statements"][0]["logged"];
    assert_eq!(logged["attested"], "witnesses", "{report}");
    assert_eq!(
        logged["logged_by"].as_str(),
        Some(acme_bound.as_str()),
        "{report}"
    );
    assert!(out.contains("found by the locator"), "{out}");
}

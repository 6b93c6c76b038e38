//! The auditor's page in a real browser (headless Chromium through
//! ChromeDriver), against a real log, witness, static mirror and nginx:
//! the page served by the log shows a timely day VERIFIED, a late day LATE
//! with its time, a day without a statement missing; a receipt dropped on
//! it verifies with the log gone; one byte altered on the way (a statement
//! from the log's API, a tile from a mirror) makes the day NOT VERIFIED and
//! names the check that failed. Screenshots go to `ROOTLOG_SCREENSHOTS`
//! (`docs/screenshots` refreshes the README's) or the target directory.
//!
//! Skipped with a notice when Chromium, ChromeDriver or the built page is
//! missing; a failure under CI.

mod common;

use std::sync::Arc;

use common::browser::{altering_proxy, Browser};
use common::export::{publish_export, receipts};
use common::nginx::Nginx;
use common::{first_start, register, run_rootlog, wait_published, Server, Tenant, WatchingWitness};
use rootlog::statement::format_date;

const ORIGIN: &str = "page.example/log";

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// A log pushing to one witness (cosigning every 100 ms), the tenant
/// `acme` registered; `extra` flags for the log.
struct Setup {
    dir: tempfile::TempDir,
    log: Server,
    witness: WatchingWitness,
    log_key: String,
    tenant: Tenant,
    publish: std::path::PathBuf,
}

async fn setup(publish: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let log_key = first_start(&data, ORIGIN);
    let witness = WatchingWitness::start_named(
        &dir.path().join("w"),
        "w.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_key,
    );
    let publish_dir = dir.path().join("mirror");
    let witness_flag = format!("{}@{}", witness.vkey, witness.url);
    let mut args = vec!["--witness", &witness_flag, "--witness-interval", "100ms"];
    let publish_arg = publish_dir.display().to_string();
    if publish {
        args.extend(["--publish-dir", &publish_arg]);
    }
    let log = Server::start(&data, &args);
    let tenant = Tenant::new("acme");
    register(&log, &tenant).await;
    Setup {
        dir,
        log,
        witness,
        log_key,
        tenant,
        publish: publish_dir,
    }
}

/// Submits the tenant's statement for `date`, and waits until a checkpoint
/// meeting the witness policy covers it.
async fn submit(s: &Setup, date: time::Date, seed: u64) -> u64 {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/roots?wait=witnessed", s.log.url))
        .body(s.tenant.statement(&format_date(date), seed))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let v: serde_json::Value = resp.json().await.unwrap();
    v["index"].as_u64().unwrap()
}

/// The page's URL for `acme` from `from` to `to`, trusting the log key and
/// the witness (DESIGN.md §7a).
fn page(base: &str, s: &Setup, from: time::Date, to: time::Date) -> String {
    let enc = |v: &str| v.replace('+', "%2B");
    format!(
        "{}/#tenant=acme&from={}&to={}&log_key={}&witness={}&quorum=1",
        base.trim_end_matches('/'),
        format_date(from),
        format_date(to),
        enc(&s.log_key),
        enc(&s.witness.vkey)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_from_the_log_shows_verified_late_and_missing_and_checks_a_receipt_offline() {
    if !Browser::available(
        "the_page_from_the_log_shows_verified_late_and_missing_and_checks_a_receipt_offline",
    ) {
        return;
    }
    let mut s = setup(false).await;
    let t = today();
    let late = t - time::Duration::days(4);
    // Logged now, four days after its day: later than the default 2 days.
    submit(&s, late, 1).await;
    submit(&s, t, 2).await;

    let browser = Browser::start().await;
    browser.open(&page(&s.log.url, &s, late, t)).await;
    browser.wait_done("#verdict").await;
    let days = browser.days("#days").await;
    let verdicts: Vec<(String, String)> = days
        .iter()
        .map(|(d, v, _)| (d.clone(), v.clone()))
        .collect();
    let mut want = vec![(format_date(late), "late".to_string())];
    for n in (1..=3).rev() {
        want.push((format_date(t - time::Duration::days(n)), "missing".into()));
    }
    want.push((format_date(t), "verified".into()));
    assert_eq!(verdicts, want);
    let (overall, text) = browser.verdict("#verdict").await;
    assert_eq!(
        overall, "not-verified",
        "a missing day counts as not verified: {text}"
    );
    // The late day says when it was logged, in its label and its detail.
    let label = browser
        .eval(
            "return document.querySelector(`[data-date='${arguments[0]}'] button`).getAttribute('aria-label');",
            serde_json::json!([format_date(late)]),
        )
        .await;
    assert!(
        label.as_str().unwrap().contains("LATE (logged by 20"),
        "{label}"
    );
    // The keys came with the link: the page says so.
    let source = browser
        .eval(
            "return document.getElementById('trusted').dataset.source;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(source, "link");
    browser
        .eval(
            "document.getElementById('result-heading').scrollIntoView();",
            serde_json::json!([]),
        )
        .await;
    browser.screenshot("calendar.png").await;

    browser.click_day(&format_date(t)).await;
    let checks = browser
        .eval(
            "return [...document.querySelectorAll('#detail [data-check]')].map(e => e.dataset.check + ':' + e.dataset.result);",
            serde_json::json!([]),
        )
        .await;
    for check in [
        "checkpoint",
        "consistency",
        "inclusion",
        "tenant_keys",
        "time_bound",
    ] {
        assert!(
            checks
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == format!("{check}:pass").as_str()),
            "{check} not passed in {checks}"
        );
    }
    browser.screenshot("verdict.png").await;

    // The keyboard reaches every day: Enter on a day opens it.
    browser
        .type_keys(
            &format!("[data-date='{}'] button", format_date(late)),
            "\u{E007}",
        )
        .await;
    let opened = browser
        .eval(
            "return document.getElementById('detail').dataset.date;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(opened, format_date(late).as_str());

    // A second visit checks the log against the checkpoint this browser
    // remembered from the first.
    browser.reload().await;
    browser.wait_done("#verdict").await;
    browser.click_day(&format_date(late)).await;
    let consistency = browser
        .eval(
            "return document.querySelector('#detail [data-check=consistency]').textContent;",
            serde_json::json!([]),
        )
        .await;
    assert!(
        consistency
            .as_str()
            .unwrap()
            .contains("verified earlier in this browser"),
        "{consistency}"
    );

    // A narrow screen (a phone) gets no sideways scrolling.
    browser.resize(380, 900).await;
    let widths = browser
        .eval(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            serde_json::json!([]),
        )
        .await;
    browser.screenshot("narrow.png").await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the page is wider than a narrow screen (scroll width, client width): {widths}"
    );
    browser.resize(1100, 1500).await;

    // A receipt of today's statement, then the network cut: the log and
    // the witness are gone, and the page checks the receipt on its own.
    let receipt = s.dir.path().join("today.receipt");
    let (code, out, err) = run_rootlog(&[
        "receipt",
        "--log",
        &s.log.url,
        "--tenant",
        "acme",
        "--date",
        &format_date(t),
        "--log-key",
        &s.log_key,
        "--witness",
        &s.witness.vkey,
        "--out",
        receipt.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    s.log.kill();
    drop(s.witness);
    browser.choose_files("#offline-files", &[&receipt]).await;
    browser.wait_done("#offline-verdict").await;
    let (offline, text) = browser.verdict("#offline-verdict").await;
    assert_eq!(offline, "verified", "{text}");
    assert_eq!(
        browser.days("#offline-results").await,
        vec![(format_date(t), "verified".into(), String::new())]
    );
    browser
        .eval(
            "document.getElementById('offline-heading').scrollIntoView();",
            serde_json::json!([]),
        )
        .await;
    browser.screenshot("offline-receipt.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_altered_on_the_way_is_not_verified_and_names_the_check() {
    if !Browser::available("one_byte_altered_on_the_way_is_not_verified_and_names_the_check")
        || !Nginx::available("one_byte_altered_on_the_way_is_not_verified_and_names_the_check")
    {
        return;
    }
    let s = setup(true).await;
    let t = today();
    let index = submit(&s, t, 7).await;
    wait_published(&s.publish, index + 1);
    let date = format_date(t);
    let browser = Browser::start().await;

    // The log's API, through a proxy that alters one digit of the
    // statement's record count: its signature and its inclusion fail.
    let statement_path = format!("/v1/roots/acme/{date}");
    let (proxy, _task) = altering_proxy(
        &s.log.url,
        Arc::new(move |path: &str| path == statement_path),
        |body: &[u8]| {
            let at = body
                .windows(8)
                .position(|w| w == b"records ")
                .expect("records line");
            at + 8
        },
    )
    .await;
    browser.open(&page(&proxy, &s, t, t)).await;
    browser.wait_done("#verdict").await;
    let days = browser.days("#days").await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].1, "not-verified", "{days:?}");
    assert!(days[0].2.split(' ').any(|c| c == "inclusion"), "{days:?}");
    browser.click_day(&date).await;
    browser.screenshot("altered-statement.png").await;

    // A static mirror behind nginx: the page works from it alone (the
    // statement from an entry bundle, proofs from tiles)...
    let nginx = Nginx::start(&s.publish);
    browser.open(&page(&nginx.url, &s, t, t)).await;
    browser.wait_done("#verdict").await;
    let (overall, text) = browser.verdict("#verdict").await;
    assert_eq!(overall, "verified", "{text}");
    let source = browser
        .eval(
            "return document.getElementById('source').textContent;",
            serde_json::json!([]),
        )
        .await;
    assert!(
        source.as_str().unwrap().contains("static mirror"),
        "{source}"
    );
    assert!(
        nginx.requests().iter().any(|r| r.starts_with("/tile/0/")),
        "proofs came from the tiles: {:?}",
        nginx.requests()
    );

    // ...and one byte of a hash tile altered on the way fails the inclusion proof.
    let (proxy, _task) = altering_proxy(
        &nginx.url,
        Arc::new(|path: &str| path.starts_with("/tile/0/")),
        |_| 0,
    )
    .await;
    browser.open(&page(&proxy, &s, t, t)).await;
    browser.wait_done("#verdict").await;
    let days = browser.days("#days").await;
    assert_eq!(days[0].1, "not-verified", "{days:?}");
    assert!(days[0].2.split(' ').any(|c| c == "inclusion"), "{days:?}");
}

/// The names of the checks with `result` in a verdict document, sorted.
fn checks_with(doc: &serde_json::Value, result: &str) -> Vec<String> {
    let statements = doc["statements"].as_array().into_iter().flatten();
    let mut names: Vec<String> = doc["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(statements.flat_map(|s| s["checks"].as_array().into_iter().flatten()))
        .filter(|c| c["result"] == result)
        .filter_map(|c| c["check"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

fn sorted_strings(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(String::from))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webassembly_verifier_gives_the_cli_verdict_on_the_conformance_vectors() {
    if !Browser::available(
        "the_webassembly_verifier_gives_the_cli_verdict_on_the_conformance_vectors",
    ) {
        return;
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conformance/receipts.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap().clone();
    assert!(vectors.len() >= 10, "expected the conformance vectors");
    let inputs: Vec<serde_json::Value> = vectors
        .iter()
        .map(|v| {
            let trust = serde_json::json!({
                "log_key": v["log_key"], "witnesses": v["witnesses"],
                "quorum": v["quorum"], "max_delay": v["max_delay"],
            });
            serde_json::json!([v["receipt"], trust.to_string()])
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let log = Server::start(&dir.path().join("log"), &[]);
    let browser = Browser::start().await;
    browser.open(&format!("{}/", log.url)).await;
    // The module the page runs, called in the page: WebAssembly, not the
    // native build the crate's own tests use.
    let answers = browser
        .eval_async(
            "const [inputs, done] = arguments;
             import('./rootlog_web.js').then(async (m) => {
               await m.default();
               done(inputs.map(([r, t]) => { try { return JSON.parse(m.verifyReceipt(r, t)); }
                                            catch (e) { return { error: String(e) }; } }));
             }, (e) => done([{ error: String(e) }]));",
            serde_json::json!([inputs]),
        )
        .await;
    let answers = answers.as_array().unwrap();

    // A malformed key in a link is an error the page shows, not a verdict.
    browser
        .open(&format!(
            "{}/#tenant=acme&from=2026-01-01&to=2026-01-02&log_key=nonsense",
            log.url
        ))
        .await;
    browser.reload().await;
    browser.wait_done("#verdict").await;
    let (overall, _) = browser.verdict("#verdict").await;
    assert_eq!(overall, "unchecked");
    let shown = browser
        .eval(
            "const t = document.getElementById('trusted'); return [t.dataset.valid, t.innerText];",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(shown[0], "false", "{shown}");
    assert!(
        shown[1].as_str().unwrap().contains("log key \"nonsense\""),
        "{shown}"
    );
    assert!(browser.days("#days").await.is_empty());
    assert_eq!(answers.len(), vectors.len(), "{answers:?}");
    for (v, got) in vectors.iter().zip(answers) {
        let name = v["name"].as_str().unwrap_or("?");
        assert_eq!(got["verdict"], v["verdict"], "{name}: {got}");
        assert_eq!(got["exit_code"], v["exit_code"], "{name}: {got}");
        assert_eq!(
            checks_with(got, "fail"),
            sorted_strings(&v["failed_checks"]),
            "{name}: {got}"
        );
        assert_eq!(
            checks_with(got, "unknown"),
            sorted_strings(&v["unknown_checks"]),
            "{name}: {got}"
        );
        if let Some(by) = v.get("logged_by").and_then(serde_json::Value::as_str) {
            assert_eq!(got["statements"][0]["logged"]["logged_by"], by, "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_and_its_receipts_dropped_on_the_page_get_the_clis_verdict_offline() {
    if !Browser::available(
        "an_export_and_its_receipts_dropped_on_the_page_get_the_clis_verdict_offline",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut log = Server::start(&dir.path().join("log"), &[]);
    let (_, export) = publish_export(&log, "acme", 5, None).await;
    let log_key = log.log_key();
    let dates: Vec<String> = export.days.iter().map(|d| d.0.clone()).collect();
    let receipts_dir = dir.path().join("receipts");
    receipts::write_receipts(&log.client(), "acme", &dates, &log_key, &receipts_dir)
        .await
        .unwrap();
    let good = dir.path().join("manifest.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&export.manifest).unwrap()).unwrap();
    // One record's hash altered after publication.
    let mut altered = export.manifest.clone();
    let sha = altered["records"][3]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if sha.starts_with('0') { "1" } else { "0" };
    altered["records"][3]["sha256"] = format!("{flipped}{}", &sha[1..]).into();
    let bad = dir.path().join("altered.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&altered).unwrap()).unwrap();

    let browser = Browser::start().await;
    let vkey = log_key.vkey().replace('+', "%2B");
    browser
        .open(&format!("{}/#log_key={vkey}&max_delay=none", log.url))
        .await;
    // The check is offline: the log is gone before any file is given.
    log.stop();
    let receipts: Vec<std::path::PathBuf> = dates
        .iter()
        .map(|d| receipts_dir.join(format!("{d}.receipt")))
        .collect();
    for (manifest, page_verdict, cli_code) in [(&good, "verified", 0), (&bad, "not-verified", 1)] {
        let mut files: Vec<&std::path::Path> = vec![manifest.as_path()];
        files.extend(receipts.iter().map(|p| p.as_path()));
        browser.choose_files("#offline-files", &files).await;
        browser.wait_done("#offline-verdict").await;
        let (got, text) = browser.verdict("#offline-verdict").await;
        assert_eq!(got, page_verdict, "{}: {text}", manifest.display());
        assert_eq!(browser.days("#offline-results").await.len(), dates.len());

        // The CLI on the same files, offline.
        let (code, out, err) = run_rootlog(&[
            "verify-export",
            manifest.to_str().unwrap(),
            "--receipts",
            receipts_dir.to_str().unwrap(),
            "--log-key",
            &log_key.vkey(),
            "--max-delay",
            "none",
            "--json",
        ]);
        assert_eq!(code, cli_code, "{out}{err}");
        let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
        let page_failed = browser
            .eval(
                "return [...document.querySelectorAll('#offline-results [data-result=fail]')].map(e => e.dataset.check).sort();",
                serde_json::json!([]),
            )
            .await;
        let cli_failed = checks_with(&cli, "fail");
        assert_eq!(page_failed, serde_json::json!(cli_failed), "{out}");
        if page_verdict == "not-verified" {
            assert!(cli_failed.iter().any(|c| c == "export_day"), "{out}");
        }
        browser
            .eval(
                "document.getElementById('offline-heading').scrollIntoView();",
                serde_json::json!([]),
            )
            .await;
        browser
            .screenshot(&format!("offline-{page_verdict}.png"))
            .await;
    }
}

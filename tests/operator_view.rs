//! What the operator sees, with real processes: one audit line per
//! submission (tenant, date, index or error code, latency), per refusal and
//! per admin action, as text without colour codes or as JSON lines; metrics
//! an on-call engineer alerts on (latency by route and status, per-witness
//! cosigned size and time, the witnessed gap and age, build info, each event
//! counted once); `/healthz` degraded when witnessing stalls.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{day, register, rootlog_bin, Server, Tenant, WatchingWitness, ADMIN_TOKEN};
use serde_json::Value;

/// A server whose audit lines are kept (`rootlog::audit` at info).
fn audited_server(data: &std::path::Path, extra: &[&str]) -> Server {
    let mut command = Command::new(rootlog_bin());
    command.env("ROOTLOG_LOG", "warn,rootlog::audit=info");
    Server::try_start_command(
        command,
        data,
        &["--max-statement-age", "none", "--admin-on-public"],
        extra,
    )
    .unwrap()
}

/// Waits until the server's stderr has `n` lines containing `needle`.
fn lines_with(server: &Server, needle: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<String> = server
            .stderr()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_submission_refusal_and_admin_action_leaves_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = audited_server(&dir.path().join("text"), &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let client = server.client();
    let (status, entry) = client.submit(&tenant.statement(&day(3), 3)).await.unwrap();
    assert_eq!(status, 201);
    // A conflict, a refusal for a bad date, a retired key: each a line.
    let conflict = client.submit(&tenant.statement(&day(3), 4)).await;
    assert!(matches!(
        conflict,
        Err(rootlog::client::ClientError::Api { status: 409, .. })
    ));
    let bad_date = common::sign_text(
        &tenant.signer,
        &tenant
            .statement_text(&day(5), 1, [1; 32], None)
            .replace(&day(5), "2026-02-30"),
    );
    let refused = client.submit(&bad_date).await;
    assert!(matches!(
        refused,
        Err(rootlog::client::ClientError::Api { status: 400, .. })
    ));
    let other = rootlog::note::Signer::generate("acme").unwrap();
    for (action, vkey) in [("add", other.vkey()), ("retire", tenant.signer.vkey())] {
        client
            .change_key(ADMIN_TOKEN, "acme", action, &vkey, None)
            .await
            .unwrap();
    }
    let retired = client.submit(&tenant.statement(&day(6), 6)).await;
    assert!(matches!(
        retired,
        Err(rootlog::client::ClientError::Api { status: 403, .. })
    ));

    let lines = lines_with(&server, "rootlog::audit", 7);
    let text = lines.join("\n");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a pipe: {text}"
    );
    let submissions: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("kind=\"submission\"") || l.contains("kind=submission"))
        .collect();
    assert_eq!(submissions.len(), 4, "{text}");
    assert!(
        text.contains(&format!("index={}", entry.index)) && text.contains("tenant=\"acme\""),
        "{text}"
    );
    for code in ["conflict", "bad_date", "key_retired"] {
        assert!(text.contains(code), "{code} is missing: {text}");
    }
    let admin = lines.iter().filter(|l| l.contains("admin")).count();
    assert_eq!(admin, 3, "registration and two key changes: {text}");
    assert!(text.contains("ms="), "{text}");

    // The same as JSON lines.
    let mut command = Command::new(rootlog_bin());
    command.env("ROOTLOG_LOG", "warn,rootlog::audit=info");
    command.args(["--log-format", "json"]);
    let json_server = Server::try_start_command(
        command,
        &dir.path().join("json"),
        &["--max-statement-age", "none", "--admin-on-public"],
        &[],
    )
    .unwrap();
    register(&json_server, &tenant).await;
    let line = lines_with(&json_server, "rootlog::audit", 1).remove(0);
    let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(parsed["fields"]["kind"], "admin", "{parsed}");
    assert_eq!(parsed["fields"]["status"], 201, "{parsed}");
}

fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_and_health_show_what_witnessing_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let origin = "metrics.example/log";
    drop(Server::start(&data, &["--origin", origin]));
    let log_key = Server::start(&data, &[]).log_key().vkey();
    let witness = WatchingWitness::start_named(
        &dir.path().join("w"),
        "w.example",
        "127.0.0.1:0",
        origin,
        &log_key,
    );
    let server = Server::start(
        &data,
        &[
            "--witness",
            &format!("{}@{}", witness.vkey, witness.url),
            "--witness-interval",
            "100ms",
            "--witness-lag-limit",
            "1s",
            "--degraded-unhealthy",
        ],
    );
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let client = server.client();
    client.submit(&tenant.statement(&day(1), 1)).await.unwrap();
    let conflict = client.submit(&tenant.statement(&day(1), 2)).await;
    assert!(conflict.is_err());
    witness.wait_cosigned(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&text, "rootlog_submissions_total{result=\"appended\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains("result=\"conflict\""),
        "a conflict is counted once: {text}"
    );
    assert_eq!(
        metric(&text, "rootlog_rejections_total{code=\"conflict\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("route=\"/v1/roots\",method=\"POST\",status=\"409\"}"),
        "latency by route and status: {text}"
    );
    assert_eq!(
        metric(
            &text,
            "rootlog_witness_cosigned_size{witness=\"w.example\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        metric(
            &text,
            "rootlog_witness_last_cosigned_timestamp_seconds{witness=\"w.example\"}"
        )
        .is_some_and(|t| t > 1.7e9),
        "{text}"
    );
    assert_eq!(
        metric(&text, "rootlog_unwitnessed_entries"),
        Some(0.0),
        "{text}"
    );
    assert!(
        metric(&text, "rootlog_witnessed_checkpoint_age_seconds").is_some_and(|a| a < 60.0),
        "{text}"
    );
    assert!(text.contains("rootlog_build_info{"), "{text}");

    // The witness goes away; entries wait; /healthz turns degraded (503 as configured).
    drop(witness);
    client.submit(&tenant.statement(&day(2), 2)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = reqwest::get(format!("{}/healthz", server.url))
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        if body["status"] == "degraded" {
            assert_eq!(status, 503, "{body}");
            assert!(
                body["witnessing"]["lag_seconds"].as_u64().unwrap() >= 1,
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never degraded: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&text, "rootlog_unwitnessed_entries"),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(
            &text,
            "rootlog_witness_failures_total{witness=\"w.example\"}"
        )
        .is_some_and(|f| f >= 1.0),
        "{text}"
    );
}

//! Overload against the real server: rate limits answer 429 with
//! Retry-After; a flood beyond the in-flight cap is shed with 503 instead of
//! queueing without bound; nothing accepted is lost; memory stays bounded;
//! and the server serves normally as soon as the flood stops.

mod common;

use std::sync::Arc;

use common::{day, register, Server, Tenant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_answer_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--rate-per-tenant", "5"]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let http = reqwest::Client::new();
    let mut limited = 0;
    for n in 0..40 {
        let response = http
            .post(format!("{}/v1/roots", server.url))
            .body(tenant.statement(&day(n), n))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().get("retry-after").is_some());
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
            limited += 1;
        } else {
            assert_eq!(response.status(), 201);
        }
    }
    assert!(
        limited >= 20,
        "only {limited} of 40 rapid submissions were limited at 5/s"
    );
    // Another tenant is not affected by acme's limit.
    let other = Tenant::new("globex");
    register(&server, &other).await;
    assert_eq!(
        server
            .client()
            .submit(&other.statement(&day(0), 0))
            .await
            .unwrap()
            .0,
        201
    );

    let ip_limited = Server::start(&dir.path().join("ip"), &["--rate-per-ip", "10"]);
    let mut codes = Vec::new();
    for _ in 0..60 {
        codes.push(
            http.get(format!("{}/checkpoint", ip_limited.url))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(codes.contains(&429) && codes.contains(&200), "{codes:?}");

    // Every refusal is counted by its code: the handler's per-tenant 429s
    // and the per-IP guard's, which answer before any handler runs.
    let rejected = |metrics: &str| -> usize {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("rootlog_rejections_total{code=\"rate_limited\"} "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let metrics = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(
        rejected(&metrics(format!("{}/metrics", server.url)).await),
        limited
    );
    // Let the per-IP bucket refill so that /metrics itself is answered.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let guard_limited = codes.iter().filter(|&&c| c == 429).count();
    assert_eq!(
        rejected(&metrics(format!("{}/metrics", ip_limited.url)).await),
        guard_limited
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_is_shed_and_nothing_accepted_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-in-flight", "16", "--queue", "16"]);
    let pid = server.pid().unwrap();
    let tenants: Arc<Vec<Tenant>> =
        Arc::new((0..8).map(|i| Tenant::new(&format!("flood-{i}"))).collect());
    for t in tenants.iter() {
        register(&server, t).await;
    }
    let baseline = rss_kib(pid);
    // 512 concurrent submitters, far beyond the 16 requests allowed in flight.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..512u64 {
        let (http, url, tenants) = (http.clone(), server.url.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            let note = tenants[(n % 8) as usize].statement(&day(n / 8), n);
            let response = http
                .post(format!("{url}/v1/roots"))
                .body(note.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response.headers().get("retry-after").is_some();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, retry, body, note)
        }));
    }
    let mut accepted = Vec::new();
    let mut shed = 0;
    let mut peak = baseline;
    for t in tasks {
        let (status, retry, body, note) = t.await.unwrap();
        peak = peak.max(rss_kib(pid));
        match status {
            201 => accepted.push((body["index"].as_u64().unwrap(), note)),
            503 => {
                assert!(retry, "a shed request says when to retry");
                assert_eq!(body["error"], "overloaded");
                shed += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    eprintln!(
        "flood: {} accepted, {shed} shed; RSS {baseline} KiB before, peak {peak} KiB",
        accepted.len()
    );
    assert!(shed > 0, "the flood never hit the limit");
    assert!(!accepted.is_empty());
    assert!(
        peak < baseline + 200 * 1024,
        "memory grew by more than 200 MiB under the flood"
    );
    // Nothing accepted is lost.
    let client = server.client();
    for (index, note) in &accepted {
        let entry = client
            .get_json(&format!("/v1/entries/{index}"))
            .await
            .unwrap();
        assert_eq!(
            entry["statement"].as_str().unwrap().as_bytes(),
            note.as_slice()
        );
    }
    // It recovers at once.
    let (status, _) = client
        .submit(&tenants[0].statement(&day(100), 100))
        .await
        .unwrap();
    assert_eq!(status, 201);
}

/// SIGTERM while submissions wait in the sequencer: the server stops
/// accepting, answers every submission it had taken (each 201, durable),
/// and only then exits; after a restart every one of them is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_submissions() {
    let dir = tempfile::tempdir().unwrap();
    // A long batch wait keeps the submissions in flight when the signal comes.
    let mut server = Server::start(dir.path(), &["--batch-wait-ms", "300"]);
    let tenant = Tenant::new("drain");
    register(&server, &tenant).await;
    let tasks: Vec<_> = (0..16u64)
        .map(|n| {
            let client = server.client();
            let note = tenant.statement(&day(n), n);
            tokio::spawn(async move { (client.submit(&note).await, note) })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stopping = std::thread::spawn(move || {
        server.stop();
        server
    });
    let mut answered = Vec::new();
    for task in tasks {
        let (result, note) = task.await.unwrap();
        let (status, entry) = result.expect("an in-flight submission is answered, not dropped");
        assert_eq!(status, 201);
        answered.push((entry.index, note));
    }
    drop(stopping.join().unwrap());
    let server = Server::start(dir.path(), &[]);
    for (index, note) in answered {
        let entry = server.client().entry(index).await.unwrap();
        assert_eq!(entry.statement.as_bytes(), note.as_slice());
    }
}

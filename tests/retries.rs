//! The archive's side of an unreliable network, with real processes:
//! `rootlog submit` and `LogClient` retry a log that answers 503 or 429
//! (honouring `Retry-After`), one that drops the connection after it logged
//! the statement (the retry is answered 200 with the same entry), one that
//! is not listening yet, and a real log answering `503 starting` while its
//! witness is down; with `--retry-for 0` they fail fast (exit 3); a 409 is
//! never retried (exit 1).
//!
//! The 503s, 429s and dropped answers come from a small TCP proxy in front
//! of the real log, scripted per connection (each scripted answer closes
//! its connection, so the client's next attempt opens a new one).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{register, rootlog_bin, Server, Tenant, WatchingWitness};
use rootlog::client::{LogClient, RetryPolicy};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with the request of one connection.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// Answer with this status, error code and `Retry-After` (seconds), and close.
    Refuse(u16, &'static str, u64),
    /// Forward the request to the log, wait for its answer (the log answers
    /// only once the entry is durable), and close without passing it on:
    /// the client cannot know whether it was logged.
    Swallow,
}

/// A TCP proxy in front of a log: the first connections follow the
/// script, the rest are forwarded untouched. Records when each scripted
/// or forwarded connection's request arrived.
struct Proxy {
    url: String,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &str, script: Vec<Act>) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("the log's address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        let task = tokio::spawn(async move {
            let script = Arc::new(script);
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (seen, script) = (seen.clone(), script.clone());
                tokio::spawn(async move {
                    let _ = serve(client, upstream, &seen, &script).await;
                });
            }
        });
        Proxy {
            url,
            arrivals,
            task,
        }
    }

    /// When each connection's first request arrived.
    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body) whole.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(buf);
            }
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    seen: &Mutex<Vec<Instant>>,
    script: &[Act],
) -> std::io::Result<()> {
    let request = read_request(&mut client).await?;
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(Instant::now());
        seen.len() - 1
    };
    match script.get(n) {
        Some(Act::Refuse(status, code, retry_after)) => {
            let body = format!(r#"{{"error":"{code}","message":"scripted by the test proxy"}}"#);
            let reason = if *status == 429 {
                "Too Many Requests"
            } else {
                "Service Unavailable"
            };
            let answer = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nretry-after: {retry_after}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await
        }
        Some(Act::Swallow) => {
            let mut log = TcpStream::connect(upstream).await?;
            log.write_all(&request).await?;
            let mut answer = [0u8; 64];
            let _ = log.read(&mut answer).await?;
            // Dropping both ends the client's connection with no answer.
            Ok(())
        }
        None => {
            let mut log = TcpStream::connect(upstream).await?;
            log.write_all(&request).await?;
            tokio::io::copy_bidirectional(&mut client, &mut log).await?;
            Ok(())
        }
    }
}

/// Runs `rootlog <args>` off the async runtime: (exit code, stdout, stderr, wall time).
async fn rootlog(args: Vec<String>) -> (i32, String, String, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = std::process::Command::new(rootlog_bin())
            .args(&args)
            .env("ROOTLOG_LOG", "warn")
            .output()
            .expect("rootlog runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    })
    .await
    .unwrap()
}

/// `rootlog submit --statement FILE --log URL --retry-for RETRY [--log-key KEY]`.
fn submit_args(url: &str, statement: &Path, retry_for: &str, log_key: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "submit".into(),
        "--log".into(),
        url.into(),
        "--statement".into(),
        statement.to_str().unwrap().into(),
        "--retry-for".into(),
        retry_for.into(),
    ];
    if let Some(key) = log_key {
        args.extend(["--log-key".into(), key.into()]);
    }
    args
}

/// A statement for `day(n)` written to a file.
fn statement_file(dir: &Path, tenant: &Tenant, n: u64) -> (Vec<u8>, std::path::PathBuf) {
    let note = tenant.statement(&common::day(n), n);
    let path = dir.join(format!("statement-{n}"));
    std::fs::write(&path, &note).unwrap();
    (note, path)
}

/// An address nothing listens on (yet).
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submit_rides_out_503_and_429_and_fails_fast_without_retries() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("log"), &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let log_key = server.log_key().vkey();

    // Overloaded, starting, rate limited, each with Retry-After: 1; then the log.
    let proxy = Proxy::start(
        &server.url,
        vec![
            Act::Refuse(503, "overloaded", 1),
            Act::Refuse(503, "starting", 1),
            Act::Refuse(429, "rate_limited", 1),
        ],
    )
    .await;
    let (_, path) = statement_file(dir.path(), &tenant, 1);
    let (code, out, err, _) = rootlog(submit_args(&proxy.url, &path, "30s", Some(&log_key))).await;
    assert_eq!(code, 0, "{out}{err}");
    let entry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(entry["index"], 1, "{out}");
    assert!(err.contains("appended"), "{err}");
    assert!(
        err.contains("overloaded") && err.contains("rate_limited"),
        "{err}"
    );
    let arrivals = proxy.arrivals();
    assert_eq!(arrivals.len(), 4, "three refusals, then the log");
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(950),
            "Retry-After: 1 was not honoured: a retry after {gap:?}"
        );
    }

    // Without retries the first 503 is the answer: exit 3, at once.
    let proxy = Proxy::start(&server.url, vec![Act::Refuse(503, "overloaded", 1)]).await;
    let (_, path) = statement_file(dir.path(), &tenant, 2);
    let (code, out, err, took) = rootlog(submit_args(&proxy.url, &path, "0", None)).await;
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("503") && err.contains("overloaded"), "{err}");
    assert!(
        err.contains("running the same command again is safe"),
        "{err}"
    );
    assert_eq!(proxy.arrivals().len(), 1);
    assert!(took < Duration::from_secs(10), "{took:?}");

    // A log that stays unavailable: retried until the bound, then exit 3
    // with the last answer.
    let proxy = Proxy::start(&server.url, vec![Act::Refuse(503, "overloaded", 1); 100]).await;
    let (code, out, err, took) = rootlog(submit_args(&proxy.url, &path, "3s", None)).await;
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("gave up after"), "{err}");
    assert!(proxy.arrivals().len() >= 2, "{:?}", proxy.arrivals().len());
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(20)).contains(&took),
        "{took:?}"
    );

    // A refusal of the statement itself is never retried: a conflicting
    // statement for a logged day is exit 1 after one request.
    let proxy = Proxy::start(&server.url, Vec::new()).await;
    let conflicting = tenant.statement(&common::day(1), 999);
    let path = dir.path().join("conflicting");
    std::fs::write(&path, conflicting).unwrap();
    let (code, out, err, took) = rootlog(submit_args(&proxy.url, &path, "30s", None)).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("409") && err.contains("never be replaced"),
        "{err}"
    );
    assert_eq!(proxy.arrivals().len(), 1);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_answer_is_retried_into_the_same_entry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("log"), &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;

    // The CLI: the log appends, the answer is lost, the retry is answered
    // 200 with the entry the lost answer would have named.
    let proxy = Proxy::start(&server.url, vec![Act::Swallow]).await;
    let (note, path) = statement_file(dir.path(), &tenant, 1);
    let (code, out, err, _) = rootlog(submit_args(&proxy.url, &path, "30s", None)).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("already in the log (identical statement)"),
        "{err}"
    );
    let entry: Value = serde_json::from_str(&out).unwrap();
    let logged = server.client().root("acme", &common::day(1)).await.unwrap();
    assert_eq!(entry["index"], logged.index);
    assert_eq!(
        logged.statement.as_deref().map(str::as_bytes),
        Some(&note[..])
    );
    assert_eq!(proxy.arrivals().len(), 2);

    // The library: the same, behind a 503, with the policy set explicitly.
    let proxy = Proxy::start(
        &server.url,
        vec![Act::Swallow, Act::Refuse(503, "overloaded", 1)],
    )
    .await;
    let client =
        LogClient::new(&proxy.url).with_retry(RetryPolicy::for_duration(Duration::from_secs(30)));
    let note = tenant.statement(&common::day(2), 2);
    let (status, entry) = client.submit(&note).await.expect("retried into the entry");
    assert_eq!(status, 200, "the first attempt appended it");
    let logged = server.client().root("acme", &common::day(2)).await.unwrap();
    assert_eq!(entry.index, logged.index);
    entry
        .verify(&server.log_key(), Some(&note))
        .expect("the retried answer verifies");
    assert_eq!(proxy.arrivals().len(), 3);

    // Without retries the lost answer is the caller's problem, and says so.
    let proxy = Proxy::start(&server.url, vec![Act::Swallow]).await;
    let client = LogClient::new(&proxy.url).with_retry(RetryPolicy::none());
    let err = client
        .submit(&tenant.statement(&common::day(3), 3))
        .await
        .expect_err("no answer");
    assert!(err.is_transient(), "{err}");

    // Fetching a receipt rides out a 503 too (here the log's own
    // not_witnessed_yet, scripted).
    let proxy = Proxy::start(&server.url, vec![Act::Refuse(503, "not_witnessed_yet", 1)]).await;
    let client =
        LogClient::new(&proxy.url).with_retry(RetryPolicy::for_duration(Duration::from_secs(30)));
    let receipt = client.receipt("acme", &common::day(1)).await.unwrap();
    assert_eq!(
        receipt.statement.as_bytes(),
        &tenant.statement(&common::day(1), 1)[..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_that_starts_late_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let tenant = Tenant::new("acme");
    let mut first = Server::start(&data, &[]);
    register(&first, &tenant).await;
    first.stop();
    let addr = free_addr();
    let url = format!("http://{addr}");
    let (_, path) = statement_file(dir.path(), &tenant, 1);

    // Nothing listening and no retries: exit 3 at once, saying why.
    let (code, out, err, took) = rootlog(submit_args(&url, &path, "0", None)).await;
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("cannot reach the log"), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // With retries, the log started a second later is reached.
    let submitting = tokio::spawn(rootlog(submit_args(&url, &path, "60s", None)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = Server::start(&data, &["--listen", &addr]);
    let (code, out, err, took) = submitting.await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("cannot reach the log"),
        "the first attempts failed: {err}"
    );
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    let entry: Value = serde_json::from_str(&out).unwrap();
    let logged = server.client().root("acme", &common::day(1)).await.unwrap();
    assert_eq!(entry["index"], logged.index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_starting_log_answers_503_until_its_witness_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let origin = "retries.example/log";
    let tenant = Tenant::new("acme");
    let mut first = Server::start(&data, &["--origin", origin]);
    register(&first, &tenant).await;
    let log_key = first.log_key().vkey();
    first.stop();

    // The witness's key, then the witness down while the log starts: the
    // log holds sequencing (503 starting) until it learns the witness's size.
    let witness_addr = free_addr();
    let witness_data = dir.path().join("w");
    let witness =
        WatchingWitness::start_named(&witness_data, "w.example", &witness_addr, origin, &log_key);
    let witness_vkey = witness.vkey.clone();
    drop(witness);
    let server = Server::start(
        &data,
        &[
            "--witness",
            &format!("{witness_vkey}@http://{witness_addr}"),
            "--witness-interval",
            "200ms",
        ],
    );
    let (_, path) = statement_file(dir.path(), &tenant, 1);
    let submitting = tokio::spawn(rootlog(submit_args(&server.url, &path, "60s", None)));
    // Longer than the 5 s a submission waits for a starting log before 503.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let _witness =
        WatchingWitness::start_named(&witness_data, "w.example", &witness_addr, origin, &log_key);
    let (code, out, err, took) = submitting.await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("503: starting"),
        "the log said it was starting: {err}"
    );
    assert!(took >= Duration::from_secs(7), "{took:?}");
    let entry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(entry["index"], 1, "{out}");
}

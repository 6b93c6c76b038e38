//! A hostile client holding sockets cannot take the log offline: with the
//! common open-file limit of 1,024 (set with `prlimit` on the real server),
//! 2,000 idle connections and 200 connections dribbling header bytes, a
//! well-behaved client still gets `/healthz` and its submissions answered
//! within a second each.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{day, register, rootlog_bin, Server, Tenant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: usize = 2000;
const DRIBBLERS: usize = 200;

/// Holds one connection open doing nothing, until the server closes it.
async fn idle(addr: String) {
    if let Ok(mut stream) = TcpStream::connect(&addr).await {
        let mut buf = [0u8; 64];
        // Returns when the server closes the connection.
        let _ = stream.read(&mut buf).await;
    }
}

/// Sends a request head one byte every 300 ms, until the server closes it.
async fn dribble(addr: String) {
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    if let Ok(mut stream) = TcpStream::connect(&addr).await {
        for sent in 0.. {
            let byte = head.get(sent).copied().unwrap_or(b'a');
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_connections_do_not_lock_out_other_clients() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("prlimit (util-linux) is missing, and CI is set so this test must run");
        }
        eprintln!("######## SKIPPED: prlimit (util-linux) is not installed ########");
        return;
    }
    // This process needs more than 2,200 descriptors of its own.
    rlimit::increase_nofile_limit(8192).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("prlimit");
    command.args(["--nofile=1024:1024", rootlog_bin()]);
    let server = Server::try_start_command(
        command,
        &dir.path().join("log"),
        &["--max-statement-age", "none", "--admin-on-public"],
        &["--header-timeout", "5s"],
    )
    .unwrap();
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let addr = server.url.trim_start_matches("http://").to_string();

    let mut hostile = Vec::new();
    for i in 0..IDLE + DRIBBLERS {
        let addr = addr.clone();
        hostile.push(if i < IDLE {
            tokio::spawn(idle(addr))
        } else {
            tokio::spawn(dribble(addr))
        });
    }
    // Let the flood build up past the server's descriptor limit.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        // A fresh connection each time: the hardest case under the flood.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    for n in 0..20u64 {
        let started = Instant::now();
        let health = client.get(format!("{}/healthz", server.url)).send().await;
        let took = started.elapsed();
        assert!(
            health.as_ref().is_ok_and(|r| r.status() == 200),
            "healthz {n}: {health:?} after {took:?}"
        );
        slowest = slowest.max(took);
        let started = Instant::now();
        let submitted = client
            .post(format!("{}/v1/roots", server.url))
            .body(tenant.statement(&day(n), n))
            .send()
            .await;
        let took = started.elapsed();
        assert!(
            submitted.as_ref().is_ok_and(|r| r.status() == 201),
            "submission {n}: {submitted:?} after {took:?}"
        );
        slowest = slowest.max(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        slowest < Duration::from_secs(1),
        "the slowest answer took {slowest:?}"
    );
    for task in hostile {
        task.abort();
    }
    eprintln!("slowest answer under the flood: {slowest:?}");
}

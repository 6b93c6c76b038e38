//! Client IPs behind a reverse proxy: `--rate-per-ip` keys on the address
//! `X-Forwarded-For` names only when the request comes from a
//! `--trusted-proxy`; from anyone else the header is ignored, so a client
//! cannot choose its own bucket.

mod common;

use common::Server;

/// Statuses of `n` quick `/healthz` requests claiming to come from `client`.
async fn statuses(url: &str, client: &str, n: usize) -> Vec<u16> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for _ in 0..n {
        let resp = http
            .get(format!("{url}/healthz"))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        out.push(resp.status().as_u16());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    // The test itself plays the proxy, from 127.0.0.1.
    let proxied = Server::start(
        &dir.path().join("a"),
        &["--rate-per-ip", "1", "--trusted-proxy", "127.0.0.1/32"],
    );
    let a = statuses(&proxied.url, "198.51.100.1", 6).await;
    assert!(a.contains(&429), "client A is limited: {a:?}");
    let b = statuses(&proxied.url, "198.51.100.2", 1).await;
    assert_eq!(b, [200], "client B has its own bucket");

    // Not trusted: every request is the socket peer's, whatever it claims.
    let direct = Server::start(&dir.path().join("b"), &["--rate-per-ip", "1"]);
    let a = statuses(&direct.url, "198.51.100.1", 6).await;
    assert!(a.contains(&429), "{a:?}");
    let b = statuses(&direct.url, "198.51.100.2", 1).await;
    assert_eq!(
        b,
        [429],
        "the claimed address is ignored: one bucket for the peer"
    );
}

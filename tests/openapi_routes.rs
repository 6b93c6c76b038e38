//! openapi.yaml documents exactly the routes the server registers, and every
//! registered route is really served (none falls through to the fallback).

mod common;

use std::collections::BTreeSet;

use common::Server;
use rootlog::api::ROUTES;

/// (METHOD, path) pairs under `paths:` in openapi.yaml (paths at two spaces, methods at four).
fn documented() -> BTreeSet<(String, String)> {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if ["get", "post", "put", "delete", "patch", "head"].contains(&m) {
                out.insert((m.to_uppercase(), path.clone().expect("method before path")));
            }
        }
    }
    out
}

#[test]
fn spec_and_router_agree() {
    let registered: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(), registered);
}

#[tokio::test]
async fn every_route_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{tenant}", "acme")
            .replace("{date}", "2026-01-01")
            .replace("{index}", "0")
            .replace("{id}", "acme")
            // The one multi-segment parameter (axum's `/tile/{*path}`).
            .replace("{path}", "0/000.p/1");
        let response = http
            .request(method.parse().unwrap(), format!("{}{concrete}", server.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("no_such_route") && !body.contains("method_not_allowed"),
            "{method} {path} is not routed: {status} {body}"
        );
    }
}

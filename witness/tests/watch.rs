//! Watch mode against a tlog-tiles log served from a directory by an
//! in-test HTTP server: the witness polls the checkpoint, builds proofs from
//! tiles, cosigns consistent growth, refuses to trust corrupted tiles, and
//! records evidence when the log's own signed tree forks.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rootlog::merkle::{Hash, NodeId};
use rootlog::note::{Checkpoint, Note, Signer};
use rootlog::tiles::{tile_path, tiles_for_size};

/// Writes `checkpoint` and every tile of `log` at its current size into
/// `dir`; returns the tile paths written.
fn publish(dir: &Path, log: &TestLog) -> Vec<PathBuf> {
    let size = log.size();
    let mut written = Vec::new();
    for (tile, width) in tiles_for_size(size) {
        let mut bytes = Vec::new();
        for j in 0..u64::from(width) {
            let node: &Hash = &log.nodes[&NodeId::new(tile.level * 8, tile.index * 256 + j)];
            bytes.extend_from_slice(node);
        }
        let path = dir.join(tile_path(tile, width));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        written.push(path);
    }
    std::fs::write(dir.join("checkpoint"), log.checkpoint(size).to_text()).unwrap();
    written
}

async fn serve_dir(dir: PathBuf) -> String {
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn cosigned_size(c: &reqwest::Client, base: &str, origin: &str) -> Option<u64> {
    let a = get(c, &checkpoint_url(base, origin)).await;
    if a.status != 200 {
        return None;
    }
    let note = Note::parse(a.body.as_bytes()).ok()?;
    Some(Checkpoint::parse(&note.text).ok()?.size)
}

async fn metric(c: &reqwest::Client, base: &str, name: &str) -> u64 {
    let m = get(c, &format!("{base}/metrics")).await.body;
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

const ERRORS: &str = "rootlog_witness_watch_polls_total{result=\"error\"}";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn watch_cosigns_growth_and_distrusts_bad_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut log = TestLog::new("tiles.example/log");
    log.grow_to(300);
    publish(&site, &log);
    let url = serve_dir(site.clone()).await;

    let w = WitnessProcess::start(
        &dir.path().join("data"),
        &[
            "--name".into(),
            "watcher".into(),
            "--log".into(),
            log.flag(),
            "--watch".into(),
            format!("{}={url}/", log.origin),
            "--poll-interval".into(),
            "0.2".into(),
        ],
    );
    let c = client();
    let origin = log.origin.clone();
    let size_is = |want: u64| {
        let (c, base, origin) = (c.clone(), w.url.clone(), origin.clone());
        move || {
            let (c, base, origin) = (c.clone(), base.clone(), origin.clone());
            async move { (cosigned_size(&c, &base, &origin).await == Some(want)).then_some(()) }
        }
    };

    // First checkpoint, then growth proven from tiles (300 → 1000).
    wait_for("cosigned 300", WAIT, size_is(300)).await;
    log.grow_to(1000);
    publish(&site, &log);
    wait_for("cosigned 1000", WAIT, size_is(1000)).await;

    // Growth to 1500 whose new tiles are corrupted: never cosigned, no evidence.
    let before: HashSet<PathBuf> = walk(&site.join("tile")).into_iter().collect();
    let mut grown = TestLog::with_signer(
        &log.origin,
        Signer::from_skey(&log.signer.skey()).unwrap(),
        0,
    );
    grown.grow_to(1500);
    let written = publish(&site, &grown);
    for path in written.iter().filter(|p| !before.contains(*p)) {
        let mut bytes = std::fs::read(path).unwrap();
        for b in &mut bytes {
            *b ^= 0x5a;
        }
        std::fs::write(path, bytes).unwrap();
    }
    let errors = metric(&c, &w.url, ERRORS).await;
    wait_for("three failed polls", WAIT, || {
        let (c, base) = (c.clone(), w.url.clone());
        async move { (metric(&c, &base, ERRORS).await >= errors + 3).then_some(()) }
    })
    .await;
    assert_eq!(cosigned_size(&c, &w.url, &origin).await, Some(1000));
    assert_eq!(
        get(&c, &format!("{}/evidence", w.url)).await.body.trim(),
        "[]"
    );
    assert!(
        w.stderr().contains("do not hash to its signed root"),
        "{}",
        w.stderr()
    );

    // Correct tiles: the same checkpoint is now cosigned.
    publish(&site, &grown);
    wait_for("cosigned 1500", WAIT, size_is(1500)).await;

    // The log's key signs a forked tree (its tiles are self-consistent):
    // evidence, and the witness stays at 1500.
    let mut fork = TestLog::with_signer(
        &log.origin,
        Signer::from_skey(&log.signer.skey()).unwrap(),
        99,
    );
    fork.grow_to(2000);
    publish(&site, &fork);
    wait_for("evidence", WAIT, || {
        let (c, base) = (c.clone(), w.url.clone());
        async move { (metric(&c, &base, "rootlog_witness_evidence_total").await == 1).then_some(()) }
    })
    .await;
    assert_eq!(cosigned_size(&c, &w.url, &origin).await, Some(1500));
    let ev: serde_json::Value =
        serde_json::from_str(&get(&c, &format!("{}/evidence", w.url)).await.body).unwrap();
    assert_eq!(ev[0]["reason"], "consistency_proof_failed");
    assert_eq!(ev[0]["old"], 1500);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

//! Watch mode against a tlog-tiles log served from a directory by an
//! in-test HTTP server: the witness polls the checkpoint, builds proofs from
//! tiles, cosigns consistent growth, refuses to trust corrupted tiles (also
//! ones the new root does not cover), and records evidence, checkable with
//! the log's vkey alone, only when the log's own signed tree forks.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rootlog_tlog::merkle::{Hash, NodeId};
use rootlog_tlog::note::{Checkpoint, Note, Signer};
use rootlog_tlog::tiles::{tile_path, tiles_for_size, TileId};

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
    assert_eq!(ev.as_array().unwrap().len(), 1, "{ev:#}");
    assert_eq!(ev[0]["old"], 1500);
    // Conclusive from the record and the log's vkey alone: the proof the
    // witness built verifies from the fork's root at 1500 (prefix_root) to
    // the signed root at 2000, and that root is not the cosigned one.
    assert_eq!(
        check_evidence(&ev[0], &log.vkey()),
        "consistency_proof_failed"
    );
    assert_eq!(
        ev[0]["prefix_root"].as_str().unwrap(),
        rootlog_tlog::note::encode_b64(&fork.root(1500))
    );
    assert!(w.stderr().contains("LOG MISBEHAVIOUR"));
}

/// A tile that the consistency proof reads but the new signed root does not
/// cover (a full level-0 tile below the cosigned size) is corrupted: the
/// proof fails, yet the tiles still hash to the new signed root. That is
/// the tiles' fault, not the log's signed tree: a failed poll, no evidence,
/// nothing cosigned; once the tile is right, the growth is cosigned.
#[tokio::test(flavor = "multi_thread")]
async fn watch_a_bad_tile_outside_the_new_root_is_not_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut log = TestLog::new("tiles.example/quiet");
    log.grow_to(1000);
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
    wait_for("cosigned 1000", WAIT, || {
        let (c, base, origin) = (c.clone(), w.url.clone(), origin.clone());
        async move { (cosigned_size(&c, &base, &origin).await == Some(1000)).then_some(()) }
    })
    .await;

    // Growth to 1500. Leaves 768..1023 are tile 0/3: partial (232 wide) at
    // 1000, full at 1500. The proof from 1000 reads the full one; the root
    // at 1500 reads only level-1 tile 0 and the tiles from leaf 1024 up.
    log.grow_to(1500);
    publish(&site, &log);
    let full = site.join(tile_path(TileId { level: 0, index: 3 }, 256));
    let good = std::fs::read(&full).unwrap();
    let mut bad = good.clone();
    bad[31 * 32] ^= 1;
    std::fs::write(&full, &bad).unwrap();
    let errors = metric(&c, &w.url, ERRORS).await;
    wait_for("three failed polls", WAIT, || {
        let (c, base) = (c.clone(), w.url.clone());
        async move { (metric(&c, &base, ERRORS).await >= errors + 3).then_some(()) }
    })
    .await;
    assert_eq!(cosigned_size(&c, &w.url, &origin).await, Some(1000));
    assert_eq!(
        metric(&c, &w.url, "rootlog_witness_evidence_total").await,
        0
    );
    assert_eq!(
        get(&c, &format!("{}/evidence", w.url)).await.body.trim(),
        "[]"
    );
    assert!(!w.stderr().contains("LOG MISBEHAVIOUR"), "{}", w.stderr());

    std::fs::write(&full, &good).unwrap();
    wait_for("cosigned 1500", WAIT, || {
        let (c, base, origin) = (c.clone(), w.url.clone(), origin.clone());
        async move { (cosigned_size(&c, &base, &origin).await == Some(1500)).then_some(()) }
    })
    .await;
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

//! The static mirror (`rootlog serve --publish-dir`, `rootlog publish`):
//! the published directory, served by a stock nginx, is a complete
//! tlog-tiles log (signed checkpoint, tiles folding to its root, entry
//! bundles, proofs built from the mirrored tiles verify); and a SIGKILL in
//! the middle of publishing never leaves a checkpoint whose tiles are missing.
//!
//! nginx (the helper is in tests/common/nginx.rs): when it is not installed the nginx test fails if `CI` is set, and
//! otherwise prints a loud notice and skips (so `cargo test` works on a
//! fresh dev machine). The SIGKILL test reads the directory from disk and
//! needs no nginx.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::nginx::Nginx;
use common::tiles::{partial_dirs, verify_dir, verify_over_http, Grower};
use common::{day, register, rootlog_bin, wait_published, Server, Tenant};
use rootlog::client::verify_checkpoint;
use rootlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use rootlog::note::Checkpoint;
use rootlog::tiles::{entries_path, partial_tiles, tile_path, TileClient};

/// The only `.p` directories a mirror at `size` may hold: the partials the
/// current tree still needs (stale ones are removed once the full tile is out).
fn assert_no_stale_partials(dir: &Path, size: u64) {
    let allowed: Vec<String> = partial_tiles(size)
        .into_iter()
        .flat_map(|(tile, _)| {
            let full = tile_path(tile, 256);
            let mut v = vec![format!("{full}.p")];
            if tile.level == 0 {
                v.push(format!("{}.p", entries_path(tile.index, 256)));
            }
            v
        })
        .collect();
    for found in partial_dirs(dir) {
        assert!(
            allowed.contains(&found),
            "stale partial {found} at size {size}"
        );
    }
}

fn rootlog_publish(data: &Path, to: &Path) -> std::process::Output {
    Command::new(rootlog_bin())
        .args(["publish", "--data"])
        .arg(data)
        .arg("--to")
        .arg(to)
        .env("ROOTLOG_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_log_verifies_through_nginx() {
    if !Nginx::available("the_whole_log_verifies_through_nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    let site_arg = site.to_str().unwrap();
    let mut server = Server::start(&data, &["--publish-dir", site_arg, "--batch-wait-ms", "2"]);
    let log_key = server.log_key();
    let grower = Grower::new(&server, 1500).await;
    grower.grow_to(&server, 300, 16).await;
    wait_published(&site, 300);
    let nginx = Nginx::start(&site);
    let (old, _) = verify_over_http(&nginx.url, &log_key, Some(&grower.leaves())).await;
    // A witness watches the log through nginx only, building its proofs from the mirrored tiles.
    let watcher = common::WatchingWitness::start(
        &dir.path().join("witness"),
        &old.origin,
        &log_key.vkey(),
        &nginx.url,
    );
    watcher.wait_cosigned(300).await;

    grower.grow_to(&server, 1500, 16).await;
    wait_published(&site, 1500);
    let leaves = grower.leaves();
    let (checkpoint, _) = verify_over_http(&nginx.url, &log_key, Some(&leaves)).await;
    assert_eq!((old.size, checkpoint.size), (300, 1500));
    watcher.wait_cosigned(1500).await;
    assert_no_stale_partials(&site, 1500);

    // Proofs built from the mirrored tiles alone verify against the signed roots.
    let tiles = TileClient::new(&nginx.url).unwrap();
    for index in [0u64, 299, 777, 1499] {
        let proof = tiles.inclusion_proof(index, 1500).await.unwrap();
        verify_inclusion(
            index,
            1500,
            &leaf_hash(&leaves[index as usize]),
            &proof,
            &checkpoint.root,
        )
        .unwrap();
    }
    let proof = tiles.consistency_proof(300, 1500).await.unwrap();
    verify_consistency(300, 1500, &old.root, &checkpoint.root, &proof).unwrap();
    assert_eq!(proof, server.client().consistency(300, 1500).await.unwrap());

    // nginx serves the mirror with the README's cache policy.
    let http = reqwest::Client::new();
    for (path, cache) in [
        ("checkpoint", "no-cache"),
        ("tile/0/000", "public, max-age=31536000, immutable"),
        ("tile/entries/000", "public, max-age=31536000, immutable"),
        ("tile/0/005.p/220", "public, max-age=5"),
    ] {
        let response = http
            .get(format!("{}/{path}", nginx.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], cache, "{path}");
    }

    // The one-off publisher cannot open a database the server holds...
    let other = dir.path().join("other");
    let out = rootlog_publish(&data, &other);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stop the server"), "{stderr}");
    // ...and with the server stopped it writes the same log.
    server.stop();
    let out = rootlog_publish(&data, &other);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (copy, copied) = verify_dir(&other, &log_key);
    assert_eq!((copy.size, copy.root), (1500, checkpoint.root));
    assert!(copied == leaves);
    assert_no_stale_partials(&other, 1500);
    // Run again: nothing to do, still fine.
    assert!(rootlog_publish(&data, &other).status.success());
    // A mirror directory of another log is refused.
    let foreign = tempfile::tempdir().unwrap();
    let foreign_server = Server::start(foreign.path(), &["--origin", "other.example/log"]);
    drop(foreign_server);
    let out = rootlog_publish(foreign.path(), &other);
    assert!(!out.status.success());
    drop(nginx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_publishing_leaves_a_complete_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    let site_arg = site.to_str().unwrap().to_string();
    let args = ["--publish-dir", site_arg.as_str()];
    let mut server = Server::start(&data, &args);
    let log_key = server.log_key();
    let tenants: Arc<Vec<Tenant>> =
        Arc::new((0..4).map(|i| Tenant::new(&format!("kill-{i}"))).collect());
    for t in tenants.iter() {
        register(&server, t).await;
    }
    let next = Arc::new(AtomicU64::new(0));
    let mut last = None::<Checkpoint>;
    for cycle in 0..4u64 {
        // Small concurrent batches: a new checkpoint every few entries keeps
        // the publisher busy, so the kill lands mid-publish.
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (client, tenants, next, stop) =
                (server.client(), tenants.clone(), next.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let note = tenants[(n % 4) as usize].statement(&day(n / 4), n);
                    if client.submit(&note).await.is_err() {
                        break;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700 + 300 * cycle)).await;
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for task in tasks {
            let _ = task.await;
        }
        // Whatever the kill interrupted, the published checkpoint is whole.
        let (checkpoint, _) = verify_dir(&site, &log_key);
        if let Some(prev) = &last {
            assert!(checkpoint.size >= prev.size, "the mirror went backwards");
        }
        eprintln!("cycle {cycle}: mirror at {} after SIGKILL", checkpoint.size);
        last = Some(checkpoint);
        server = Server::start(&data, &args);
    }
    // After a clean restart the mirror catches up to the log and sweeps stale partials.
    let note = server.client().checkpoint().await.unwrap();
    let current = verify_checkpoint(&log_key, &note).unwrap();
    wait_published(&site, current.size);
    server.stop();
    let (checkpoint, leaves) = verify_dir(&site, &log_key);
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (current.size, current.root)
    );
    assert!(
        checkpoint.size > 256,
        "too few entries to exercise full tiles"
    );
    assert_no_stale_partials(&site, checkpoint.size);
    // A kill can leave a temporary file behind, but only under a dot name
    // (never a tlog-tiles path; the README's nginx config refuses dot files).
    for path in walk(&site) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(name.ends_with(".tmp"), "unexpected file {}", path.display());
        }
    }
    assert_eq!(leaves.len() as u64, checkpoint.size);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out
}

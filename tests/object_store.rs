//! The mirror in S3-compatible object storage (`rootlog serve --publish-url
//! s3://...`, `rootlog publish --to s3://...`), on a real distributed
//! store: a three-node Garage cluster with replication factor 3
//! (tests/common/garage.rs). What is read back comes from Garage's website
//! endpoint, as auditors, witnesses and a restore would read it.
//!
//! - Concurrent submissions publish a complete log: every tile and bundle
//!   authenticates against the published checkpoint (the project's tile
//!   client, and an independent recomputation from the bundles); `rootlog
//!   audit` and a watching witness work against the bucket; cache headers
//!   are the README's.
//! - A planted object with other bytes stops the publisher (log line,
//!   metric, `/healthz`), is not overwritten, and the log sequences on; a
//!   bucket holding another log's checkpoint is refused.
//! - A Garage node killed (SIGKILL) or frozen (SIGSTOP) mid-run: publishing
//!   and reads go on; restarted, nothing is lost.
//! - An archive's export whose `published_to` is the bucket's website URL
//!   verifies with `rootlog verify-export` against the bucket alone.
//! - The log's data directory lost: restored from the bucket (its website
//!   endpoint, or `s3://` through the S3 API), it serves the same
//!   checkpoint, grows on consistently, and its witnesses keep cosigning.
//!
//! Without `garage` installed these tests fail if `CI` is set, and
//! otherwise print a loud notice and skip.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::export::generate;
use common::garage::{Garage, BUCKET};
use common::tiles::{verify_over_http, Grower};
use common::{register, Tenant, WatchingWitness};
use rootlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use rootlog::note::Checkpoint;
use rootlog::tiles::TileClient;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The checkpoint at `web` (a mirror's website URL), verified with `key`.
async fn published(web: &str, key: &rootlog::note::Verifier) -> Option<Checkpoint> {
    let note = TileClient::new(web).ok()?.checkpoint().await.ok()?;
    rootlog::client::verify_checkpoint(key, &String::from_utf8(note).ok()?).ok()
}

/// Waits (up to 90 s) until the mirror at `web` publishes size `size`.
async fn wait_published(web: &str, key: &rootlog::note::Verifier, size: u64) -> Checkpoint {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = published(web, key).await;
        if let Some(c) = got.as_ref().filter(|c| c.size == size) {
            return c.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the bucket is stuck at {:?}, expected {size}",
            got.map(|c| c.size)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn metrics(server: &common::Server) -> String {
    reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn health(server: &common::Server) -> serde_json::Value {
    server.client().get_json("/healthz").await.expect("healthz")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_publish_a_log_that_authenticates_from_the_bucket() {
    if !Garage::available("concurrent_submissions_publish_a_log_that_authenticates_from_the_bucket")
    {
        return;
    }
    let garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("s3://{BUCKET}/log");
    let server = garage
        .server(&data, &["--publish-url", &url, "--batch-wait-ms", "2"])
        .expect("the log starts");
    let log_key = server.log_key();
    let web = garage.web_url(0, "log");
    let grower = Grower::new(&server, 1200).await;
    grower.grow_to(&server, 300, 16).await;
    let old = wait_published(&web, &log_key, 300).await;
    verify_over_http(&web, &log_key, Some(&grower.leaves())).await;
    // A witness watches the log through the bucket only.
    let watcher = WatchingWitness::start(
        &dir.path().join("witness"),
        &old.origin,
        &log_key.vkey(),
        &web,
    );
    watcher.wait_cosigned(300).await;

    grower.grow_to(&server, 1200, 16).await;
    let checkpoint = wait_published(&web, &log_key, 1200).await;
    let leaves = grower.leaves();
    let (verified, _) = verify_over_http(&web, &log_key, Some(&leaves)).await;
    assert_eq!(verified.root, checkpoint.root);
    watcher.wait_cosigned(1200).await;
    // Proofs from the bucket's tiles alone verify against the signed roots.
    let tiles = TileClient::new(&web).unwrap();
    for index in [0u64, 299, 700, 1199] {
        let proof = tiles.inclusion_proof(index, 1200).await.unwrap();
        verify_inclusion(
            index,
            1200,
            &leaf_hash(&leaves[index as usize]),
            &proof,
            &checkpoint.root,
        )
        .unwrap();
    }
    let proof = tiles.consistency_proof(300, 1200).await.unwrap();
    verify_consistency(300, 1200, &old.root, &checkpoint.root, &proof).unwrap();

    // The website endpoint serves the README's cache policy.
    let http = reqwest::Client::new();
    for (path, cache) in [
        ("checkpoint", "no-cache"),
        ("tile/0/000", "public, max-age=31536000, immutable"),
        ("tile/entries/000", "public, max-age=31536000, immutable"),
        ("tile/0/004.p/176", "public, max-age=5"),
        ("locator/tiles-0/2020-01", "no-cache"),
    ] {
        let response = http.get(format!("{web}/{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], cache, "{path}");
    }

    // The auditor's page is in the bucket too (when this build carries it),
    // as a file that may change with the log's version, not an immutable one.
    if rootlog::page::built() {
        let response = http.get(format!("{web}/index.html")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
    }

    // An auditor of one day, against the bucket alone.
    let state = dir.path().join("audit.state");
    let (code, out, err) = garage.rootlog(&[
        "audit",
        "--log",
        &web,
        "--log-key",
        &log_key.vkey(),
        "--state",
        p(&state),
        "--tenant",
        "tiles-0",
        "--date",
        &common::day(5),
        "--max-delay",
        "none",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    // Health and metrics show the publisher caught up.
    let body = health(&server).await;
    let publishing = &body["publishing"][0];
    assert_eq!(publishing["target"], url.as_str(), "{body}");
    assert_eq!(publishing["state"], "publishing", "{body}");
    assert_eq!(publishing["published_size"], 1200, "{body}");
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains(&format!(
            "rootlog_publish_lag_entries{{target=\"{url}\"}} 0"
        )),
        "{metrics}"
    );

    // `rootlog publish --to s3://...` with the server stopped writes the
    // same log under another prefix.
    drop(server);
    common::released(&data.join("db"));
    let (code, out, err) = garage.rootlog(&[
        "publish",
        "--data",
        p(&data),
        "--to",
        &format!("s3://{BUCKET}/copy"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let copy = garage.web_url(0, "copy");
    let (again, _) = verify_over_http(&copy, &log_key, Some(&leaves)).await;
    assert_eq!((again.size, again.root), (1200, checkpoint.root));
    // Again: nothing to do, still fine (every tile is there with its bytes).
    let (code, out, err) = garage.rootlog(&[
        "publish",
        "--data",
        p(&data),
        "--to",
        &format!("s3://{BUCKET}/copy"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_planted_tile_stops_the_publisher_and_is_never_overwritten() {
    if !Garage::available("a_planted_tile_stops_the_publisher_and_is_never_overwritten") {
        return;
    }
    let garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("s3://{BUCKET}/log");
    // Size 1 is the tenant's registration; size 2 its first statement,
    // whose partial bundle someone wrote first with other bytes.
    let planted = b"not this log's entries".to_vec();
    garage.put("log/tile/entries/000.p/2", &planted).await;
    let server = garage
        .server(&data, &["--publish-url", &url])
        .expect("the log starts");
    let log_key = server.log_key();
    let web = garage.web_url(0, "log");
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    wait_published(&web, &log_key, 1).await;
    let (status, _) = server
        .client()
        .submit(&tenant.statement(&common::day(0), 0))
        .await
        .unwrap();
    assert_eq!(status, 201);

    // The publisher stops and says so: /healthz, the metric, the log line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let body = health(&server).await;
        if body["publishing"][0]["state"] == "stopped" {
            break body;
        }
        assert!(Instant::now() < deadline, "never stopped: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["status"], "degraded", "{body}");
    let error = body["publishing"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("tile/entries/000.p/2") && error.contains("other bytes"),
        "{error}"
    );
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains(&format!("rootlog_publish_stopped{{target=\"{url}\"}} 1")),
        "{metrics}"
    );
    assert!(server.stderr().contains("PUBLISHING STOPPED"));

    // Nothing was overwritten, and the checkpoint that needed it is not out.
    let got = reqwest::get(format!("{web}/tile/entries/000.p/2"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), planted.as_slice());
    assert_eq!(published(&web, &log_key).await.map(|c| c.size), Some(1));

    // The log sequences on.
    let (status, entry) = server
        .client()
        .submit(&tenant.statement(&common::day(1), 1))
        .await
        .unwrap();
    assert_eq!((status, entry.index), (201, 2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(published(&web, &log_key).await.map(|c| c.size), Some(1));
    drop(server);

    // Another log is refused the bucket that holds this log's checkpoint.
    let other = dir.path().join("other");
    let refused = garage.server(
        &other,
        &["--publish-url", &url, "--origin", "other.example/log"],
    );
    let err = refused
        .err()
        .expect("another log must not start on this bucket");
    assert!(err.contains("another log's mirror"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_garage_node_does_not_stop_publishing_or_reads() {
    if !Garage::available("a_lost_garage_node_does_not_stop_publishing_or_reads") {
        return;
    }
    let mut garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = garage
        .server(
            &data,
            &[
                "--publish-url",
                &format!("s3://{BUCKET}/log"),
                "--batch-wait-ms",
                "2",
            ],
        )
        .expect("the log starts");
    let log_key = server.log_key();
    let web = garage.web_url(0, "log");
    let grower = Grower::new(&server, 1000).await;
    grower.grow_to(&server, 200, 16).await;
    wait_published(&web, &log_key, 200).await;

    // A node crashes mid-run: the other two are a quorum.
    garage.kill(2);
    grower.grow_to(&server, 500, 16).await;
    wait_published(&web, &log_key, 500).await;
    verify_over_http(&web, &log_key, Some(&grower.leaves())).await;

    // It comes back; another one hangs instead (SIGSTOP).
    garage.restart(2);
    garage.wait_healthy();
    garage.freeze(1, true);
    grower.grow_to(&server, 800, 16).await;
    wait_published(&web, &log_key, 800).await;
    verify_over_http(&web, &log_key, Some(&grower.leaves())).await;
    garage.freeze(1, false);
    garage.wait_healthy();

    // All three up: nothing lost, read through each node in turn.
    grower.grow_to(&server, 1000, 16).await;
    wait_published(&web, &log_key, 1000).await;
    let leaves = grower.leaves();
    for node in 0..3 {
        let (checkpoint, _) =
            verify_over_http(&garage.web_url(node, "log"), &log_key, Some(&leaves)).await;
        assert_eq!(checkpoint.size, 1000);
    }
    let body = health(&server).await;
    assert_eq!(body["publishing"][0]["state"], "publishing", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_whose_disk_is_lost_is_restored_from_the_bucket_and_grows_on() {
    if !Garage::available("a_log_whose_disk_is_lost_is_restored_from_the_bucket_and_grows_on") {
        return;
    }
    const ORIGIN: &str = "s3-restore.example/log";
    let garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("s3://{BUCKET}/log");
    // The first start makes the key; the witnesses need its vkey; the
    // operator keeps the key file apart from the data (README: back it up once).
    let mut first = garage
        .server(&data, &["--origin", ORIGIN])
        .expect("the log starts");
    let log_key = first.log_key();
    first.stop();
    let key_file = dir.path().join("log.skey");
    std::fs::copy(data.join("log.skey"), &key_file).unwrap();
    let w1 = WatchingWitness::start_named(
        &dir.path().join("w1"),
        "w1.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_key.vkey(),
    );
    let w2 = WatchingWitness::start_named(
        &dir.path().join("w2"),
        "w2.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_key.vkey(),
    );
    let flags = [
        "--witness".to_string(),
        format!("{}@{}", w1.vkey, w1.url),
        "--witness".to_string(),
        format!("{}@{}", w2.vkey, w2.url),
        "--witness-interval".to_string(),
        "100ms".to_string(),
        "--publish-url".to_string(),
        url.clone(),
        "--batch-wait-ms".to_string(),
        "2".to_string(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = garage.server(&data, &flags).expect("the log starts");
    let web = garage.web_url(0, "log");
    let grower = Grower::new(&server, 600).await;
    grower.grow_to(&server, 300, 16).await;
    w1.wait_cosigned(300).await;
    w2.wait_cosigned(300).await;
    let old = wait_published(&web, &log_key, 300).await;

    // The disk is gone.
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();

    // Restored from the bucket alone, with the kept key: through its
    // website endpoint, and through the S3 API (a private bucket).
    let from_web = dir.path().join("restored-web");
    let restored = dir.path().join("restored");
    for (source, into) in [(web.clone(), &from_web), (url.clone(), &restored)] {
        let (code, out, err) = garage.rootlog(&[
            "restore",
            "--from-mirror",
            &source,
            "--data",
            p(into),
            "--key",
            p(&key_file),
        ]);
        assert_eq!(code, 0, "{source}: {out}{err}");
        assert!(out.contains("300"), "{source}: {out}");
        let (code, out, err) = garage.rootlog(&["fsck", "--data", p(into)]);
        assert_eq!(code, 0, "{source}: {out}{err}");
    }
    // Nothing of the bucket's copy is left beside the restore.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let server = garage
        .server(&restored, &flags)
        .expect("the restored log starts");
    let served = server.client().checkpoint().await.unwrap();
    let served = rootlog::client::verify_checkpoint(&log_key, &served).unwrap();
    assert_eq!((served.size, served.root), (old.size, old.root));

    // It grows on: the same tree, witnessed, published.
    grower.grow_to(&server, 600, 16).await;
    w1.wait_cosigned(600).await;
    w2.wait_cosigned(600).await;
    let new = wait_published(&web, &log_key, 600).await;
    let proof = TileClient::new(&web)
        .unwrap()
        .consistency_proof(300, 600)
        .await
        .unwrap();
    verify_consistency(300, 600, &old.root, &new.root, &proof).unwrap();
    verify_over_http(&web, &log_key, Some(&grower.leaves())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_outage_delays_publishing_but_never_sequencing() {
    if !Garage::available("a_store_outage_delays_publishing_but_never_sequencing") {
        return;
    }
    let mut garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("s3://{BUCKET}/log");
    let flags = ["--publish-url", url.as_str(), "--batch-wait-ms", "2"];
    let server = garage.server(&data, &flags).expect("the log starts");
    let log_key = server.log_key();
    let web = garage.web_url(0, "log");
    let grower = Grower::new(&server, 400).await;
    grower.grow_to(&server, 100, 8).await;
    wait_published(&web, &log_key, 100).await;

    // The whole store goes down: submissions are still acknowledged, the
    // publisher retries, and the lag shows.
    for node in 0..3 {
        garage.kill(node);
    }
    grower.grow_to(&server, 300, 8).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let body = health(&server).await;
        let p = &body["publishing"][0];
        if p["state"] == "retrying" && p["lag_entries"] == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "no retrying state: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        body["status"], "ok",
        "an outage of the mirror alone: {body}"
    );
    assert_eq!(body["tree_size"], 300, "{body}");
    let text = metrics(&server).await;
    assert!(
        text.contains(&format!(
            "rootlog_publish_lag_entries{{target=\"{url}\"}} 200"
        )),
        "{text}"
    );
    assert!(
        !text.contains(&format!("rootlog_publish_failures{{target=\"{url}\"}} 0\n")),
        "{text}"
    );

    // The log restarts while the store is still down, then the store comes
    // back: the publisher catches up from the bucket's own checkpoint.
    drop(server);
    let server = garage
        .server(&data, &flags)
        .expect("the log starts without its store");
    grower.grow_to(&server, 400, 8).await;
    for node in 0..3 {
        garage.restart(node);
    }
    garage.wait_healthy();
    wait_published(&web, &log_key, 400).await;
    verify_over_http(&web, &log_key, Some(&grower.leaves())).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = health(&server).await;
        let p = &body["publishing"][0];
        if p["state"] == "publishing" && p["lag_entries"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never caught up: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_verifies_against_the_bucket_alone() {
    if !Garage::available("an_export_verifies_against_the_bucket_alone") {
        return;
    }
    let garage = Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("s3://{BUCKET}/log");
    let server = garage
        .server(&dir.path().join("data"), &["--publish-url", &url])
        .expect("the log starts");
    let log_key = server.log_key();
    let web = garage.web_url(0, "log");
    // The archive's export names the bucket's web endpoint as where its
    // roots are published; its statements go to the log.
    let signer = rootlog::note::Signer::generate("acme").unwrap();
    let options = generate::Options {
        tenant: "acme".into(),
        first_day: time::OffsetDateTime::now_utc().date() - time::Duration::days(6),
        days: 5,
        records_per_day: 200,
        seed: 7,
        published_to: web.clone(),
        swap_statements: None,
    };
    let export = generate::generate(&signer, &options);
    let client = server.client();
    let (status, _) = client
        .add_tenant(common::ADMIN_TOKEN, "acme", &signer.vkey())
        .await
        .unwrap();
    assert_eq!(status, 201);
    for statement in &export.statements {
        let (status, _) = client.submit(statement).await.unwrap();
        assert_eq!(status, 201);
    }
    wait_published(&web, &log_key, 6).await;
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec_pretty(&export.manifest).unwrap(),
    )
    .unwrap();
    // No --log: verify-export reads published_to, the bucket.
    let state = dir.path().join("state");
    let (code, out, err) = garage.rootlog(&[
        "verify-export",
        p(&manifest),
        "--log-key",
        &log_key.vkey(),
        "--state",
        p(&state),
        "--max-delay",
        "none",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.trim_end().ends_with("VERIFIED"), "{out}");
    assert!(out.contains(&web), "{out}");
}

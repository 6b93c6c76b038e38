//! The log's tlog-tiles endpoints against the real server over HTTP.
//!
//! One log grows through sizes 0, 1, 255, 256, 257, 1000, 65535, 65536 and
//! 70000 plus two sizes drawn at random on the way (70000 is the
//! spec's example, beyond 65536 so level-2 tiles exist). At each size every
//! hash tile equals the hashes recomputed from the leaves, the tiles fold to
//! the checkpoint root, entry bundles decode to the acknowledged leaves,
//! proofs built from tiles equal the log's `/v1/proof/*` answers, and tiles
//! beyond the tree are 404. Plus the spec's path examples as a pure test,
//! cache headers, and strict path parsing over HTTP.

mod common;

use common::tiles::{verify_over_http, Grower};
use common::Server;
use rootlog::client::decode_proof;
use rootlog::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use rootlog::note::Checkpoint;
use rootlog::tiles::{
    entries_path, partial_tiles, tile_path, tile_width, tiles_for_size, TileClient, TileId,
};

/// The spec's example: 70000 leaves give 273 full level-0 tiles plus width
/// 112, one full level-1 tile plus width 17, and a level-2 tile of width 1.
#[test]
fn spec_example_70000_tiles_and_paths() {
    let tiles = tiles_for_size(70000);
    let paths: Vec<String> = tiles.iter().map(|&(t, w)| tile_path(t, w)).collect();
    assert_eq!(paths.len(), 273 + 1 + 1 + 1 + 1);
    assert_eq!(paths[0], "tile/0/000");
    assert_eq!(paths[272], "tile/0/272");
    assert_eq!(paths[273], "tile/0/273.p/112");
    assert_eq!(paths[274], "tile/1/000");
    assert_eq!(paths[275], "tile/1/001.p/17");
    assert_eq!(paths[276], "tile/2/000.p/1");
    assert_eq!(
        partial_tiles(70000)
            .iter()
            .map(|&(t, w)| tile_path(t, w))
            .collect::<Vec<_>>(),
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    );
    assert_eq!(entries_path(273, 112), "tile/entries/273.p/112");
    assert_eq!(
        tile_path(
            TileId {
                level: 0,
                index: 1234067
            },
            256
        ),
        "tile/0/x001/x234/067"
    );
}

struct Http {
    base: String,
    http: reqwest::Client,
}

impl Http {
    async fn get(&self, path: &str) -> (u16, Option<String>, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}/{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        (status, cache, response.bytes().await.unwrap().to_vec())
    }

    async fn status(&self, path: &str) -> u16 {
        self.get(path).await.0
    }
}

/// Proofs from tiles equal the log's proofs and verify, for a spread of
/// indexes and every earlier checkpointed size.
async fn check_proofs(server: &Server, checkpoint: &Checkpoint, earlier: &[Checkpoint]) {
    let tiles = TileClient::new(&server.url).unwrap();
    let log = server.client();
    let size = checkpoint.size;
    if size == 0 {
        return;
    }
    let mut indexes = vec![0, size - 1, size / 2, size / 3];
    indexes.extend([255u64, 256, 65535, 65536].iter().filter(|&&i| i < size));
    for index in indexes {
        let from_tiles = tiles.inclusion_proof(index, size).await.unwrap();
        let answer = log
            .get_json(&format!("/v1/proof/inclusion?index={index}&size={size}"))
            .await
            .unwrap();
        let from_log: Vec<String> =
            serde_json::from_value(answer["inclusion_proof"].clone()).unwrap();
        assert_eq!(
            from_tiles,
            decode_proof(&from_log).unwrap(),
            "inclusion {index} @ {size}"
        );
        let leaf: Hash = tiles
            .node_hashes(&[rootlog::merkle::NodeId::new(0, index)], size)
            .await
            .unwrap()[0];
        verify_inclusion(index, size, &leaf, &from_tiles, &checkpoint.root).unwrap();
    }
    for old in earlier.iter().filter(|c| c.size > 0 && c.size <= size) {
        let from_tiles = tiles.consistency_proof(old.size, size).await.unwrap();
        let from_log = log.consistency(old.size, size).await.unwrap();
        assert_eq!(from_tiles, from_log, "consistency {} -> {size}", old.size);
        verify_consistency(old.size, size, &old.root, &checkpoint.root, &from_tiles).unwrap();
        // The partial tiles of the old size are still served: its root
        // comes out of tiles too.
        assert_eq!(tiles.root(old.size).await.unwrap(), old.root);
    }
}

/// 404 for every tile not (fully) inside the tree; cache headers on the rest.
async fn check_edges(http: &Http, size: u64) {
    for level in 0u8..4 {
        let next_index = tiles_for_size(size)
            .iter()
            .filter(|(t, _)| t.level == level)
            .count() as u64;
        // The first tile that does not exist at all, full or partial.
        let absent = TileId {
            level,
            index: next_index,
        };
        assert_eq!(http.status(&tile_path(absent, 256)).await, 404);
        assert_eq!(http.status(&tile_path(absent, 1)).await, 404);
        if level == 0 {
            assert_eq!(http.status(&entries_path(absent.index, 256)).await, 404);
            assert_eq!(http.status(&entries_path(absent.index, 1)).await, 404);
        }
    }
    for (tile, width) in partial_tiles(size) {
        // The partial tile is served, with a short cache; the full tile and
        // anything wider than what exists is 404.
        let (status, cache, body) = http.get(&tile_path(tile, width)).await;
        assert_eq!((status, body.len()), (200, usize::from(width) * 32));
        assert_eq!(cache.as_deref(), Some("public, max-age=5"));
        assert_eq!(http.status(&tile_path(tile, 256)).await, 404);
        if width < 255 {
            assert_eq!(http.status(&tile_path(tile, width + 1)).await, 404);
        }
        if tile.level == 0 {
            let (status, cache, _) = http.get(&entries_path(tile.index, width)).await;
            assert_eq!(status, 200);
            assert_eq!(cache.as_deref(), Some("public, max-age=5"));
            assert_eq!(http.status(&entries_path(tile.index, 256)).await, 404);
        }
    }
    if let Some(&(tile, 256)) = tiles_for_size(size).first() {
        let (status, cache, body) = http.get(&tile_path(tile, 256)).await;
        assert_eq!((status, body.len()), (200, 8192));
        let response = http
            .http
            .get(format!("{}/{}", http.base, tile_path(tile, 256)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert_eq!(
            cache.as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        let (status, cache, _) = http.get(&entries_path(0, 256)).await;
        assert_eq!(status, 200);
        assert_eq!(
            cache.as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        // Any narrower partial of an existing tile is served too (the partial
        // of some earlier size), and is a prefix of the full tile.
        let (status, _, partial) = http.get(&tile_path(tile, 17)).await;
        assert_eq!(status, 200);
        assert_eq!(partial, body[..17 * 32]);
        assert_eq!(tile_width(tile, size), 256);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tiles_match_the_tree_at_many_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--batch-wait-ms", "20", "--max-batch", "4096"],
    );
    let log_key = server.log_key();
    let http = Http {
        base: server.url.clone(),
        http: reqwest::Client::new(),
    };
    // Sizes 0 and 1 on a log of their own: the big one starts with its 35
    // registrations (each a tenant-key/v1 entry).
    {
        let small_dir = tempfile::tempdir().unwrap();
        let small = Server::start(small_dir.path(), &[]);
        let small_key = small.log_key();
        let (empty, _) = verify_over_http(&small.url, &small_key, Some(&[])).await;
        assert_eq!(empty.size, 0);
        let one = Grower::new(&small, 1).await;
        let (checkpoint, _) = verify_over_http(&small.url, &small_key, Some(&one.leaves())).await;
        assert_eq!(checkpoint.size, 1);
        check_proofs(&small, &checkpoint, &[empty]).await;
    }
    let grower = Grower::new(&server, 70_000).await;
    let mut earlier: Vec<Checkpoint> = Vec::new();
    // Two random sizes between the fixed ones, printed so a failure can be repeated.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(12345);
    let (random_small, random_large) = (1001 + nanos % 60_000, 65_537 + nanos % 4_000);
    eprintln!("random tile sizes: {random_small}, {random_large}");
    for size in [
        255u64,
        256,
        257,
        1000,
        random_small,
        65_535,
        65_536,
        random_large,
        70_000,
    ] {
        grower.grow_to(&server, size, 64).await;
        let leaves = grower.leaves();
        let (checkpoint, _) = verify_over_http(&server.url, &log_key, Some(&leaves)).await;
        assert_eq!(checkpoint.size, size);
        check_proofs(&server, &checkpoint, &earlier).await;
        check_edges(&http, size).await;
        earlier.push(checkpoint);
    }
    // Level-2 tile at 70000: width 1, the root of the first 65536 leaves.
    let (status, _, body) = http.get("tile/2/000.p/1").await;
    assert_eq!((status, body.len()), (200, 32));
    let first = leaf_hash(&grower.leaves()[0]);
    let (_, _, tile0) = http.get("tile/0/000").await;
    assert_eq!(tile0[..32], first);
}

#[tokio::test]
async fn tile_paths_are_parsed_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let http = Http {
        base: server.url.clone(),
        http: reqwest::Client::new(),
    };
    for bad in [
        "tile/00/000",
        "tile/64/000",
        "tile/0/0",
        "tile/0/x000/001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000/",
        "tile/0/%30%30%30",
        "tile/entries/x000/000",
        "tile/data/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
    ] {
        let (status, _, body) = http.get(bad).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("bad_tile_path"), "{bad}: {body}");
    }
    // Well-formed but absent in the empty tree: 404, never an empty tile.
    for absent in [
        "tile/0/000",
        "tile/0/000.p/1",
        "tile/63/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/000.p/1",
    ] {
        let (status, _, body) = http.get(absent).await;
        assert_eq!(status, 404, "{absent}");
        assert!(String::from_utf8_lossy(&body).contains("tile_not_found"));
    }
}

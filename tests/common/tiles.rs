//! Helpers for the tlog-tiles tests: growing a real log to an exact size
//! over HTTP, and checking a whole log through its tiles alone, either over
//! HTTP (the log's own endpoint or a mirror behind nginx) or from a
//! published directory on disk.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rootlog::client::verify_checkpoint;
use rootlog::merkle::{leaf_hash, root_plan, Frontier, Hash, NodeId, EMPTY_ROOT};
use rootlog::note::{Checkpoint, Verifier};
use rootlog::tiles::{
    decode_bundle, entries_path, fold_right, hash_at, node_location, parse_tile, tile_path,
    tiles_for_size, TileClient, TileId, FULL_TILE_BYTES, TILE_WIDTH,
};

use super::{day, register, Server, Tenant};

/// Statements per tenant at most: one per day from 2020-01-01, all before today.
const DAYS_PER_TENANT: u64 = 2000;

/// Submits statements to a log until it holds `target` entries.
pub struct Grower {
    tenants: Vec<Tenant>,
    /// Entries the log held when the grower had registered its tenants.
    base: u64,
    next: Arc<AtomicU64>,
    /// index → acknowledged entry bytes (the registrations' key-change
    /// entries, then the statements).
    pub acknowledged: Arc<Mutex<BTreeMap<u64, Vec<u8>>>>,
}

impl Grower {
    /// Registers enough tenants on `server` for `capacity` statements (each
    /// registration is an entry of the log: its tenant-key/v1 note).
    pub async fn new(server: &Server, capacity: u64) -> Grower {
        let count = capacity.div_ceil(DAYS_PER_TENANT).max(1);
        let mut tenants = Vec::new();
        for i in 0..count {
            let tenant = Tenant::new(&format!("tiles-{i}"));
            register(server, &tenant).await;
            tenants.push(tenant);
        }
        let client = server.client();
        let health = client.get_json("/healthz").await.expect("healthz");
        let base = health["tree_size"].as_u64().expect("tree size");
        let mut acknowledged = BTreeMap::new();
        for i in 0..base {
            let entry = client.entry(i).await.expect("registration entry");
            acknowledged.insert(i, entry.statement.into_bytes());
        }
        Grower {
            tenants,
            base,
            next: Arc::new(AtomicU64::new(0)),
            acknowledged: Arc::new(Mutex::new(acknowledged)),
        }
    }

    /// Statement number `n` (a distinct (tenant, date) for every n).
    fn statement(&self, n: u64) -> Vec<u8> {
        let t = self.tenants.len() as u64;
        self.tenants[(n % t) as usize].statement(&day(n / t), n)
    }

    /// Submits with `concurrency` clients until the grower's registrations
    /// and statements number `target` (every submission acknowledged): when
    /// nobody else writes to the log, the checkpoint is then exactly `target`.
    pub async fn grow_to(&self, server: &Server, target: u64, concurrency: usize) {
        let statements = target.saturating_sub(self.base);
        let notes: Arc<Vec<(u64, Vec<u8>)>> = Arc::new(
            (self.next.load(Ordering::SeqCst)..statements)
                .map(|n| (n, self.statement(n)))
                .collect(),
        );
        let cursor = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, notes, cursor, acked) = (
                server.client(),
                notes.clone(),
                cursor.clone(),
                self.acknowledged.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let k = cursor.fetch_add(1, Ordering::SeqCst) as usize;
                    let Some((_, note)) = notes.get(k) else { break };
                    let (status, entry) = client.submit(note).await.expect("submit");
                    assert_eq!(status, 201);
                    acked.lock().unwrap().insert(entry.index, note.clone());
                }
            }));
        }
        for task in tasks {
            task.await.expect("submitter");
        }
        self.next.store(statements, Ordering::SeqCst);
        assert_eq!(
            self.acknowledged.lock().unwrap().len() as u64,
            self.base + statements
        );
    }

    /// The acknowledged leaves in index order (0..size).
    pub fn leaves(&self) -> Vec<Vec<u8>> {
        let acked = self.acknowledged.lock().unwrap();
        acked
            .iter()
            .enumerate()
            .map(|(i, (&index, note))| {
                assert_eq!(i as u64, index, "acknowledged indexes have a gap");
                note.clone()
            })
            .collect()
    }
}

/// Every perfect node at a tile level (levels 0, 8, 16, ...) of the tree
/// over `leaves`, recomputed with `Frontier`, and the root.
pub fn recompute(leaves: &[Vec<u8>]) -> (HashMap<NodeId, Hash>, Hash) {
    let mut nodes = HashMap::new();
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier.append(leaf_hash(leaf), |id, h| {
            if id.level % 8 == 0 {
                nodes.insert(id, *h);
            }
        });
    }
    (nodes, frontier.root())
}

/// What the tiles of a tree must hold: tile → its hashes.
fn expected_tiles(nodes: &HashMap<NodeId, Hash>, size: u64) -> Vec<((TileId, u16), Vec<Hash>)> {
    tiles_for_size(size)
        .into_iter()
        .map(|(tile, width)| {
            let hashes = (0..u64::from(width))
                .map(|j| nodes[&NodeId::new(tile.level * 8, tile.index * 256 + j)])
                .collect();
            ((tile, width), hashes)
        })
        .collect()
}

/// Checks the whole log behind `base` through tlog-tiles only: the signed
/// checkpoint, every hash tile against hashes recomputed from the entry
/// bundles, the tiles' fold against the checkpoint root, and (if given) the
/// bundles against the acknowledged leaves. Returns the checkpoint and the leaves.
pub async fn verify_over_http(
    base: &str,
    log_key: &Verifier,
    acknowledged: Option<&[Vec<u8>]>,
) -> (Checkpoint, Vec<Vec<u8>>) {
    let client = TileClient::new(base).unwrap();
    let note = client.checkpoint().await.expect("checkpoint");
    let checkpoint =
        verify_checkpoint(log_key, &String::from_utf8(note).unwrap()).expect("log signature");
    let size = checkpoint.size;
    let mut leaves = Vec::new();
    for (tile, width) in tiles_for_size(size)
        .into_iter()
        .filter(|(t, _)| t.level == 0)
    {
        let bundle = client.entries(tile.index, width).await.expect("bundle");
        assert_eq!(bundle.len(), usize::from(width));
        leaves.extend(bundle);
    }
    assert_eq!(leaves.len() as u64, size);
    if let Some(acked) = acknowledged {
        assert!(
            leaves.as_slice() == acked,
            "entry bundles differ from the acknowledged leaves"
        );
    }
    let (nodes, root) = recompute(&leaves);
    assert_eq!(
        root, checkpoint.root,
        "leaves do not hash to the signed root"
    );
    for ((tile, width), want) in expected_tiles(&nodes, size) {
        let got = client.tile(tile, width).await.expect("tile");
        assert!(
            got == want,
            "{} differs from the recomputed hashes",
            tile_path(tile, width)
        );
    }
    let folded = client.root(size).await.expect("root from tiles");
    assert_eq!(
        folded, checkpoint.root,
        "tiles do not fold to the signed root"
    );
    (checkpoint, leaves)
}

/// Reads `rel` under `dir`, or the full tile (truncated to `width` hashes)
/// when a partial is gone, as a tile client would.
fn read_tile_file(dir: &Path, tile: TileId, width: u16) -> Option<Vec<Hash>> {
    let bytes = std::fs::read(dir.join(tile_path(tile, width)))
        .ok()
        .or_else(|| {
            let mut full = std::fs::read(dir.join(tile_path(tile, TILE_WIDTH))).ok()?;
            assert_eq!(full.len(), FULL_TILE_BYTES);
            full.truncate(usize::from(width) * 32);
            Some(full)
        })?;
    parse_tile(&bytes)
}

/// Checks a published mirror directory from disk: the checkpoint is signed,
/// every tile and bundle it needs exists, matches hashes recomputed from
/// the bundles, and folds to the signed root. Returns the checkpoint and leaves.
pub fn verify_dir(dir: &Path, log_key: &Verifier) -> (Checkpoint, Vec<Vec<u8>>) {
    let note = std::fs::read_to_string(dir.join("checkpoint")).expect("published checkpoint");
    let checkpoint = verify_checkpoint(log_key, &note).expect("log signature");
    let size = checkpoint.size;
    let mut leaves = Vec::new();
    for (tile, width) in tiles_for_size(size)
        .into_iter()
        .filter(|(t, _)| t.level == 0)
    {
        let path = dir.join(entries_path(tile.index, width));
        let bytes = std::fs::read(&path)
            .or_else(|_| std::fs::read(dir.join(entries_path(tile.index, TILE_WIDTH))))
            .unwrap_or_else(|_| panic!("{} is missing", path.display()));
        let bundle = decode_bundle(&bytes).expect("bundle decodes");
        leaves.extend(bundle.into_iter().take(usize::from(width)));
    }
    assert_eq!(leaves.len() as u64, size);
    let (nodes, root) = recompute(&leaves);
    assert_eq!(root, checkpoint.root);
    let mut tiles = HashMap::new();
    for ((tile, width), want) in expected_tiles(&nodes, size) {
        let got = read_tile_file(dir, tile, width)
            .unwrap_or_else(|| panic!("{} is missing", tile_path(tile, width)));
        assert!(got == want, "{} differs", tile_path(tile, width));
        tiles.insert(tile, got);
    }
    let hashes: Vec<Hash> = root_plan(size)
        .into_iter()
        .map(|id| {
            let loc = node_location(id).unwrap();
            hash_at(&loc, &tiles[&loc.tile]).unwrap()
        })
        .collect();
    assert_eq!(fold_right(&hashes).unwrap_or(EMPTY_ROOT), checkpoint.root);
    (checkpoint, leaves)
}

/// Every `*.p` directory under `dir/tile`, relative to `dir`.
pub fn partial_dirs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("tile")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.extension().is_some_and(|e| e == "p") {
                    out.push(path.strip_prefix(dir).unwrap().display().to_string());
                }
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

//! A tlog-tiles client: fetches a log's checkpoint and hash tiles over HTTP
//! and computes consistency proofs and roots from them.
//!
//! Nothing fetched here is trusted: callers verify the proof it builds
//! against signed checkpoints (`verify_consistency`), so a tile that does not
//! hash to a verified root is caught there. Responses are size-capped.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rootlog::merkle::{consistency_plan, root_plan, Hash, NodeId, EMPTY_ROOT};

use crate::tiles::{self, TileId, FULL_TILE_BYTES, TILE_WIDTH};

/// Largest checkpoint accepted (a note with many cosignatures fits easily).
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;

/// A client for one log's tlog-tiles URL prefix.
#[derive(Clone)]
pub struct TileClient {
    base: String,
    http: reqwest::Client,
}

impl TileClient {
    /// `base` is the URL prefix (`<base>/checkpoint`, `<base>/tile/...`).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("rootlog-witness/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(TileClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The log's current checkpoint bytes (a signed note, not yet verified).
    pub async fn checkpoint(&self) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}/checkpoint", self.base);
        self.get(&url, MAX_CHECKPOINT_BYTES)
            .await?
            .ok_or_else(|| anyhow!("{url}: 404 Not Found"))
    }

    /// The first `width` hashes of tile `tile`: the partial tile of that
    /// width, or (if it is gone) the full tile, truncated.
    pub async fn tile(&self, tile: TileId, width: u16) -> anyhow::Result<Vec<Hash>> {
        if width == 0 || width > TILE_WIDTH {
            bail!("tile {tile:?}: bad width {width}");
        }
        let url = format!("{}/{}", self.base, tiles::tile_path(tile, width));
        let mut bytes = self.get(&url, FULL_TILE_BYTES).await?;
        if bytes.is_none() && width < TILE_WIDTH {
            // The log may delete a partial tile once the full one exists.
            let full = format!("{}/{}", self.base, tiles::tile_path(tile, TILE_WIDTH));
            bytes = self.get(&full, FULL_TILE_BYTES).await?;
            if let Some(b) = &mut bytes {
                if b.len() != FULL_TILE_BYTES {
                    bail!("{full}: full tile has {} bytes", b.len());
                }
                b.truncate(usize::from(width) * 32);
            }
        }
        let bytes = bytes.ok_or_else(|| anyhow!("{url}: 404 Not Found"))?;
        let hashes = tiles::parse_tile(&bytes)
            .ok_or_else(|| anyhow!("{url}: not a whole number of hashes"))?;
        if hashes.len() != usize::from(width) {
            bail!("{url}: {} hashes, expected {width}", hashes.len());
        }
        Ok(hashes)
    }

    /// The hashes of perfect nodes of the tree of `size` leaves, read from
    /// the tiles that tree size implies (each tile fetched once).
    pub async fn node_hashes(&self, nodes: &[NodeId], size: u64) -> anyhow::Result<Vec<Hash>> {
        let mut cache: HashMap<TileId, Vec<Hash>> = HashMap::new();
        let mut out = Vec::with_capacity(nodes.len());
        for &node in nodes {
            let loc =
                tiles::node_location(node).ok_or_else(|| anyhow!("node {node:?} cannot exist"))?;
            let width = tiles::tile_width(loc.tile, size);
            if tiles::width_needed(&loc) > width {
                bail!("node {node:?} is not complete in a tree of {size} leaves");
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(loc.tile) {
                slot.insert(self.tile(loc.tile, width).await?);
            }
            let hash = cache
                .get(&loc.tile)
                .and_then(|t| tiles::hash_at(&loc, t))
                .ok_or_else(|| anyhow!("tile {:?} too short for node {node:?}", loc.tile))?;
            out.push(hash);
        }
        Ok(out)
    }

    /// The consistency proof from `old` to `new` (0 < old ≤ new), built from tiles.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> anyhow::Result<Vec<Hash>> {
        let plan = consistency_plan(old, new).context("consistency proof sizes")?;
        let hashes = self.node_hashes(&plan.nodes, new).await?;
        Ok(plan.assemble(&hashes)?)
    }

    /// The root of the tree of `size` leaves, computed from tiles.
    pub async fn root(&self, size: u64) -> anyhow::Result<Hash> {
        let nodes = root_plan(size);
        let hashes = self.node_hashes(&nodes, size).await?;
        Ok(tiles::fold_right(&hashes).unwrap_or(EMPTY_ROOT))
    }

    /// GETs `url`; `None` on 404; an error on other non-200 answers or a
    /// body longer than `cap`.
    async fn get(&self, url: &str, cap: usize) -> anyhow::Result<Option<Vec<u8>>> {
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            bail!("GET {url}: {}", resp.status());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.with_context(|| format!("GET {url}"))? {
            if body.len() + chunk.len() > cap {
                bail!("GET {url}: response larger than {cap} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }
}

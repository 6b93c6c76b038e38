//! A tlog-tiles client: fetches a log's checkpoint, hash tiles and entry
//! bundles over HTTP (a log, a static mirror, an object store's web
//! endpoint) or from a mirror directory on disk, and computes node hashes,
//! roots, inclusion and consistency proofs from them.
//!
//! Nothing fetched here is trusted: callers verify what it builds against a
//! signed checkpoint (`verify_inclusion`, `verify_consistency`, or comparing
//! [`TileClient::root`] with the checkpoint's root), so a tile that does not
//! hash to a verified root is caught there. Responses are size-capped. The
//! client fetches only tiles the given tree size implies, as the spec asks,
//! falling back to the full tile when a partial one is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use rootlog_tlog::merkle::{consistency_plan, inclusion_plan, root_plan, Hash, NodeId, EMPTY_ROOT};
use rootlog_tlog::tiles::{self, TileId, FULL_TILE_BYTES, TILE_WIDTH};

/// Largest checkpoint accepted (a note with many cosignatures fits easily).
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// Largest entry bundle accepted: 256 entries of at most 65535 bytes each.
const MAX_BUNDLE_BYTES: usize = 256 * (2 + tiles::MAX_BUNDLE_ENTRY);

/// A client for one log's tlog-tiles URL prefix or mirror directory.
#[derive(Clone)]
pub struct TileClient {
    base: String,
    /// None when `base` is a directory.
    http: Option<reqwest::Client>,
}

impl TileClient {
    /// `base` is the URL prefix (`<base>/checkpoint`, `<base>/tile/...`),
    /// or, when it does not start with `http://` or `https://`, a mirror
    /// directory (a path, or a `file://` URL).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Self::with_user_agent(base, concat!("rootlog/", env!("CARGO_PKG_VERSION")))
    }

    /// Like [`TileClient::new`], announcing itself as `user_agent` over HTTP.
    pub fn with_user_agent(base: &str, user_agent: &str) -> anyhow::Result<Self> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            let dir = base.strip_prefix("file://").unwrap_or(base);
            if !std::path::Path::new(dir).is_dir() {
                bail!("{dir} is neither an http(s) URL nor a mirror directory");
            }
            return Ok(TileClient {
                base: dir.trim_end_matches('/').to_string(),
                http: None,
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent(user_agent)
            .build()?;
        Ok(TileClient {
            base: base.trim_end_matches('/').to_string(),
            http: Some(http),
        })
    }

    /// The URL prefix or directory this client reads.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The log's current checkpoint bytes (a signed note, not yet verified).
    pub async fn checkpoint(&self) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}/checkpoint", self.base);
        self.get(&url, MAX_CHECKPOINT_BYTES)
            .await?
            .ok_or_else(|| anyhow!("{url}: 404 Not Found"))
    }

    /// Fetches `partial_path`, or (if that partial is gone) `full_path`:
    /// (URL, body, whether it is the full object). `None` if neither exists.
    async fn get_tile_or_full(
        &self,
        partial_path: &str,
        full_path: &str,
        width: u16,
        cap: usize,
    ) -> anyhow::Result<Option<(String, Vec<u8>, bool)>> {
        let url = format!("{}/{partial_path}", self.base);
        if let Some(bytes) = self.get(&url, cap).await? {
            return Ok(Some((url, bytes, false)));
        }
        if width < TILE_WIDTH {
            // The log may delete a partial tile once the full one exists.
            let full = format!("{}/{full_path}", self.base);
            if let Some(bytes) = self.get(&full, cap).await? {
                return Ok(Some((full, bytes, true)));
            }
        }
        Ok(None)
    }

    /// The first `width` hashes of tile `tile`: the partial tile of that
    /// width, or (if it is gone) the full tile, truncated.
    pub async fn tile(&self, tile: TileId, width: u16) -> anyhow::Result<Vec<Hash>> {
        if width == 0 || width > TILE_WIDTH {
            bail!("tile {tile:?}: bad width {width}");
        }
        let (url, mut bytes, full) = self
            .get_tile_or_full(
                &tiles::tile_path(tile, width),
                &tiles::tile_path(tile, TILE_WIDTH),
                width,
                FULL_TILE_BYTES,
            )
            .await?
            .ok_or_else(|| anyhow!("{}: 404 Not Found", tiles::tile_path(tile, width)))?;
        if full {
            if bytes.len() != FULL_TILE_BYTES {
                bail!("{url}: full tile has {} bytes", bytes.len());
            }
            bytes.truncate(usize::from(width) * 32);
        }
        let hashes = tiles::parse_tile(&bytes)
            .ok_or_else(|| anyhow!("{url}: not a whole number of hashes"))?;
        if hashes.len() != usize::from(width) {
            bail!("{url}: {} hashes, expected {width}", hashes.len());
        }
        Ok(hashes)
    }

    /// The first `width` entries of entry bundle `index` (leaves
    /// `256·index ..`), from the partial bundle or the full one, truncated.
    pub async fn entries(&self, index: u64, width: u16) -> anyhow::Result<Vec<Vec<u8>>> {
        if width == 0 || width > TILE_WIDTH {
            bail!("entry bundle {index}: bad width {width}");
        }
        let (url, bytes, full) = self
            .get_tile_or_full(
                &tiles::entries_path(index, width),
                &tiles::entries_path(index, TILE_WIDTH),
                width,
                MAX_BUNDLE_BYTES,
            )
            .await?
            .ok_or_else(|| anyhow!("{}: 404 Not Found", tiles::entries_path(index, width)))?;
        let mut entries = tiles::decode_bundle(&bytes).with_context(|| url.clone())?;
        let expected = if full { TILE_WIDTH } else { width };
        if entries.len() != usize::from(expected) {
            bail!("{url}: {} entries, expected {expected}", entries.len());
        }
        entries.truncate(usize::from(width));
        Ok(entries)
    }

    /// The hashes of perfect nodes of the tree of `size` leaves, read from
    /// the tiles that tree size implies (each tile fetched once).
    pub async fn node_hashes(&self, nodes: &[NodeId], size: u64) -> anyhow::Result<Vec<Hash>> {
        let mut fetched = BTreeMap::new();
        for (tile, width) in tiles::tiles_for_nodes(nodes, size)? {
            fetched.insert(tile, self.tile(tile, width).await?);
        }
        Ok(tiles::hashes_from_tiles(nodes, size, &fetched)?)
    }

    /// The consistency proof from `old` to `new` (0 < old ≤ new), built from tiles.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> anyhow::Result<Vec<Hash>> {
        let plan = consistency_plan(old, new).context("consistency proof sizes")?;
        let hashes = self.node_hashes(&plan.nodes, new).await?;
        Ok(plan.assemble(&hashes)?)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves, built from tiles.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> anyhow::Result<Vec<Hash>> {
        let plan = inclusion_plan(index, size).context("inclusion proof index")?;
        let hashes = self.node_hashes(&plan.nodes, size).await?;
        Ok(plan.assemble(&hashes)?)
    }

    /// The root of the tree of `size` leaves, computed from tiles.
    pub async fn root(&self, size: u64) -> anyhow::Result<Hash> {
        let nodes = root_plan(size);
        let hashes = self.node_hashes(&nodes, size).await?;
        Ok(tiles::fold_right(&hashes).unwrap_or(EMPTY_ROOT))
    }

    /// Any other file below the prefix (`path` relative to it, e.g. a
    /// locator), at most `cap` bytes; `None` if there is none. Not trusted.
    pub async fn file(&self, path: &str, cap: usize) -> anyhow::Result<Option<Vec<u8>>> {
        self.get(&format!("{}/{path}", self.base), cap).await
    }

    /// GETs `url` (reads it, for a directory); `None` on 404 (no such
    /// file); an error on other non-200 answers or a body longer than `cap`.
    async fn get(&self, url: &str, cap: usize) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(http) = &self.http else {
            return read_capped(url, cap);
        };
        let mut resp = http
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

/// Reads a mirror file; `None` if there is none.
fn read_capped(path: &str, cap: usize) -> anyhow::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
    };
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&file, cap as u64 + 1), &mut body)
        .with_context(|| format!("cannot read {path}"))?;
    if body.len() > cap {
        bail!("{path}: larger than {cap} bytes");
    }
    Ok(Some(body))
}

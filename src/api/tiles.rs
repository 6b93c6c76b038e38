//! `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`
//! (c2sp.org/tlog-tiles, height 8), served from the stored perfect-node
//! hashes and leaves with one range scan per tile; nothing is recomputed.
//!
//! A tile exists when all the hashes it names are inside the latest
//! checkpointed tree: a full tile once its 256 nodes are complete, a partial
//! `.p/<W>` whenever at least `W` of its nodes are (so the partial tile of
//! every size the log ever checkpointed stays available). Anything else is a
//! 404; a path that is not the canonical encoding is a 400. Full tiles never
//! change and are cacheable forever (the server keeps the most recently read
//! ones in memory, `crate::tile_cache`); partial ones only briefly, since a
//! mirror or the log may replace them with the full tile.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::storage::StoreError;
use crate::tiles::{self, TileId, TileKind, TILE_WIDTH};

/// `Cache-Control` of full tiles and bundles: they are immutable.
pub const FULL_CACHE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of partial tiles and bundles: short, they get superseded.
pub const PARTIAL_CACHE: &str = "public, max-age=5";

/// `GET /tile/{*path}`.
///
/// Reads the raw request path rather than the decoded wildcard, so a
/// percent-encoded variant of a tile path is refused instead of aliasing
/// the canonical one.
pub async fn tile(State(state): State<Arc<AppState>>, uri: Uri) -> Result<Response, ApiError> {
    let raw = uri.path().strip_prefix("/tile/").unwrap_or_default();
    let request = tiles::parse_tile_path(raw).map_err(|e| {
        ApiError::bad_request(
            "bad_tile_path",
            format!("{e}; tile paths are /tile/<L>/<N>[.p/<W>] or /tile/entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)"),
        )
    })?;
    let size = state.latest().size;
    let level = match request.kind {
        TileKind::Hash(level) => level,
        TileKind::Entries => 0,
    };
    let tile = TileId {
        level,
        index: request.index,
    };
    let available = tiles::tile_width(tile, size);
    if available < request.width {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "tile_not_found",
            format!(
                "/tile/{raw} is not in the log's checkpointed tree of {size} leaves (it holds {available} of that tile's entries); fetch /checkpoint for the current size"
            ),
        ));
    }
    // `available > 0`, so the tile lies inside a u64 tree: level < 8 and
    // index · 256 < size, neither overflows.
    let first = request.index * u64::from(TILE_WIDTH);
    let count = u64::from(request.width);
    let key = match request.kind {
        TileKind::Hash(level) => (Some(level), request.index),
        TileKind::Entries => (None, request.index),
    };
    let cached = if request.is_partial() {
        None
    } else {
        state.tile_cache.get(&key)
    };
    let body = match cached {
        Some(body) => body,
        None => {
            let body = Bytes::from(match request.kind {
                TileKind::Hash(level) => state.store.node_range(level * 8, first, count)?,
                TileKind::Entries => {
                    let leaves = state.store.leaf_range(first, count)?;
                    tiles::encode_bundle(&leaves)
                        .map_err(|e| ApiError::from(StoreError::invalid("an entry bundle", e)))?
                }
            });
            // A full tile inside the checkpointed tree never changes again.
            if !request.is_partial() {
                state.tile_cache.put(key, body.clone());
            }
            body
        }
    };
    let cache = if request.is_partial() {
        PARTIAL_CACHE
    } else {
        FULL_CACHE
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}

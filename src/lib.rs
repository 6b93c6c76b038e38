//! rootlog: a transparency log for the signed daily Merkle roots of a
//! compliance archive's tenants.
//!
//! Pure logic lives in the `rootlog-tlog` crate and is re-exported here:
//! [`merkle`] (RFC 6962 trees and proofs), [`note`] (signed notes, keys,
//! checkpoints, cosignatures), [`tiles`] (tile math, paths, entry bundles),
//! [`tlogproof`], and the verdict's pure parts: [`statement`] (the daily-root
//! leaf), [`tenant_key`], [`timebound`], [`verify`], [`verdict`], [`receipt`].
//! What log and witness share at run time is the `rootlog-runtime` crate,
//! re-exported too: [`durable`], [`listener`], [`drain`], [`logging`],
//! [`stdio`], and the tile client ([`tiles::TileClient`]).
//! The log: [`storage`] (sled), [`sequencer`] (group commit), [`api`] (HTTP),
//! [`server`] (start and stop), [`identity`] (keys and origin on disk),
//! [`publish`] (the static tlog-tiles mirror and its [`locator`] files),
//! [`backup`] (online backup and verified restore), [`fsck`] (integrity
//! checks of the stored log).
//! Users: [`client`] (HTTP client, tile-based auditor), [`verify`] (offline
//! proof checks), [`audit`] (consistency, entry and export-manifest checks),
//! [`mapped`] (a large file's bytes without a copy).

pub mod api;
pub mod audit;
pub mod backup;
pub mod client;
pub mod fork_guard;
pub mod fsck;
pub mod identity;
pub mod integrity;
/// The HTTP layer's overload protection, also configured by the CLI.
pub use api::limits;
pub mod locator;
pub mod mapped;
pub mod metrics;
pub mod node_cache;
pub mod page;
pub mod proof_reader;
pub mod publish;
pub mod rebuild;
pub mod sequencer;
pub mod server;
pub mod signed_checkpoint;
pub mod storage;
pub mod tile_cache;
pub mod witnessing;

// The pure core and the shared runtime, at the paths the rest of the crate
// (and every user of the library) names them by.
pub use rootlog_runtime::{drain, durable, listener, logging, stdio};
pub use rootlog_runtime::{errln, out, outln};
pub use rootlog_tlog::{merkle, note, tlogproof};
// The verdict's pure parts, shared with the browser page (web/).
pub use rootlog_tlog::{receipt, statement, tenant_key, timebound, verdict, verify};

/// tlog-tiles: the pure math, paths and bundles of the core crate, and the
/// client that reads tiles over HTTP or from a mirror directory.
pub mod tiles {
    pub use rootlog_runtime::tile_client::TileClient;
    pub use rootlog_tlog::tiles::*;
}

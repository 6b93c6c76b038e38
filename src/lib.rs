//! rootlog: a transparency log for the signed daily Merkle roots of a
//! compliance archive's tenants.
//!
//! Pure logic: [`merkle`] (RFC 6962 trees and proofs), [`note`] (signed notes,
//! keys, checkpoints, cosignatures), [`statement`] (the daily-root leaf).
//! The log: [`storage`] (sled), [`sequencer`] (group commit), [`api`] (HTTP),
//! [`server`] (start and stop), [`identity`] (keys and origin on disk),
//! [`publish`] (the static tlog-tiles mirror and its [`locator`] files),
//! [`backup`] (online backup and verified restore).
//! tlog-tiles: [`tiles`] (tile math, paths, entry bundles, a tile client).
//! [`fsck`] (integrity checks of the stored log). [`drain`] (oversize bodies
//! read to the end, so clients see the 413).
//! The command-line tools print through [`stdio`] (a closed pipe ends the
//! printing quietly).
//! Users: [`client`] (HTTP client, tile-based auditor), [`verify`] (offline
//! proof checks), [`audit`] (consistency, entry and export-manifest checks),
//! [`mapped`] (a large file's bytes without a copy).

pub mod api;
pub mod audit;
pub mod backup;
pub mod client;
pub mod drain;
pub mod durable;
pub mod fork_guard;
pub mod fsck;
pub mod identity;
pub mod integrity;
/// The HTTP layer's overload protection, also configured by the CLI.
pub use api::limits;
pub mod listener;
pub mod locator;
pub mod logging;
pub mod mapped;
pub mod merkle;
pub mod metrics;
pub mod node_cache;
pub mod note;
pub mod proof_reader;
pub mod publish;
pub mod rebuild;
pub mod receipt;
pub mod sequencer;
pub mod server;
pub mod signed_checkpoint;
pub mod statement;
pub mod stdio;
pub mod storage;
pub mod tenant_key;
pub mod tile_cache;
pub mod tiles;
pub mod timebound;
pub mod tlogproof;
pub mod verdict;
pub mod verify;
pub mod witnessing;

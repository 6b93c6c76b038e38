//! rootlog-witness: an independent witness that speaks c2sp.org/tlog-witness
//! v1.0.0 and cosigns (cosignature/v1, Ed25519) only checkpoints consistent
//! with everything it cosigned before.
//!
//! A *witness* is this independent server; *witnessing*
//! (`rootlog::witnessing`) is the log's side, which asks witnesses for
//! cosignatures; [`witness`] is this crate's check-and-store step.
//!
//! Pure logic: [`protocol`] (request parsing and the add-checkpoint
//! decision). State: [`state`] (sled CAS and evidence files), made durable
//! by [`group_commit`], guarded against rollback by [`high_water`];
//! [`key`] (the witness key). The shared
//! check-and-store step: [`witness`]. Serving:
//! [`http`], [`watch`] (with the tlog-tiles math and client of
//! `rootlog_tlog::tiles`, `rootlog_runtime::tile_client`). Setup: [`config`], [`metrics`].

pub mod config;
pub mod group_commit;
pub mod high_water;
pub mod http;
pub mod key;
pub mod metrics;
pub mod protocol;
pub mod state;
pub mod watch;
pub mod witness;

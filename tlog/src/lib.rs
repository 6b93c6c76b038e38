//! The pure core of rootlog: the mathematics and formats every party to the
//! log shares — the log, the witness, the CLI's verifiers and the auditor's
//! browser page. Nothing here does I/O or needs an async runtime; the
//! compiler keeps it so, because this crate depends on nothing that could
//! (`cargo tree -p rootlog-tlog`), and CI builds it for
//! `wasm32-unknown-unknown`.
//!
//! - [`merkle`]: RFC 6962/9162 trees: hashing, stored-node coordinates,
//!   proof plans and their assembly, verification, the compact right edge.
//! - [`note`]: C2SP signed notes, Ed25519 note keys, cosignature/v1,
//!   tlog-checkpoint bodies.
//! - [`tiles`]: tlog-tiles math (widths, node locations, folding), tile and
//!   entry-bundle paths, entry bundles.
//! - [`tlogproof`]: c2sp.org/tlog-proof@v1 files.

pub mod merkle;
pub mod note;
pub mod tiles;
pub mod tlogproof;

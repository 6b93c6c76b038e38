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
//!
//! The verdict, one code path for the CLI and the browser page:
//!
//! - [`statement`]: the daily-root/v1 statement (the log's leaf).
//! - [`tenant_key`]: tenant-key/v1 entries and the key-history rules.
//! - [`timebound`]: when an entry was logged, by cosignature times.
//! - [`verify`]: checkpoints under a trust policy, and `judge_statement`,
//!   the one rule every verifier applies to a statement.
//! - [`verdict`]: the report and its JSON document (`rootlog-verdict/v1`).
//! - [`receipt`]: `rootlog-receipt/v1` files and their verification.
//! - [`export`]: an archive's export manifest, checked on its own and
//!   day by day against the statements (`rootlog verify-export`).

pub mod export;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod statement;
pub mod tenant_key;
pub mod tiles;
pub mod timebound;
pub mod tlogproof;
pub mod verdict;
pub mod verify;

//! RFC 6962 / RFC 9162 §2.1 Merkle trees over SHA-256.
//!
//! This module owns the tree's mathematics and nothing else: hashing, the
//! coordinates of stored nodes, proof *plans* (which stored nodes a proof
//! needs, a pure function of sizes and indexes), assembling proofs from the
//! hashes a store returns, verification, and the compact right edge
//! (`Frontier`) the sequencer appends to. No I/O happens here.
//!
//! Invariant: a node `NodeId { level, index }` is the root of the *perfect*
//! subtree over leaves `[index << level, (index + 1) << level)`. Stores keep
//! exactly those nodes; anything else (the right edge of a tree whose size is
//! not a power of two) is "ephemeral" and is folded from perfect nodes.

mod frontier;
mod growth;
mod hash;
mod node;
mod proof;
mod verify;

pub use frontier::{Frontier, TreeFull};
pub use growth::{check_growth, growth_step, GrowthError};
pub use hash::{empty_root, hash_from_slice, leaf_hash, node_hash, Hash, EMPTY_ROOT, HASH_SIZE};
pub use node::{stored_nodes, NodeId};
pub use proof::{consistency_plan, inclusion_plan, root_plan, ProofError, ProofPlan};
pub use verify::{root_from_inclusion, verify_consistency, verify_inclusion, VerifyError};

/// The largest number of hashes any proof may carry (tlog-witness and sigsum
/// both cap proofs at 63; a tree of 2^63 leaves never needs more).
pub const MAX_PROOF_HASHES: usize = 63;

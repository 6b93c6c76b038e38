//! Proof generation as pure functions over node coordinates.
//!
//! A proof is computed in two steps so that storage stays out of the maths:
//! `*_plan` says which stored perfect-subtree nodes are needed (O(log n) of
//! them), the caller reads those hashes, and `ProofPlan::assemble` turns them
//! into the proof, folding the one ephemeral node if there is one.

use super::{Hash, NodeId};

/// Why a proof cannot be generated for the requested sizes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} must be greater than 0 and not above new size {new}")]
    BadSizes { old: u64, new: u64 },
    #[error("expected {expected} hashes for the proof plan, got {got}")]
    WrongHashCount { expected: usize, got: usize },
}

/// The stored nodes a proof needs, in the order they must be read, and how
/// they combine into proof elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// Perfect-subtree nodes to read, in order.
    pub nodes: Vec<NodeId>,
    // Private details of how `nodes` map to proof elements (e.g. which
    // contiguous range folds into the single ephemeral element).
}

impl ProofPlan {
    /// Builds the proof from the hashes of `self.nodes`, given in the same order.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        let _ = hashes;
        todo!()
    }
}

/// The nodes for the inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    let _ = (index, size);
    todo!()
}

/// The nodes for the consistency proof from `old` to `new` (0 < old <= new;
/// old == new gives an empty proof).
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
    let _ = (old, new);
    todo!()
}

/// The perfect subtrees whose fold (right to left) is the root of a tree of
/// `size` leaves: the binary decomposition of `size`, largest (leftmost) first.
/// Empty for size 0 (whose root is `EMPTY_ROOT`).
pub fn root_plan(size: u64) -> Vec<NodeId> {
    let _ = size;
    todo!()
}

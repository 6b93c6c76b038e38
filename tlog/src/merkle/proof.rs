//! Proof generation as pure functions over node coordinates.
//!
//! A proof is computed in two steps so that storage stays out of the maths:
//! `*_plan` says which stored perfect-subtree nodes are needed (O(log n) of
//! them), the caller reads those hashes, and `ProofPlan::assemble` turns them
//! into the proof, folding the one ephemeral node if there is one.
//!
//! The construction views the RFC 6962 tree of `size` leaves at some level
//! `l`: the level-`l` "units" are the nodes `(l, i)` for `i < ceil(size / 2^l)`,
//! all perfect except possibly the last, and the RFC tree above them is the
//! RFC tree over those units (the RFC split point, a power of two, is always
//! a multiple of `2^l` while the split range is larger than `2^l`). An
//! inclusion path is then a path over units at level 0; a consistency proof
//! is the path of the old tree's last perfect subtree, viewed at its level.

use super::{node_hash, Hash, NodeId};

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
///
/// Invariant: every proof element is one node of `nodes`, in order, except at
/// most one ephemeral element, which is the right-to-left fold of the
/// contiguous run `nodes[fold_start .. fold_start + fold_len]` (`fold_len >= 2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// Perfect-subtree nodes to read, in order.
    pub nodes: Vec<NodeId>,
    /// `(start, len)` of the run of `nodes` that folds into the single
    /// ephemeral proof element; `None` if every element is a stored node.
    fold: Option<(usize, usize)>,
}

impl ProofPlan {
    /// A plan with no nodes: the empty proof.
    fn empty() -> Self {
        ProofPlan {
            nodes: Vec::new(),
            fold: None,
        }
    }

    /// Appends one proof element made of `parts`, the perfect nodes that
    /// cover it from left to right (exactly one for a stored element).
    fn push_element(&mut self, parts: Vec<NodeId>) {
        if parts.len() >= 2 {
            // Only one element of any RFC 6962 proof can be a non-perfect
            // subtree; the constructions below rely on that.
            debug_assert!(self.fold.is_none(), "two ephemeral proof elements");
            self.fold = Some((self.nodes.len(), parts.len()));
        }
        self.nodes.extend(parts);
    }

    /// The number of hashes in the assembled proof.
    pub fn proof_len(&self) -> usize {
        match self.fold {
            Some((_, len)) => self.nodes.len() - len + 1,
            None => self.nodes.len(),
        }
    }

    /// Builds the proof from the hashes of `self.nodes`, given in the same order.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        if hashes.len() != self.nodes.len() {
            return Err(ProofError::WrongHashCount {
                expected: self.nodes.len(),
                got: hashes.len(),
            });
        }
        let Some((start, len)) = self.fold else {
            return Ok(hashes.to_vec());
        };
        let mut proof = Vec::with_capacity(self.proof_len());
        proof.extend_from_slice(&hashes[..start]);
        proof.extend(fold_right(&hashes[start..start + len]));
        proof.extend_from_slice(&hashes[start + len..]);
        Ok(proof)
    }
}

/// Folds subtree roots, given left to right, into the root of their
/// concatenation: `H(0x01 || h1 || H(0x01 || h2 || ...))`; None if empty.
pub(super) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    hashes
        .iter()
        .rev()
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
}

/// The nodes for the inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut plan = ProofPlan::empty();
    push_path(&mut plan, NodeId::new(0, index), size);
    Ok(plan)
}

/// The nodes for the consistency proof from `old` to `new` (0 < old <= new;
/// old == new gives an empty proof).
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    let mut plan = ProofPlan::empty();
    if old == new {
        return Ok(plan);
    }
    // The recursion of RFC 6962 §2.1.2 stops at the largest subtree that ends
    // exactly at `old`: the old tree's last perfect subtree, at level ctz(old).
    let level = old.trailing_zeros();
    let last = NodeId::new(level as u8, (old - 1) >> level);
    // If that subtree starts at leaf 0, `old` is a power of two and the
    // verifier already has it as the old root (SUBPROOF(m, D_m, true) = {}).
    if last.index != 0 {
        plan.push_element(vec![last]);
    }
    push_path(&mut plan, last, new);
    Ok(plan)
}

/// The perfect subtrees whose fold (right to left) is the root of a tree of
/// `size` leaves: the binary decomposition of `size`, largest (leftmost) first.
/// Empty for size 0 (whose root is `EMPTY_ROOT`).
pub fn root_plan(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Appends to `plan` the RFC 6962 path from the perfect node `node` up to
/// the root of the tree of `size` leaves: sibling first, the root's child last.
///
/// Requires `node` to lie inside the tree (its first leaf is below `size`),
/// so that `node.index << node.level` does not overflow.
fn push_path(plan: &mut ProofPlan, node: NodeId, size: u64) {
    let base = u32::from(node.level);
    let index = node.index;
    // Index of the last (possibly partial) unit at this level.
    let last = (size - 1) >> base;
    // Below level `inner` the paths to `index` and to `last` are separate, so
    // every level has a sibling (only the topmost can be cut short by the end
    // of the tree: the ephemeral element). From `inner` up they share the
    // right edge, which has a (left) sibling only where `index` has a 1 bit;
    // a 1 bit there implies the level is below 64, so the cast is lossless.
    let inner = 64 - (index ^ last).leading_zeros();
    for up in 0..inner {
        let level = base + up;
        let sibling = (index >> up) ^ 1;
        plan.push_element(sibling_parts(level, sibling, size));
    }
    let above = index.checked_shr(inner).unwrap_or(0);
    for up in inner..64 {
        if (above >> (up - inner)) & 1 == 1 {
            plan.push_element(vec![NodeId::new((base + up) as u8, (index >> up) ^ 1)]);
        }
    }
}

/// The perfect nodes covering the sibling `(level, index)` clipped to the
/// tree of `size` leaves: the node itself if it is complete, else the
/// binary decomposition of the part that exists (the ephemeral element).
/// Requires the sibling's first leaf to be below `size`.
fn sibling_parts(level: u32, index: u64, size: u64) -> Vec<NodeId> {
    let start = index << level;
    let complete = start
        .checked_add(1u64 << level)
        .is_some_and(|end| end <= size);
    if complete {
        vec![NodeId::new(level as u8, index)]
    } else {
        range_nodes(start, size - start)
    }
}

/// The perfect nodes covering leaves `[start, start + len)`, largest first.
/// Requires `start` to be a multiple of every power of two in `len`'s
/// decomposition (true when `start` is aligned to a power of two above `len`)
/// and `start + len` not to overflow.
fn range_nodes(start: u64, len: u64) -> Vec<NodeId> {
    let mut nodes = Vec::with_capacity(len.count_ones() as usize);
    let mut offset = start;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            nodes.push(NodeId::new(level as u8, offset >> level));
            // Cannot overflow: offset + width <= start + len.
            offset += width;
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(level: u8, index: u64) -> NodeId {
        NodeId::new(level, index)
    }

    #[test]
    fn root_plan_is_binary_decomposition() {
        assert!(root_plan(0).is_empty());
        assert_eq!(root_plan(1), vec![n(0, 0)]);
        assert_eq!(root_plan(7), vec![n(2, 0), n(1, 2), n(0, 6)]);
        assert_eq!(root_plan(8), vec![n(3, 0)]);
        assert_eq!(root_plan(u64::MAX).len(), 64);
        assert_eq!(root_plan(u64::MAX)[0], n(63, 0));
        assert_eq!(root_plan(u64::MAX)[63], n(0, u64::MAX - 1));
    }

    #[test]
    fn inclusion_plan_rfc_example() {
        // PATH(3, D7) = [c, g, l]: leaf 2, node [0,2), node [4,7).
        let plan = inclusion_plan(3, 7).unwrap();
        assert_eq!(plan.nodes, vec![n(0, 2), n(1, 0), n(1, 2), n(0, 6)]);
        assert_eq!(plan.fold, Some((2, 2)));
        assert_eq!(plan.proof_len(), 3);
        // The lone last leaf has only left siblings.
        let plan = inclusion_plan(6, 7).unwrap();
        assert_eq!(plan.nodes, vec![n(1, 2), n(2, 0)]);
        assert_eq!(plan.fold, None);
    }

    #[test]
    fn consistency_plan_rfc_example() {
        // PROOF(3, D7) = [c, d, g, l].
        let plan = consistency_plan(3, 7).unwrap();
        assert_eq!(
            plan.nodes,
            vec![n(0, 2), n(0, 3), n(1, 0), n(1, 2), n(0, 6)]
        );
        assert_eq!(plan.proof_len(), 4);
        // PROOF(4, D7) = [l].
        let plan = consistency_plan(4, 7).unwrap();
        assert_eq!(plan.nodes, vec![n(1, 2), n(0, 6)]);
        assert_eq!(plan.proof_len(), 1);
        // PROOF(6, D7) = [i, j, k].
        let plan = consistency_plan(6, 7).unwrap();
        assert_eq!(plan.nodes, vec![n(1, 2), n(0, 6), n(2, 0)]);
        assert_eq!(plan.fold, None);
    }

    #[test]
    fn plan_errors() {
        assert_eq!(
            inclusion_plan(7, 7),
            Err(ProofError::IndexOutOfRange { index: 7, size: 7 })
        );
        assert!(inclusion_plan(0, 0).is_err());
        assert!(inclusion_plan(u64::MAX, u64::MAX).is_err());
        assert_eq!(
            consistency_plan(0, 5),
            Err(ProofError::BadSizes { old: 0, new: 5 })
        );
        assert!(consistency_plan(0, 0).is_err());
        assert!(consistency_plan(6, 5).is_err());
        assert_eq!(consistency_plan(5, 5).unwrap().nodes, vec![]);
    }

    #[test]
    fn assemble_checks_count_and_folds() {
        let plan = inclusion_plan(3, 7).unwrap();
        assert_eq!(
            plan.assemble(&[[0; 32]; 3]),
            Err(ProofError::WrongHashCount {
                expected: 4,
                got: 3
            })
        );
        let hs = [[1u8; 32], [2; 32], [3; 32], [4; 32]];
        let proof = plan.assemble(&hs).unwrap();
        assert_eq!(proof, vec![hs[0], hs[1], node_hash(&hs[2], &hs[3])]);
    }

    #[test]
    fn extreme_sizes_do_not_panic() {
        for size in [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) + 1] {
            for index in [0, 1, size / 2, size - 2, size - 1] {
                let plan = inclusion_plan(index, size).unwrap();
                assert!(plan.proof_len() <= 64);
                for node in &plan.nodes {
                    assert!(node.level < 64);
                }
            }
            for old in [1, 2, 3, size / 2, size - 1, size] {
                let plan = consistency_plan(old, size).unwrap();
                assert!(plan.proof_len() <= 65);
            }
        }
    }
}

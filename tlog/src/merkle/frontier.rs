//! The compact right edge of a tree: the roots of the perfect subtrees of its
//! binary decomposition. Appending to it yields every newly completed perfect
//! node, which is exactly what a store must persist.

use super::proof::fold_right;
use super::{node_hash, Hash, NodeId, EMPTY_ROOT};

/// The right edge of a tree of `size` leaves.
///
/// Invariant: `nodes` are the hashes of `super::root_plan(size)`, so
/// `nodes.len() == size.count_ones()`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees of `size`'s binary decomposition, largest first.
    nodes: Vec<Hash>,
}

/// The tree already holds `u64::MAX` leaves and cannot grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the tree is full: it already holds u64::MAX leaves")]
pub struct TreeFull;

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from stored hashes: `nodes` must be the hashes of
    /// `super::root_plan(size)`, in that order. Returns None if the count is wrong.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        if nodes.len() != size.count_ones() as usize {
            return None;
        }
        Some(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored hashes, in the order of `super::root_plan(self.size())`.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash. Calls `completed` for every perfect node this
    /// append completes, starting with the leaf itself (level 0), upwards.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves (see `try_append`).
    pub fn append(&mut self, leaf: Hash, completed: impl FnMut(NodeId, &Hash)) {
        if self.try_append(leaf, completed).is_err() {
            panic!("Frontier::append: tree of u64::MAX leaves cannot grow");
        }
    }

    /// Like `append`, but refuses (leaving the frontier unchanged and calling
    /// nothing) when the tree already holds `u64::MAX` leaves.
    pub fn try_append(
        &mut self,
        leaf: Hash,
        mut completed: impl FnMut(NodeId, &Hash),
    ) -> Result<(), TreeFull> {
        let new_size = self.size.checked_add(1).ok_or(TreeFull)?;
        let position = self.size;
        completed(NodeId::new(0, position), &leaf);
        let mut hash = leaf;
        // Each trailing 1-bit of the old size is a perfect subtree of the same
        // level just left of the new node: they merge into one level higher.
        let merges = position.trailing_ones();
        for level in 1..=merges {
            let Some(left) = self.nodes.pop() else {
                // Unreachable: the invariant gives one node per set bit.
                break;
            };
            hash = node_hash(&left, &hash);
            completed(NodeId::new(level as u8, position >> level), &hash);
        }
        self.nodes.push(hash);
        self.size = new_size;
        Ok(())
    }

    /// The tree head (`EMPTY_ROOT` for size 0).
    pub fn root(&self) -> Hash {
        fold_right(&self.nodes).unwrap_or(EMPTY_ROOT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root_plan};

    #[test]
    fn empty_and_single() {
        let mut f = Frontier::new();
        assert_eq!(f.root(), EMPTY_ROOT);
        let leaf = leaf_hash(b"a");
        let mut seen = Vec::new();
        f.append(leaf, |id, h| seen.push((id, *h)));
        assert_eq!(seen, vec![(NodeId::new(0, 0), leaf)]);
        assert_eq!(f.root(), leaf);
        assert_eq!(f.size(), 1);
    }

    #[test]
    fn completed_nodes_in_order() {
        let mut f = Frontier::new();
        let leaves: Vec<Hash> = (0u8..8).map(|i| leaf_hash(&[i])).collect();
        let mut seen = Vec::new();
        for leaf in &leaves {
            seen.clear();
            f.append(*leaf, |id, _| seen.push(id));
        }
        // The 8th leaf (position 7) completes leaf 7, node [6,8), [4,8), [0,8).
        assert_eq!(
            seen,
            vec![
                NodeId::new(0, 7),
                NodeId::new(1, 3),
                NodeId::new(2, 1),
                NodeId::new(3, 0)
            ]
        );
        let l01 = node_hash(&leaves[0], &leaves[1]);
        let l23 = node_hash(&leaves[2], &leaves[3]);
        let l45 = node_hash(&leaves[4], &leaves[5]);
        let l67 = node_hash(&leaves[6], &leaves[7]);
        let root = node_hash(&node_hash(&l01, &l23), &node_hash(&l45, &l67));
        assert_eq!(f.root(), root);
        assert_eq!(f.nodes(), &[root]);
    }

    #[test]
    fn from_parts_checks_count() {
        assert!(Frontier::from_parts(0, vec![]).is_some());
        assert!(Frontier::from_parts(0, vec![[0; 32]]).is_none());
        assert!(Frontier::from_parts(7, vec![[0; 32]; 2]).is_none());
        assert!(Frontier::from_parts(7, vec![[0; 32]; 3]).is_some());
        assert_eq!(
            Frontier::from_parts(u64::MAX, vec![[0; 32]; 64]).map(|f| f.size()),
            Some(u64::MAX)
        );
    }

    #[test]
    fn roundtrip_through_parts() {
        let mut f = Frontier::new();
        for i in 0u8..13 {
            f.append(leaf_hash(&[i]), |_, _| {});
            assert_eq!(f.nodes().len(), root_plan(f.size()).len());
            let g = Frontier::from_parts(f.size(), f.nodes().to_vec()).unwrap();
            assert_eq!(g, f);
        }
    }

    #[test]
    fn full_tree_refuses_append() {
        let mut f = Frontier::from_parts(u64::MAX, vec![[0; 32]; 64]).unwrap();
        let before = f.clone();
        let mut calls = 0;
        assert_eq!(f.try_append([1; 32], |_, _| calls += 1), Err(TreeFull));
        assert_eq!(calls, 0);
        assert_eq!(f, before);
        // One below full: the last leaf stands alone on the right edge.
        let mut f = Frontier::from_parts(u64::MAX - 1, vec![[0; 32]; 63]).unwrap();
        let mut ids = Vec::new();
        f.try_append([1; 32], |id, _| ids.push(id)).unwrap();
        assert_eq!(ids, vec![NodeId::new(0, u64::MAX - 1)]);
        assert_eq!(f.nodes().len(), 64);
        // 2^63 - 1 leaves: the next append merges all 63 levels.
        let mut f = Frontier::from_parts((1 << 63) - 1, vec![[0; 32]; 63]).unwrap();
        ids.clear();
        f.append([1; 32], |id, _| ids.push(id));
        assert_eq!(ids.len(), 64);
        assert_eq!(ids[63], NodeId::new(63, 0));
        assert_eq!(f.nodes().len(), 1);
    }
}

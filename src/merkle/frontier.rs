//! The compact right edge of a tree: the roots of the perfect subtrees of its
//! binary decomposition. Appending to it yields every newly completed perfect
//! node, which is exactly what a store must persist.

use super::{Hash, NodeId};

/// The right edge of a tree of `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees of `size`'s binary decomposition, largest first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from stored hashes: `nodes` must be the hashes of
    /// `super::root_plan(size)`, in that order. Returns None if the count is wrong.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        let _ = (size, nodes);
        todo!()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash. Calls `completed` for every perfect node this
    /// append completes, starting with the leaf itself (level 0), upwards.
    pub fn append(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let _ = (leaf, &mut completed);
        todo!()
    }

    /// The tree head (`EMPTY_ROOT` for size 0).
    pub fn root(&self) -> Hash {
        todo!()
    }
}

//! Coordinates of perfect-subtree nodes, and their place in append order.
//!
//! Appending leaf `m` completes the level-0 node `m` and then, one level at
//! a time, every perfect node whose last leaf is `m` (see
//! `Frontier::append`). Numbering nodes in that order gives every perfect
//! node a fixed position that never changes as the tree grows, so a store
//! can keep the nodes in one append-only array.

/// The root of the perfect subtree over leaves `[index << level, (index + 1) << level)`.
/// Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// This node's position in append order (0 for the first leaf).
    ///
    /// The node is completed by its last leaf `m = (index + 1) * 2^level - 1`,
    /// after the `stored_nodes(m)` nodes of the first `m` leaves and the
    /// `level` nodes below it on leaf `m`'s climb. None if the node lies
    /// beyond a tree of `u64::MAX` leaves.
    pub fn position(self) -> Option<u64> {
        let last_leaf = self
            .index
            .checked_add(1)?
            .checked_mul(1u64.checked_shl(u32::from(self.level))?)?
            - 1;
        stored_nodes(last_leaf)?.checked_add(u64::from(self.level))
    }
}

/// How many perfect nodes a tree of `size` leaves has, at every level
/// together: `size + size/2 + size/4 + ...`, which is `2·size - popcount(size)`.
/// It is also the position the next appended leaf's own node gets. None
/// where that count no longer fits a u64 (trees beyond 2^63 leaves).
pub const fn stored_nodes(size: u64) -> Option<u64> {
    size.checked_add(size - size.count_ones() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, Frontier};

    #[test]
    fn positions_follow_append_order() {
        let mut frontier = Frontier::new();
        let mut next = 0u64;
        for i in 0..5000u64 {
            frontier.append(leaf_hash(&i.to_be_bytes()), |id, _| {
                assert_eq!(id.position(), Some(next), "{id:?}");
                next += 1;
            });
            assert_eq!(stored_nodes(i + 1), Some(next));
        }
    }

    #[test]
    fn positions_at_the_edge_of_u64() {
        assert_eq!(stored_nodes(u64::MAX), None);
        assert_eq!(stored_nodes(1 << 62), Some((1 << 63) - 1));
        assert_eq!(NodeId::new(63, 1).position(), None);
        assert_eq!(NodeId::new(64, 0).position(), None);
        assert_eq!(NodeId::new(0, u64::MAX).position(), None);
        assert!(NodeId::new(63, 0).position().is_some());
    }
}

//! Proofs from tiles, as two pure steps around the reader's fetch: which
//! tiles (and at what width) a set of perfect nodes of a tree needs, and
//! the nodes' hashes once those tiles are at hand. The tile client (over
//! HTTP or a directory) and the auditor's page (over `fetch`) run the same
//! two functions, so they read the same tiles and fold them the same way.
//!
//! Invariant: a tree of `size` leaves is read only through the tiles that
//! size implies (`tile_width(tile, size)`), as c2sp.org/tlog-tiles asks; a
//! reader that gets the full tile instead of a vanished partial one passes
//! its first `width` hashes.

use std::collections::BTreeMap;

use super::{hash_at, node_location, tile_width, width_needed, TileId};
use crate::merkle::{Hash, NodeId};

/// Why the nodes cannot be read from the tiles of that tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileNodesError {
    #[error("node (level {level}, index {index}) cannot exist in a 64-bit tree")]
    NoSuchNode { level: u8, index: u64 },
    #[error("node (level {level}, index {index}) is not complete in a tree of {size} leaves")]
    Incomplete { level: u8, index: u64, size: u64 },
    #[error(
        "tile (level {level}, index {index}) was not supplied or is shorter than {width} hashes"
    )]
    TileMissing { level: u8, index: u64, width: u16 },
}

/// The tiles holding `nodes` in the tree of `size` leaves, each once and
/// in first-needed order, with the width that tree size gives them.
pub fn tiles_for_nodes(nodes: &[NodeId], size: u64) -> Result<Vec<(TileId, u16)>, TileNodesError> {
    let mut out: Vec<(TileId, u16)> = Vec::new();
    for &node in nodes {
        let (tile, width) = tile_of(node, size)?;
        if !out.iter().any(|(t, _)| *t == tile) {
            out.push((tile, width));
        }
    }
    Ok(out)
}

/// The hashes of `nodes` (in order) from `tiles`, which map each tile of
/// [`tiles_for_nodes`] to at least its first `width` hashes. Nothing here
/// is trusted: the caller verifies the proof or root it builds.
pub fn hashes_from_tiles(
    nodes: &[NodeId],
    size: u64,
    tiles: &BTreeMap<TileId, Vec<Hash>>,
) -> Result<Vec<Hash>, TileNodesError> {
    nodes
        .iter()
        .map(|&node| {
            let (tile, width) = tile_of(node, size)?;
            let missing = TileNodesError::TileMissing {
                level: tile.level,
                index: tile.index,
                width,
            };
            let hashes = tiles.get(&tile).ok_or(missing.clone())?;
            let location = node_location(node).ok_or(missing.clone())?;
            hash_at(
                &location,
                hashes.get(..usize::from(width)).ok_or(missing.clone())?,
            )
            .ok_or(missing)
        })
        .collect()
}

/// The tile holding `node` and that tile's width in the tree of `size`.
fn tile_of(node: NodeId, size: u64) -> Result<(TileId, u16), TileNodesError> {
    let location = node_location(node).ok_or(TileNodesError::NoSuchNode {
        level: node.level,
        index: node.index,
    })?;
    let width = tile_width(location.tile, size);
    if width_needed(&location) > width {
        return Err(TileNodesError::Incomplete {
            level: node.level,
            index: node.index,
            size,
        });
    }
    Ok((location.tile, width))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_plan, leaf_hash, node_hash, verify_inclusion, Frontier, NodeId};

    /// Level-0 tile 0 of a tree of `n` leaves (n ≤ 256), and its root.
    fn small_tree(n: u64) -> (Vec<Hash>, Hash) {
        let mut tree = Frontier::new();
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for leaf in &leaves {
            tree.append(*leaf, |_, _| {});
        }
        (leaves, tree.root())
    }

    #[test]
    fn an_inclusion_proof_folds_from_the_tiles_it_names() {
        let (leaves, root) = small_tree(13);
        let plan = inclusion_plan(5, 13).unwrap();
        let tiles = tiles_for_nodes(&plan.nodes, 13).unwrap();
        assert_eq!(tiles, vec![(TileId { level: 0, index: 0 }, 13)]);
        let supplied = BTreeMap::from([(TileId { level: 0, index: 0 }, leaves.clone())]);
        let hashes = hashes_from_tiles(&plan.nodes, 13, &supplied).unwrap();
        let proof = plan.assemble(&hashes).unwrap();
        verify_inclusion(5, 13, &leaves[5], &proof, &root).unwrap();
    }

    #[test]
    fn a_longer_tile_is_read_only_to_the_trees_width() {
        let (leaves, _) = small_tree(16);
        let node = NodeId { level: 2, index: 0 };
        let supplied = BTreeMap::from([(TileId { level: 0, index: 0 }, leaves.clone())]);
        let want = node_hash(
            &node_hash(&leaves[0], &leaves[1]),
            &node_hash(&leaves[2], &leaves[3]),
        );
        assert_eq!(
            hashes_from_tiles(&[node], 4, &supplied).unwrap(),
            vec![want]
        );
    }

    #[test]
    fn missing_and_incomplete_are_errors() {
        let node = NodeId { level: 2, index: 1 };
        assert!(matches!(
            tiles_for_nodes(&[node], 6),
            Err(TileNodesError::Incomplete { .. })
        ));
        let (leaves, _) = small_tree(3);
        let short = BTreeMap::from([(TileId { level: 0, index: 0 }, leaves)]);
        assert!(matches!(
            hashes_from_tiles(&[node], 8, &short),
            Err(TileNodesError::TileMissing { .. })
        ));
    }
}

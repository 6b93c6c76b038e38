//! tlog-tiles (c2sp.org/tlog-tiles, tile height 8): the widths a tree size
//! implies, which tiles change between two sizes, where a perfect Merkle node
//! lives in the tiles, and folding tile hashes into nodes and roots. Paths
//! and their strict parser are in [`path`], entry bundles in [`bundle`].
//! Everything here is pure (no I/O), so the log's tile endpoint, its static
//! mirror, the tile client and the witness's watch mode share one
//! implementation.
//!
//! A tile `(level t, index N)` holds up to 256 hashes: entry `j` is the
//! perfect node `(8t, 256N + j)`. A node `(h, i)` with `h = 8t + r` is not
//! stored itself when `r > 0`; it is the fold of the `2^r` level-`8t` entries
//! below it, all of which sit in one tile because `2^r` divides 256.

pub mod bundle;
pub mod nodes;
pub mod path;

pub use bundle::{decode_bundle, encode_bundle, BundleError, MAX_BUNDLE_ENTRY};
pub use nodes::{hashes_from_tiles, tiles_for_nodes, TileNodesError};
pub use path::{
    encode_index, entries_path, parse_tile_path, tile_path, TileKind, TilePath, TilePathError,
};

use crate::merkle::{node_hash, Hash, NodeId, HASH_SIZE};

/// Hashes per full tile (tile height 8).
pub const TILE_WIDTH: u16 = 256;
/// Bytes of a full tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u32 = 8;

/// One hash tile, identified by its tile level and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

/// Where a perfect node lives: `count` consecutive entries of `tile`
/// starting at `offset`, which fold into the node's hash.
///
/// Invariant: `offset + count <= 256` and `count` is a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLocation {
    pub tile: TileId,
    pub offset: u16,
    pub count: u16,
}

/// The number of level-`8·level` nodes a tree of `size` leaves has complete:
/// `floor(size / 256^level)`.
pub fn entries_at(level: u8, size: u64) -> u64 {
    size.checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// How many hashes tile `tile` holds in the tree of `size` leaves: 256 for a
/// full tile, 1..=255 for the partial one, 0 if the tile does not exist yet.
pub fn tile_width(tile: TileId, size: u64) -> u16 {
    let entries = entries_at(tile.level, size);
    let first = tile.index.saturating_mul(u64::from(TILE_WIDTH));
    if entries <= first {
        return 0;
    }
    // Bounded by 256, so the cast cannot truncate.
    (entries - first).min(u64::from(TILE_WIDTH)) as u16
}

/// Every tile a log of `size` leaves must serve, with its width, level by
/// level (full tiles first, then the partial one if any).
///
/// Spec example: 70000 leaves → 273 full level-0 tiles and one of width
/// 112, one full level-1 tile and one of width 17, one level-2 tile of width 1.
pub fn tiles_for_size(size: u64) -> Vec<(TileId, u16)> {
    let mut out = Vec::new();
    for level in 0u8..8 {
        let entries = entries_at(level, size);
        if entries == 0 {
            break;
        }
        let full = entries / u64::from(TILE_WIDTH);
        for index in 0..full {
            out.push((TileId { level, index }, TILE_WIDTH));
        }
        let partial = (entries % u64::from(TILE_WIDTH)) as u16;
        if partial > 0 {
            out.push((TileId { level, index: full }, partial));
        }
    }
    out
}

/// The tiles (with their widths at `new`) that a log growing from `old` to
/// `new` leaves must newly publish: tiles that did not exist at `old` and the
/// ones that grew. Tiles complete at `old` never change, so this is
/// O(new − old) tiles, not O(new). Empty unless `old < new`.
pub fn tiles_between(old: u64, new: u64) -> Vec<(TileId, u16)> {
    let mut out = Vec::new();
    for level in 0u8..8 {
        let (before, after) = (entries_at(level, old), entries_at(level, new));
        if after <= before {
            continue;
        }
        let first = before / u64::from(TILE_WIDTH);
        let last = (after - 1) / u64::from(TILE_WIDTH);
        for index in first..=last {
            let tile = TileId { level, index };
            out.push((tile, tile_width(tile, new)));
        }
    }
    out
}

/// The partial tiles (width 1–255) of a tree of `size` leaves, one per level
/// at most.
pub fn partial_tiles(size: u64) -> Vec<(TileId, u16)> {
    (0u8..8)
        .filter_map(|level| {
            let entries = entries_at(level, size);
            // Bounded by 256, so the cast cannot truncate.
            let width = (entries % u64::from(TILE_WIDTH)) as u16;
            let index = entries / u64::from(TILE_WIDTH);
            (width > 0).then_some((TileId { level, index }, width))
        })
        .collect()
}

/// Where the perfect node `node` lives in the tiles.
///
/// With `h = 8t + r`: tile level `t`, tile index `i >> (8 − r)`, entries
/// `[(i << r) mod 256, +2^r)`. Nodes above level 63 do not exist in a
/// 64-bit tree and give `None`.
pub fn node_location(node: NodeId) -> Option<NodeLocation> {
    let h = u32::from(node.level);
    if h >= 64 {
        return None;
    }
    let t = h / TILE_HEIGHT;
    let r = h % TILE_HEIGHT;
    let tile = TileId {
        level: t as u8,
        index: node.index >> (TILE_HEIGHT - r),
    };
    // The low (8 − r) bits of the index pick the group of 2^r entries.
    let offset = ((node.index << r) & 0xff) as u16;
    Some(NodeLocation {
        tile,
        offset,
        count: 1 << r,
    })
}

/// The smallest tile width that contains `location` (its last entry).
pub fn width_needed(location: &NodeLocation) -> u16 {
    location.offset + location.count
}

/// Splits tile bytes into hashes; `None` unless the length is a whole number of hashes.
pub fn parse_tile(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(HASH_SIZE) || bytes.len() > FULL_TILE_BYTES {
        return None;
    }
    Some(
        bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; HASH_SIZE];
                h.copy_from_slice(c);
                h
            })
            .collect(),
    )
}

/// The hash of the node at `location`, folded from the tile's entries
/// (pairwise, level by level, as the tree is built); `None` if the tile is
/// too short.
pub fn hash_at(location: &NodeLocation, tile_hashes: &[Hash]) -> Option<Hash> {
    let start = usize::from(location.offset);
    let end = start + usize::from(location.count);
    let mut level: Vec<Hash> = tile_hashes.get(start..end)?.to_vec();
    // count is a power of two, so each round pairs every hash.
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied()
}

/// Folds subtree roots, given left to right, into the root of their
/// concatenation: `H(0x01 || h1 || H(0x01 || h2 || ...))`; `None` if empty.
pub fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    hashes
        .iter()
        .rev()
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, Frontier};
    use std::collections::HashMap;

    #[test]
    fn spec_example_70000() {
        let tiles = tiles_for_size(70000);
        let count = |level: u8, width: u16| {
            tiles
                .iter()
                .filter(|(t, w)| t.level == level && *w == width)
                .count()
        };
        assert_eq!(count(0, 256), 273);
        assert_eq!(count(0, 112), 1);
        assert_eq!(count(1, 256), 1);
        assert_eq!(count(1, 17), 1);
        assert_eq!(count(2, 1), 1);
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        assert!(tiles.contains(&(
            TileId {
                level: 0,
                index: 273
            },
            112
        )));
        assert!(tiles.contains(&(TileId { level: 1, index: 1 }, 17)));
        assert_eq!(
            tile_width(
                TileId {
                    level: 0,
                    index: 273
                },
                70000
            ),
            112
        );
        assert_eq!(
            tile_width(
                TileId {
                    level: 0,
                    index: 274
                },
                70000
            ),
            0
        );
        assert_eq!(tile_width(TileId { level: 2, index: 0 }, 70000), 1);
        assert_eq!(tile_width(TileId { level: 3, index: 0 }, 70000), 0);
        assert_eq!(tile_width(TileId { level: 7, index: 0 }, u64::MAX), 255);
        assert!(tiles_for_size(0).is_empty());
    }

    /// What changes between two sizes is exactly the set difference of the
    /// tiles each size implies; the partials are the non-256 widths.
    #[test]
    fn tiles_between_is_the_difference() {
        use std::collections::BTreeSet;
        let sizes = [
            0u64, 1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, 70000,
        ];
        for &old in &sizes {
            for &new in &sizes {
                let before: BTreeSet<_> = tiles_for_size(old).into_iter().collect();
                let after: BTreeSet<_> = tiles_for_size(new).into_iter().collect();
                let want: BTreeSet<_> = after.difference(&before).copied().collect();
                let got: BTreeSet<_> = tiles_between(old, new).into_iter().collect();
                if old <= new {
                    assert_eq!(got, want, "{old} -> {new}");
                } else {
                    assert!(got.is_empty());
                }
            }
            let partial: Vec<_> = tiles_for_size(old)
                .into_iter()
                .filter(|(_, w)| *w < TILE_WIDTH)
                .collect();
            assert_eq!(partial_tiles(old), partial, "{old}");
        }
        assert_eq!(
            partial_tiles(70000),
            vec![
                (
                    TileId {
                        level: 0,
                        index: 273
                    },
                    112
                ),
                (TileId { level: 1, index: 1 }, 17),
                (TileId { level: 2, index: 0 }, 1),
            ]
        );
        assert_eq!(tiles_between(u64::MAX - 1, u64::MAX).len(), 1);
    }

    #[test]
    fn node_locations() {
        // Level-0 node: one entry of a level-0 tile.
        let loc = node_location(NodeId::new(0, 1234)).unwrap();
        assert_eq!(loc.tile, TileId { level: 0, index: 4 });
        assert_eq!((loc.offset, loc.count), (1234 % 256, 1));
        // Level 3, index 37: leaves [296, 304) = entries 40..48 of tile 0/1.
        let loc = node_location(NodeId::new(3, 37)).unwrap();
        assert_eq!(loc.tile, TileId { level: 0, index: 1 });
        assert_eq!((loc.offset, loc.count), (40, 8));
        assert_eq!(width_needed(&loc), 48);
        // Level 8 is stored in level-1 tiles.
        let loc = node_location(NodeId::new(8, 300)).unwrap();
        assert_eq!(loc.tile, TileId { level: 1, index: 1 });
        assert_eq!((loc.offset, loc.count), (44, 1));
        // Level 15, index 3: level-8 entries [384, 512), the second half of tile 1/1.
        let loc = node_location(NodeId::new(15, 3)).unwrap();
        assert_eq!(loc.tile, TileId { level: 1, index: 1 });
        assert_eq!((loc.offset, loc.count), (128, 128));
        let loc = node_location(NodeId::new(63, 1)).unwrap();
        assert_eq!(loc.tile.level, 7);
        assert!(node_location(NodeId::new(64, 0)).is_none());
    }

    /// Every perfect node of a real tree is recovered from tiles built from it.
    #[test]
    fn nodes_from_tiles_match_the_tree() {
        let size = 70_000u64;
        let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
        let mut frontier = Frontier::new();
        for i in 0..size {
            frontier.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                nodes.insert(id, *h);
            });
        }
        let tile_of = |tile: TileId, width: u16| -> Vec<Hash> {
            (0..u64::from(width))
                .map(|j| nodes[&NodeId::new(tile.level * 8, tile.index * 256 + j)])
                .collect()
        };
        let tiles: HashMap<TileId, Vec<Hash>> = tiles_for_size(size)
            .into_iter()
            .map(|(t, w)| (t, tile_of(t, w)))
            .collect();
        for (&id, want) in nodes.iter().filter(|(id, _)| id.level <= 16) {
            let loc = node_location(id).unwrap();
            let tile = &tiles[&loc.tile];
            assert!(usize::from(width_needed(&loc)) <= tile.len(), "{id:?}");
            assert_eq!(hash_at(&loc, tile).as_ref(), Some(want), "{id:?}");
        }
        let root: Vec<Hash> = crate::merkle::root_plan(size)
            .iter()
            .map(|id| nodes[id])
            .collect();
        assert_eq!(fold_right(&root), Some(frontier.root()));
    }

    #[test]
    fn tile_parsing_and_short_tiles() {
        assert_eq!(parse_tile(&[0u8; 64]).unwrap().len(), 2);
        assert!(parse_tile(&[0u8; 63]).is_none());
        assert!(parse_tile(&[0u8; FULL_TILE_BYTES + 32]).is_none());
        assert_eq!(parse_tile(&[]).unwrap().len(), 0);
        let loc = node_location(NodeId::new(1, 3)).unwrap();
        assert_eq!(hash_at(&loc, &[[0u8; 32]; 7]), None);
        assert!(hash_at(&loc, &[[0u8; 32]; 8]).is_some());
    }
}

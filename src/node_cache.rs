//! The tree's upper levels in memory, in front of the store, for proofs.
//!
//! A proof names one node per level. The low levels differ from proof to
//! proof; the high ones are shared by many (every proof of a tree of size n
//! names nodes from the same few at the top). Nodes at level
//! [`MIN_LEVEL`] and above are only one in 2^MIN_LEVEL of the tree's nodes,
//! so keeping every one read is cheap, and it makes a proof's store reads
//! about `MIN_LEVEL` whatever the tree's size: proof latency stops growing
//! with the log.
//!
//! Stored perfect nodes never change (the tree only grows), and only nodes
//! the store returned are cached, so an entry is never stale.
//!
//! Layout: one dense array per level, indexed by the node's index, so a
//! lookup is one array access instead of a hash-map probe (at 10^7 entries
//! the probes were a sixth of a proof's server CPU), and one read lock per
//! proof rather than one per node. Level `MIN_LEVEL + k` may hold at most
//! `MAX_NODES >> (k + 1)` slots, so the whole cache stays under
//! [`MAX_NODES`] slots (about 33 MiB) and every level keeps its oldest part
//! of the tree; beyond a level's slots, reads go to the store.

use std::sync::RwLock;

use crate::merkle::{Hash, NodeId};
use crate::storage::{Store, StoreError};

/// The lowest level kept.
pub const MIN_LEVEL: u8 = 5;
/// The most slots kept in all (33 bytes each).
pub const MAX_NODES: usize = 1 << 20;

/// The slots level `level` (at least `MIN_LEVEL`) may have.
fn level_slots(level: u8) -> usize {
    let k = u32::from(level - MIN_LEVEL) + 1;
    MAX_NODES.checked_shr(k).unwrap_or(0)
}

/// The cache.
#[derive(Default)]
pub struct NodeCache {
    /// `levels[l][i]`: node (MIN_LEVEL + l, i), if read.
    levels: RwLock<Vec<Vec<Option<Hash>>>>,
}

impl NodeCache {
    /// The hashes of `ids`, in order: high nodes from memory where kept, the
    /// rest from `store` in one `read_nodes`; the high ones read are kept.
    pub fn read(&self, store: &Store, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out: Vec<Option<Hash>> = match self.levels.read() {
            Ok(levels) => ids.iter().map(|&id| lookup(&levels, id)).collect(),
            Err(_) => vec![None; ids.len()],
        };
        let missing: Vec<NodeId> = ids
            .iter()
            .zip(&out)
            .filter(|(_, h)| h.is_none())
            .map(|(&id, _)| id)
            .collect();
        if !missing.is_empty() {
            let mut read = store.read_nodes(&missing)?.into_iter();
            let mut keep = Vec::new();
            for (slot, &id) in out.iter_mut().zip(ids).filter(|(h, _)| h.is_none()) {
                let hash = read.next().ok_or_else(|| {
                    StoreError::Corrupt("the store returned too few nodes".into())
                })?;
                *slot = Some(hash);
                if has_slot(id) {
                    keep.push((id, hash));
                }
            }
            self.keep(&keep);
        }
        Ok(out.into_iter().map(|h| h.unwrap_or_default()).collect())
    }

    /// Stores `nodes`, each of which [`has_slot`].
    fn keep(&self, nodes: &[(NodeId, Hash)]) {
        if nodes.is_empty() {
            return;
        }
        let Ok(mut levels) = self.levels.write() else {
            return;
        };
        for (id, hash) in nodes {
            let l = usize::from(id.level - MIN_LEVEL);
            let i = id.index as usize;
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            let level = &mut levels[l];
            if level.len() <= i {
                level.resize(i + 1, None);
            }
            level[i] = Some(*hash);
        }
    }

    /// Nodes kept now.
    pub fn len(&self) -> usize {
        self.levels
            .read()
            .map(|levels| levels.iter().flatten().filter(|h| h.is_some()).count())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `id` may be kept: high enough, and within its level's slots.
fn has_slot(id: NodeId) -> bool {
    id.level >= MIN_LEVEL && usize::try_from(id.index).is_ok_and(|i| i < level_slots(id.level))
}

fn lookup(levels: &[Vec<Option<Hash>>], id: NodeId) -> Option<Hash> {
    let l = usize::from(id.level.checked_sub(MIN_LEVEL)?);
    *levels.get(l)?.get(usize::try_from(id.index).ok()?)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_plan, leaf_hash, Frontier};
    use crate::storage::{LeafRows, NewLeaf};

    #[test]
    fn answers_what_the_store_holds_and_keeps_only_high_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut tree = Frontier::new();
        let mut nodes = Vec::new();
        let leaves: Vec<Vec<u8>> = (0..3000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for leaf in &leaves {
            tree.append(leaf_hash(leaf), |id, h| nodes.push((id, *h)));
        }
        // Distinct (tenant, date) pairs, as the store requires.
        let keys: Vec<(String, String)> = (0..3000)
            .map(|i| (format!("t{}", i / 28), format!("2026-01-{:02}", i % 28 + 1)))
            .collect();
        let rows: Vec<NewLeaf<'_>> = leaves
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (bytes, (tenant, date)))| NewLeaf {
                index: i as u64,
                bytes,
                hash: leaf_hash(bytes),
                rows: LeafRows::Statement { tenant, date },
            })
            .collect();
        store.integrate(&rows, &nodes, 3000, b"cp").unwrap();
        let cache = NodeCache::default();
        for index in [0u64, 1, 255, 256, 1999, 2999] {
            let plan = inclusion_plan(index, 3000).unwrap();
            let want = store.read_nodes(&plan.nodes).unwrap();
            assert_eq!(cache.read(&store, &plan.nodes).unwrap(), want);
            assert_eq!(
                cache.read(&store, &plan.nodes).unwrap(),
                want,
                "from memory"
            );
        }
        assert!(!cache.is_empty());
        let levels = cache.levels.read().unwrap();
        let kept: usize = levels.iter().flatten().filter(|h| h.is_some()).count();
        assert_eq!(kept, cache.len());
        for (l, level) in levels.iter().enumerate() {
            assert!(level.len() <= level_slots(MIN_LEVEL + l as u8));
        }
    }

    #[test]
    fn every_level_stays_within_its_slots() {
        let total: usize = (MIN_LEVEL..64).map(level_slots).sum();
        assert!(total < MAX_NODES);
        assert_eq!(level_slots(MIN_LEVEL), MAX_NODES / 2);
        assert_eq!(level_slots(63), 0);
    }
}

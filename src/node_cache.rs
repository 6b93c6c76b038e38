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
//! the store returned are cached, so an entry is never stale. The cache is
//! bounded by [`MAX_NODES`]: beyond it, reads go to the store.

use std::sync::RwLock;

use rustc_hash::FxHashMap;

use crate::merkle::{Hash, NodeId};
use crate::storage::{Store, StoreError};

/// The lowest level kept.
pub const MIN_LEVEL: u8 = 5;
/// The most nodes kept (32 bytes each plus the map's overhead: about 64 MiB).
pub const MAX_NODES: usize = 1 << 20;
const SHARDS: usize = 16;

/// The cache.
pub struct NodeCache {
    shards: Vec<RwLock<FxHashMap<NodeId, Hash>>>,
}

impl Default for NodeCache {
    fn default() -> Self {
        NodeCache {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(FxHashMap::default()))
                .collect(),
        }
    }
}

impl NodeCache {
    fn shard(&self, id: NodeId) -> &RwLock<FxHashMap<NodeId, Hash>> {
        &self.shards[(id.index as usize ^ usize::from(id.level)) % SHARDS]
    }

    /// The hashes of `ids`, in order: high nodes from memory where kept, the
    /// rest from `store` in one `read_nodes`; the high ones read are kept.
    pub fn read(&self, store: &Store, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out: Vec<Option<Hash>> = ids
            .iter()
            .map(|&id| {
                if id.level < MIN_LEVEL {
                    return None;
                }
                self.shard(id).read().ok()?.get(&id).copied()
            })
            .collect();
        let missing: Vec<NodeId> = ids
            .iter()
            .zip(&out)
            .filter(|(_, h)| h.is_none())
            .map(|(&id, _)| id)
            .collect();
        if !missing.is_empty() {
            let mut read = store.read_nodes(&missing)?.into_iter();
            for (slot, &id) in out.iter_mut().zip(ids).filter(|(h, _)| h.is_none()) {
                let hash = read.next().ok_or_else(|| {
                    StoreError::Corrupt("the store returned too few nodes".into())
                })?;
                *slot = Some(hash);
                if id.level >= MIN_LEVEL {
                    self.keep(id, hash);
                }
            }
        }
        Ok(out.into_iter().map(|h| h.unwrap_or_default()).collect())
    }

    fn keep(&self, id: NodeId, hash: Hash) {
        let Ok(mut shard) = self.shard(id).write() else {
            return;
        };
        if shard.len() < MAX_NODES / SHARDS {
            shard.insert(id, hash);
        }
    }

    /// Nodes kept now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
        for shard in &cache.shards {
            assert!(shard.read().unwrap().keys().all(|id| id.level >= MIN_LEVEL));
        }
    }
}

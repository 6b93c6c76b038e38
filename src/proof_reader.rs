//! Proofs read from the stored tree: the one reader of inclusion and
//! consistency proofs over the store and, in a server, its node cache. The
//! HTTP answers, the witnessing rounds and fsck all read proofs here.
//!
//! A proof is planned from the sizes asked for, its nodes are read in one
//! go, and the plan assembles them. Nodes that do not make the plan's proof
//! mean the store is inconsistent, never that the request was wrong.

use crate::merkle::{consistency_plan, inclusion_plan, Hash, NodeId, ProofError, ProofPlan};
use crate::node_cache::NodeCache;
use crate::storage::{Store, StoreError};

/// Why a proof could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProofReadError {
    /// No proof exists for the index or sizes asked for.
    #[error(transparent)]
    Plan(ProofError),
    /// The store could not be read, or is inconsistent.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProofReadError {
    /// As a storage error, for callers whose sizes come from the store
    /// itself, where a proof that cannot exist means the store is
    /// inconsistent.
    pub fn into_store(self) -> StoreError {
        match self {
            ProofReadError::Plan(e) => {
                StoreError::invalid("no proof exists for the stored sizes", e)
            }
            ProofReadError::Store(e) => e,
        }
    }
}

/// Reads proofs from a store, through a node cache when it has one.
#[derive(Clone, Copy)]
pub struct ProofReader<'a> {
    store: &'a Store,
    cache: Option<&'a NodeCache>,
}

impl<'a> ProofReader<'a> {
    /// Reads straight from `store`.
    pub fn new(store: &'a Store) -> Self {
        ProofReader { store, cache: None }
    }

    /// Reads through `cache` in front of `store`.
    pub fn cached(store: &'a Store, cache: &'a NodeCache) -> Self {
        ProofReader {
            store,
            cache: Some(cache),
        }
    }

    /// The stored hashes of `ids`, in order.
    fn read(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        match self.cache {
            Some(cache) => cache.read(self.store, ids),
            None => self.store.read_nodes(ids),
        }
    }

    /// The inclusion proof of `index` at tree `size`.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofReadError> {
        let plan = inclusion_plan(index, size).map_err(ProofReadError::Plan)?;
        Ok(assemble(&plan, &self.read(&plan.nodes)?)?)
    }

    /// The inclusion proof of `index` at `size` and the leaf hash stored for
    /// `index`, in one read: the leaf's node lies beside its proof's low
    /// levels.
    pub fn inclusion_and_leaf(
        &self,
        index: u64,
        size: u64,
    ) -> Result<(Vec<Hash>, Hash), ProofReadError> {
        let plan = inclusion_plan(index, size).map_err(ProofReadError::Plan)?;
        let mut ids = plan.nodes.clone();
        ids.push(NodeId::new(0, index));
        let mut hashes = self.read(&ids)?;
        let leaf = hashes
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no leaf hash read".into()))?;
        Ok((assemble(&plan, &hashes)?, leaf))
    }

    /// The consistency proof from `old` to `new`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofReadError> {
        let plan = consistency_plan(old, new).map_err(ProofReadError::Plan)?;
        Ok(assemble(&plan, &self.read(&plan.nodes)?)?)
    }

    /// The leaf hash stored for `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, StoreError> {
        self.store
            .read_nodes(&[NodeId::new(0, index)])?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no leaf hash read".into()))
    }
}

/// The plan's proof from the nodes read for it.
fn assemble(plan: &ProofPlan, hashes: &[Hash]) -> Result<Vec<Hash>, StoreError> {
    plan.assemble(hashes)
        .map_err(|e| StoreError::invalid("the nodes read for a proof", e))
}

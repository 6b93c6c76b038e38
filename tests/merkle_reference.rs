//! Test-only oracles shared by `merkle_vectors.rs` and `merkle_properties.rs`
//! (included there with `#[path]`; cargo also builds it as its own, test-less
//! target, which is harmless).
//!
//! `Reference` computes MTH, PATH and PROOF recursively, straight from the
//! RFC 6962 §2.1 definitions, with its own SHA-256 hashing so that it shares
//! no code with the library. `Store` is an in-memory node store filled by
//! `Frontier::append`, used with the library's proof plans.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use rootlog::merkle::{
    consistency_plan, inclusion_plan, root_plan, Frontier, Hash, NodeId, ProofPlan,
};
use sha2::{Digest, Sha256};

/// `SHA-256(0x00 || data)`, written out independently of the library.
pub fn ref_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)` over arbitrary byte strings.
pub fn ref_node(left: &[u8], right: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly less than `n` (n > 1).
fn split_point(n: usize) -> usize {
    assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// A list of leaf hashes D_n and the RFC 6962 recursive definitions over it.
/// Subtree hashes are memoised by range, which changes nothing about the
/// results (MTH(D[a:b]) depends only on those leaves) but keeps the
/// exhaustive tests fast in debug builds.
pub struct Reference {
    leaves: Vec<Hash>,
    memo: RefCell<HashMap<(usize, usize), Hash>>,
}

impl Reference {
    pub fn new(leaves: Vec<Hash>) -> Self {
        Reference {
            leaves,
            memo: RefCell::new(HashMap::new()),
        }
    }

    /// Leaves `i.to_le_bytes()` for i in 0..n: distinct and deterministic.
    pub fn counting(n: usize) -> Self {
        Self::new((0..n as u64).map(|i| ref_leaf(&i.to_le_bytes())).collect())
    }

    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// MTH(D[a:b]).
    pub fn mth_range(&self, a: usize, b: usize) -> Hash {
        if let Some(h) = self.memo.borrow().get(&(a, b)) {
            return *h;
        }
        let h = match b - a {
            0 => Sha256::digest(b"").into(),
            1 => self.leaves[a],
            n => {
                let k = split_point(n);
                ref_node(&self.mth_range(a, a + k), &self.mth_range(a + k, b))
            }
        };
        self.memo.borrow_mut().insert((a, b), h);
        h
    }

    /// MTH(D_n) for the first n leaves.
    pub fn mth(&self, n: usize) -> Hash {
        self.mth_range(0, n)
    }

    /// PATH(m, D_n) over the first n leaves.
    pub fn path(&self, m: usize, n: usize) -> Vec<Hash> {
        assert!(m < n);
        self.path_range(m, 0, n)
    }

    /// PATH(m, D[a:b]), m relative to a.
    fn path_range(&self, m: usize, a: usize, b: usize) -> Vec<Hash> {
        let n = b - a;
        if n == 1 {
            return Vec::new();
        }
        let k = split_point(n);
        if m < k {
            let mut p = self.path_range(m, a, a + k);
            p.push(self.mth_range(a + k, b));
            p
        } else {
            let mut p = self.path_range(m - k, a + k, b);
            p.push(self.mth_range(a, a + k));
            p
        }
    }

    /// PROOF(m, D_n) = SUBPROOF(m, D_n, true), 0 < m <= n (empty if m == n).
    pub fn proof(&self, m: usize, n: usize) -> Vec<Hash> {
        assert!(0 < m && m <= n);
        self.subproof(m, 0, n, true)
    }

    /// SUBPROOF(m, D[a:b], b_flag), m relative to a.
    fn subproof(&self, m: usize, a: usize, b: usize, complete: bool) -> Vec<Hash> {
        let n = b - a;
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![self.mth_range(a, b)]
            };
        }
        let k = split_point(n);
        if m <= k {
            let mut p = self.subproof(m, a, a + k, complete);
            p.push(self.mth_range(a + k, b));
            p
        } else {
            let mut p = self.subproof(m - k, a + k, b, false);
            p.push(self.mth_range(a, a + k));
            p
        }
    }
}

/// Perfect nodes by coordinate, as a tile or database store would keep them,
/// filled only through `Frontier::append`'s completed-node callback.
pub struct Store {
    pub nodes: HashMap<NodeId, Hash>,
    pub frontier: Frontier,
    /// Total number of node reads served, to check proofs stay O(log n).
    pub reads: RefCell<usize>,
}

impl Store {
    pub fn new() -> Self {
        Store {
            nodes: HashMap::new(),
            frontier: Frontier::new(),
            reads: RefCell::new(0),
        }
    }

    pub fn with_leaves(leaves: &[Hash]) -> Self {
        let mut s = Self::new();
        for leaf in leaves {
            s.append(*leaf);
        }
        s
    }

    pub fn append(&mut self, leaf: Hash) {
        let nodes = &mut self.nodes;
        self.frontier.append(leaf, |id, h| {
            let old = nodes.insert(id, *h);
            assert!(old.is_none(), "node {id:?} completed twice");
        });
    }

    /// Reads a plan's nodes; panics if a node was never stored, which would
    /// mean the plan asked for something that is not a perfect subtree.
    pub fn read(&self, plan: &ProofPlan) -> Vec<Hash> {
        *self.reads.borrow_mut() += plan.nodes.len();
        plan.nodes
            .iter()
            .map(|id| {
                *self
                    .nodes
                    .get(id)
                    .unwrap_or_else(|| panic!("plan needs unstored node {id:?}"))
            })
            .collect()
    }

    pub fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        let plan = inclusion_plan(index, size).unwrap();
        plan.assemble(&self.read(&plan)).unwrap()
    }

    pub fn consistency(&self, old: u64, new: u64) -> Vec<Hash> {
        let plan = consistency_plan(old, new).unwrap();
        plan.assemble(&self.read(&plan)).unwrap()
    }

    /// The root of the tree of `size` leaves from the stored nodes of
    /// `root_plan`, folded right to left.
    pub fn root(&self, size: u64) -> Hash {
        let ids = root_plan(size);
        let hashes: Vec<Hash> = ids.iter().map(|id| self.nodes[id]).collect();
        match hashes.split_last() {
            None => Sha256::digest(b"").into(),
            Some((last, rest)) => rest.iter().rev().fold(*last, |acc, h| ref_node(h, &acc)),
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// An upper bound on plan size that is logarithmic in the tree size:
/// one node per level on the path plus one ephemeral decomposition.
pub fn log_bound(size: u64) -> usize {
    2 * (64 - size.leading_zeros() as usize) + 1
}

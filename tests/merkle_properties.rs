//! Property and exhaustive tests of the proof plans, the frontier and the
//! verifiers against three oracles: the recursive RFC 6962 reference
//! (`merkle_reference.rs`, the main one), rs_merkle (roots and inclusion
//! paths) and tlog_tiles, a Rust port of Go's `sumdb/tlog` (inclusion and
//! consistency proofs). No oracle's verifier is used: only proof generation.

#[path = "merkle_reference.rs"]
mod reference;

use std::cell::RefCell;

use proptest::prelude::*;
use reference::{log_bound, ref_node, Reference, Store};
use rootlog::merkle::{
    consistency_plan, inclusion_plan, root_from_inclusion, root_plan, verify_consistency,
    verify_inclusion, Frontier, Hash,
};
use sha2::{Digest, Sha256};

/// Largest tree the property tests use.
const MAX: u64 = 3000;

/// RFC 6962 hashing for rs_merkle: leaves are passed in already hashed with
/// the 0x00 prefix, interior nodes get the 0x01 prefix, and a lone last node
/// is promoted unchanged, which yields the RFC 6962 tree shape.
#[derive(Clone)]
struct RfcSha256;

impl rs_merkle::Hasher for RfcSha256 {
    type Hash = Hash;

    fn hash(data: &[u8]) -> Hash {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &Hash, right: Option<&Hash>) -> Hash {
        match right {
            Some(right) => ref_node(left, right),
            None => *left,
        }
    }
}

/// Go `sumdb/tlog`'s stored-hash layout, as tlog_tiles implements it.
struct TlogStore(Vec<tlog_tiles::Hash>);

impl tlog_tiles::HashReader for TlogStore {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

impl TlogStore {
    fn with_leaves(leaves: &[Hash]) -> Self {
        let mut store = TlogStore(Vec::new());
        for (n, leaf) in leaves.iter().enumerate() {
            let new = tlog_tiles::stored_hashes_for_record_hash(
                n as u64,
                tlog_tiles::Hash(*leaf),
                &store,
            )
            .unwrap();
            store.0.extend(new);
        }
        store
    }

    fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        let proof = tlog_tiles::prove_record(size, index, self).unwrap();
        proof.into_iter().map(|h| h.0).collect()
    }

    fn consistency(&self, old: u64, new: u64) -> Vec<Hash> {
        let proof = tlog_tiles::prove_tree(new, old, self).unwrap();
        proof.into_iter().map(|h| h.0).collect()
    }
}

/// One tree of `MAX` leaves per test thread; every smaller tree is a prefix
/// of it, and perfect nodes never change, so one store serves all sizes.
struct Fixture {
    reference: Reference,
    store: Store,
    tlog: TlogStore,
}

impl Fixture {
    fn new(max: u64) -> Self {
        let reference = Reference::counting(max as usize);
        let store = Store::with_leaves(reference.leaves());
        let tlog = TlogStore::with_leaves(reference.leaves());
        Fixture {
            reference,
            store,
            tlog,
        }
    }

    fn leaf(&self, index: u64) -> Hash {
        self.reference.leaves()[index as usize]
    }

    fn root(&self, size: u64) -> Hash {
        self.reference.mth(size as usize)
    }
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn with_fixture<T>(f: impl FnOnce(&Fixture) -> T) -> T {
    FIXTURE.with(|cell| {
        let mut slot = cell.borrow_mut();
        f(slot.get_or_insert_with(|| Fixture::new(MAX)))
    })
}

fn flip(mut h: Hash, bit: usize) -> Hash {
    h[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|size| (Just(size), 0..size))
}

/// Sizes 0 < old < new.
fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (2..=MAX).prop_flat_map(|new| (1..new, Just(new)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// (a) Frontier root == recursive MTH == fold of the stored root_plan nodes.
    #[test]
    fn frontier_root_matches_reference(size in 0..=MAX) {
        with_fixture(|fx| {
            let mut frontier = Frontier::new();
            for i in 0..size {
                frontier.append(fx.leaf(i), |_, _| {});
            }
            let want = fx.root(size);
            prop_assert_eq!(frontier.root(), want);
            prop_assert_eq!(fx.store.root(size), want);
            // The frontier is exactly the stored root_plan nodes.
            let stored: Vec<Hash> = root_plan(size).iter().map(|id| fx.store.nodes[id]).collect();
            prop_assert_eq!(frontier.nodes(), &stored[..]);
            prop_assert_eq!(Frontier::from_parts(size, stored), Some(frontier));
            Ok(())
        })?;
    }

    /// (b) + (d) Inclusion proofs from plan + store == recursive PATH ==
    /// rs_merkle == tlog_tiles, and they verify.
    #[test]
    fn inclusion_matches_oracles((size, index) in size_and_index()) {
        with_fixture(|fx| {
            let plan = inclusion_plan(index, size).unwrap();
            prop_assert!(plan.nodes.len() <= log_bound(size));
            let proof = plan.assemble(&fx.store.read(&plan)).unwrap();
            let path = fx.reference.path(index as usize, size as usize);
            prop_assert_eq!(&proof, &path);
            prop_assert_eq!(&fx.tlog.inclusion(index, size), &path);

            let leaves = &fx.reference.leaves()[..size as usize];
            let rs = rs_merkle::MerkleTree::<RfcSha256>::from_leaves(leaves);
            prop_assert_eq!(rs.root(), Some(fx.root(size)));
            let rs_proof = rs.proof(&[index as usize]);
            prop_assert_eq!(rs_proof.proof_hashes(), &path[..]);

            let root = fx.root(size);
            let leaf = fx.leaf(index);
            prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
            prop_assert_eq!(root_from_inclusion(index, size, &leaf, &proof), Ok(root));
            Ok(())
        })?;
    }

    /// (c) + (d) Consistency proofs from plan + store == recursive PROOF ==
    /// tlog_tiles, and they verify (old == new included).
    #[test]
    fn consistency_matches_oracles((old, new) in (1..=MAX).prop_flat_map(|n| (1..=n, Just(n)))) {
        with_fixture(|fx| {
            let plan = consistency_plan(old, new).unwrap();
            prop_assert!(plan.nodes.len() <= log_bound(new) + 1);
            let proof = plan.assemble(&fx.store.read(&plan)).unwrap();
            let want = fx.reference.proof(old as usize, new as usize);
            prop_assert_eq!(&proof, &want);
            prop_assert_eq!(&fx.tlog.consistency(old, new), &want);
            let (r1, r2) = (fx.root(old), fx.root(new));
            prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
            Ok(())
        })?;
    }

    /// (e) Mutated inclusion proofs fail.
    #[test]
    fn mutated_inclusion_fails(
        (size, index) in size_and_index(),
        bit in 0..256usize,
        other in 0..MAX + 2,
        extra: [u8; 32],
    ) {
        with_fixture(|fx| {
            let proof = fx.store.inclusion(index, size);
            let (leaf, root) = (fx.leaf(index), fx.root(size));
            let check = |i: u64, s: u64, p: &[Hash], r: &Hash| verify_inclusion(i, s, &leaf, p, r);
            for pos in 0..proof.len() {
                let mut p = proof.clone();
                p[pos] = flip(p[pos], bit);
                prop_assert!(check(index, size, &p, &root).is_err(), "flipped element {}", pos);
                let mut p = proof.clone();
                p.remove(pos);
                prop_assert!(check(index, size, &p, &root).is_err(), "dropped element {}", pos);
            }
            let mut p = proof.clone();
            p.push(extra);
            prop_assert!(check(index, size, &p, &root).is_err(), "appended element");
            p.pop();
            p.insert(0, extra);
            prop_assert!(check(index, size, &p, &root).is_err(), "prepended element");
            prop_assert!(check(index, size, &proof, &flip(root, bit)).is_err(), "wrong root");
            // Leaves are distinct, so no other index can hold this leaf.
            if other != index {
                prop_assert!(check(other, size, &proof, &root).is_err(), "wrong index");
            }
            // A wrong size, claimed with that size's true root: accepted only
            // if the honest proof for that size happens to be the same list.
            // (Against the *old* root a different size can verify, e.g. the
            // proof for leaf 0 of 3 also checks as leaf 0 of 4: RFC 9162
            // binds the size through the signed tree head, not the proof.)
            let wrong = other.max(1);
            if wrong != size && wrong <= MAX {
                let same = index < wrong
                    && fx.reference.path(index as usize, wrong as usize) == proof;
                prop_assert_eq!(check(index, wrong, &proof, &fx.root(wrong)).is_ok(), same);
            }
            Ok(())
        })?;
    }

    /// (e) Mutated consistency proofs fail.
    #[test]
    fn mutated_consistency_fails(
        (old, new) in old_and_new(),
        bit in 0..256usize,
        other in 1..=MAX,
        extra: [u8; 32],
    ) {
        with_fixture(|fx| {
            let proof = fx.store.consistency(old, new);
            let (r1, r2) = (fx.root(old), fx.root(new));
            let check = |o: u64, n: u64, a: &Hash, b: &Hash, p: &[Hash]| verify_consistency(o, n, a, b, p);
            for pos in 0..proof.len() {
                let mut p = proof.clone();
                p[pos] = flip(p[pos], bit);
                prop_assert!(check(old, new, &r1, &r2, &p).is_err(), "flipped element {}", pos);
                let mut p = proof.clone();
                p.remove(pos);
                prop_assert!(check(old, new, &r1, &r2, &p).is_err(), "dropped element {}", pos);
            }
            let mut p = proof.clone();
            p.push(extra);
            prop_assert!(check(old, new, &r1, &r2, &p).is_err(), "appended element");
            p.pop();
            p.insert(0, extra);
            prop_assert!(check(old, new, &r1, &r2, &p).is_err(), "prepended element");
            prop_assert!(check(old, new, &flip(r1, bit), &r2, &proof).is_err(), "wrong old root");
            prop_assert!(check(old, new, &r1, &flip(r2, bit), &proof).is_err(), "wrong new root");
            prop_assert!(check(old, new, &r2, &r1, &proof).is_err(), "swapped roots");
            // Wrong sizes, each claimed with its true root: accepted only if
            // the honest proof for those sizes is the same list.
            if other != old && other <= new {
                let same = fx.reference.proof(other as usize, new as usize) == proof;
                let got = check(other, new, &fx.root(other), &r2, &proof).is_ok();
                prop_assert_eq!(got, same, "wrong old size {}", other);
            }
            if other != new && other >= old {
                let same = fx.reference.proof(old as usize, other as usize) == proof;
                let got = check(old, other, &r1, &fx.root(other), &proof).is_ok();
                prop_assert_eq!(got, same, "wrong new size {}", other);
            }
            Ok(())
        })?;
    }
}

/// (5) Every size up to 130, every index and every old size: the plans give
/// the recursive results, read only stored nodes, and verify.
#[test]
fn exhaustive_small_trees() {
    const N: u64 = 130;
    let fx = Fixture::new(N);
    let mut frontier = Frontier::new();
    for size in 1..=N {
        frontier.append(fx.leaf(size - 1), |_, _| {});
        let root = fx.root(size);
        assert_eq!(frontier.root(), root, "size {size}");
        assert_eq!(fx.store.root(size), root, "size {size}");
        for index in 0..size {
            let plan = inclusion_plan(index, size).unwrap();
            assert!(plan.nodes.len() <= log_bound(size));
            let proof = plan.assemble(&fx.store.read(&plan)).unwrap();
            assert_eq!(
                proof,
                fx.reference.path(index as usize, size as usize),
                "PATH({index}, D{size})"
            );
            assert_eq!(
                verify_inclusion(index, size, &fx.leaf(index), &proof, &root),
                Ok(())
            );
        }
        for old in 1..=size {
            let plan = consistency_plan(old, size).unwrap();
            let proof = plan.assemble(&fx.store.read(&plan)).unwrap();
            let want = fx.reference.proof(old as usize, size as usize);
            assert_eq!(proof, want, "PROOF({old}, D{size})");
            assert_eq!(fx.tlog.consistency(old, size), want);
            assert_eq!(
                verify_consistency(old, size, &fx.root(old), &root, &proof),
                Ok(())
            );
        }
    }
}

/// Plans never read leaves' data and stay logarithmic even for huge trees.
#[test]
fn plans_are_logarithmic_for_large_sizes() {
    for size in [1u64 << 40, (1 << 40) + 12345, u64::MAX / 3, u64::MAX] {
        for index in [0, 1, size / 3, size - 2, size - 1] {
            let plan = inclusion_plan(index, size).unwrap();
            assert!(plan.nodes.len() <= log_bound(size), "{index}/{size}");
        }
        for old in [1, 2, 3, size / 3, size - 1] {
            let plan = consistency_plan(old, size).unwrap();
            assert!(plan.nodes.len() <= log_bound(size) + 1, "{old}/{size}");
        }
    }
}

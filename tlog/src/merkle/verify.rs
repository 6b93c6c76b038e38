//! Proof verification exactly per RFC 9162 §2.1.3.2 and §2.1.4.2, with the
//! edge rules of transparency-dev/merkle (size1 = 0 rejected, equal sizes need
//! an empty proof and equal roots, at most 63 hashes).
//!
//! Both algorithms walk two numbers down the tree: `fn` (the node whose path
//! is being followed) and `sn` (the last node of the tree). When they become
//! equal the path has reached the right edge, where right siblings are missing
//! and levels are skipped. `sn` must reach 0 exactly when the proof runs out.

use super::{node_hash, Hash, MAX_PROOF_HASHES};

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("invalid sizes: {0}")]
    BadSizes(String),
    #[error("proof has the wrong number of hashes: {0}")]
    WrongProofSize(String),
    #[error("computed root does not match the expected root")]
    RootMismatch,
}

/// Verifies that `leaf` is at `index` in the tree of `size` whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if &computed != root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// The root implied by an inclusion proof (RFC 9162 §2.1.3.2 without the final comparison).
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    check_proof_cap(proof)?;
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(too_long(proof.len()));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            skip_right_edge(&mut f, &mut s);
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(too_short(proof.len()));
    }
    Ok(r)
}

/// Verifies that the tree of `old` leaves with `old_root` is a prefix of the tree of `new` leaves with `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    check_proof_cap(proof)?;
    if old == 0 {
        // Every tree extends the empty tree; a proof says nothing, so callers
        // must handle size 0 themselves (the witness protocol does).
        return Err(VerifyError::BadSizes(format!(
            "old size 0 (new size {new}) cannot be proven"
        )));
    }
    if old > new {
        return Err(VerifyError::BadSizes(format!(
            "old size {old} is above new size {new}"
        )));
    }
    if old == new {
        return verify_equal_sizes(old_root, new_root, proof);
    }
    let (old_computed, new_computed) = roots_from_consistency(old, new, old_root, proof)?;
    if &old_computed != old_root || &new_computed != new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Equal sizes: nothing to prove, so the proof must be empty and the roots equal.
fn verify_equal_sizes(old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> Result<(), VerifyError> {
    if !proof.is_empty() {
        return Err(too_long(proof.len()));
    }
    if old_root != new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 steps 1–6 for 0 < old < new: the old and new roots the
/// proof implies. Fails if the proof has the wrong length.
fn roots_from_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash), VerifyError> {
    let Some((first, rest)) = proof.split_first() else {
        return Err(too_short(0));
    };
    // A power-of-two old tree is a node of the new tree that the proof omits
    // because the verifier knows it: its root starts the path.
    let (start, path) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let mut f = old - 1;
    let mut s = new - 1;
    // Skip the levels where the old tree's last node is a right child whose
    // left sibling is also inside the old tree: `start` already covers them.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *start;
    let mut sr = *start;
    for c in path {
        if s == 0 {
            return Err(too_long(proof.len()));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            skip_right_edge(&mut f, &mut s);
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(too_short(proof.len()));
    }
    Ok((fr, sr))
}

/// After hashing a left sibling on the right edge: if `f` is a left child
/// there, it has no right sibling at the following levels, so shift until it
/// is a right child again or the root is reached.
fn skip_right_edge(f: &mut u64, s: &mut u64) {
    if *f & 1 == 0 {
        while *f & 1 == 0 && *f != 0 {
            *f >>= 1;
            *s >>= 1;
        }
    }
}

fn check_proof_cap(proof: &[Hash]) -> Result<(), VerifyError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(VerifyError::WrongProofSize(format!(
            "{} hashes exceed the limit of {MAX_PROOF_HASHES}",
            proof.len()
        )));
    }
    Ok(())
}

fn too_long(len: usize) -> VerifyError {
    VerifyError::WrongProofSize(format!("{len} hashes is too many for these sizes"))
}

fn too_short(len: usize) -> VerifyError {
    VerifyError::WrongProofSize(format!("{len} hashes is too few for these sizes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn h(b: u8) -> Hash {
        [b; 32]
    }

    #[test]
    fn single_leaf_tree() {
        let leaf = leaf_hash(b"x");
        assert_eq!(verify_inclusion(0, 1, &leaf, &[], &leaf), Ok(()));
        assert!(verify_inclusion(0, 1, &leaf, &[h(1)], &leaf).is_err());
        assert_eq!(
            verify_inclusion(0, 1, &leaf, &[], &h(2)),
            Err(VerifyError::RootMismatch)
        );
    }

    #[test]
    fn two_leaf_tree() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let root = node_hash(&a, &b);
        assert_eq!(verify_inclusion(0, 2, &a, &[b], &root), Ok(()));
        assert_eq!(verify_inclusion(1, 2, &b, &[a], &root), Ok(()));
        assert!(verify_inclusion(0, 2, &a, &[], &root).is_err());
        assert!(verify_inclusion(0, 2, &a, &[b, b], &root).is_err());
        assert_eq!(verify_consistency(1, 2, &a, &root, &[b]), Ok(()));
        assert!(verify_consistency(1, 2, &a, &root, &[]).is_err());
    }

    #[test]
    fn index_and_size_rules() {
        let x = h(0);
        assert_eq!(
            verify_inclusion(1, 1, &x, &[], &x),
            Err(VerifyError::IndexOutOfRange { index: 1, size: 1 })
        );
        assert!(verify_inclusion(0, 0, &x, &[], &x).is_err());
        assert!(verify_inclusion(u64::MAX, u64::MAX, &x, &[], &x).is_err());
        assert!(matches!(
            verify_consistency(0, 0, &x, &x, &[]),
            Err(VerifyError::BadSizes(_))
        ));
        assert!(verify_consistency(2, 1, &x, &x, &[x]).is_err());
        assert_eq!(verify_consistency(5, 5, &x, &x, &[]), Ok(()));
        assert!(verify_consistency(5, 5, &x, &h(1), &[]).is_err());
        assert!(verify_consistency(5, 5, &x, &x, &[x]).is_err());
    }

    #[test]
    fn proof_cap() {
        let x = h(0);
        let long = vec![x; MAX_PROOF_HASHES + 1];
        assert!(matches!(
            root_from_inclusion(0, u64::MAX, &x, &long),
            Err(VerifyError::WrongProofSize(_))
        ));
        assert!(matches!(
            verify_consistency(1, u64::MAX, &x, &x, &long),
            Err(VerifyError::WrongProofSize(_))
        ));
    }

    #[test]
    fn extreme_sizes_do_not_panic() {
        let x = h(7);
        let proof = vec![x; MAX_PROOF_HASHES];
        for size in [u64::MAX, u64::MAX - 1, 1 << 63] {
            for index in [0, 1, size / 2, size - 1] {
                let _ = root_from_inclusion(index, size, &x, &proof);
                let _ = root_from_inclusion(index, size, &x, &[]);
            }
            for old in [1, 2, 3, size / 2, size - 1] {
                let _ = verify_consistency(old, size, &x, &x, &proof);
                let _ = verify_consistency(old, size, &x, &x, &[x]);
            }
        }
    }
}

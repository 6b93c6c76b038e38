//! Proof verification exactly per RFC 9162 §2.1.3.2 and §2.1.4.2, with the
//! edge rules of transparency-dev/merkle (size1 = 0 rejected, equal sizes need
//! an empty proof and equal roots, at most 63 hashes).

use super::Hash;

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
    let _ = (index, size, leaf, proof, root);
    todo!()
}

/// The root implied by an inclusion proof (RFC 9162 §2.1.3.2 without the final comparison).
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    let _ = (index, size, leaf, proof);
    todo!()
}

/// Verifies that the tree of `old` leaves with `old_root` is a prefix of the tree of `new` leaves with `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    let _ = (old, new, old_root, new_root, proof);
    todo!()
}

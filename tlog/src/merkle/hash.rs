//! Leaf and interior-node hashing with the RFC 6962 domain-separation prefixes.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: every hash in this ecosystem is exactly 32 bytes.
pub type Hash = [u8; 32];

/// Size in bytes of every hash.
pub const HASH_SIZE: usize = 32;

/// `MTH({})`, SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The root of the empty tree.
pub fn empty_root() -> Hash {
    EMPTY_ROOT
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Converts bytes to a hash, refusing anything that is not exactly 32 bytes.
pub fn hash_from_slice(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

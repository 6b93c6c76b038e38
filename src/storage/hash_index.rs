//! The index from leaf hash to leaf index, kept in sled as buckets.
//!
//! sled splits a leaf page at 16 keys, so one row per entry would cost the
//! log a page per dozen entries: pages are what sled reads back on every
//! start (its snapshot holds one record per page) and rewrites as it
//! compacts. Grouping the entries by the top [`BUCKET_BITS`] bits of the hash
//! keeps the row count fixed (at most 2^18 rows) while the log grows; a
//! bucket's value is its entries, each a 4-byte fingerprint (hash bytes 3..7)
//! and the index as 48 bits, in the order they were appended.
//!
//! A fingerprint only narrows the search: a lookup confirms each candidate
//! against the level-0 hash in the tree files, which are the record. Pure
//! encoding here; the store reads and writes the rows.

use crate::merkle::Hash;

/// Bits of the hash that choose the bucket.
pub const BUCKET_BITS: u32 = 18;
/// Bytes of one entry: fingerprint, then index (48-bit big-endian).
pub const ENTRY_LEN: usize = 10;
/// The largest index an entry can hold (2^48 − 1, far beyond any log here).
pub const MAX_INDEX: u64 = (1 << 48) - 1;

/// The bucket a hash belongs to: its top `BUCKET_BITS` bits.
pub fn bucket_of(hash: &Hash) -> u32 {
    u32::from_be_bytes([0, hash[0], hash[1], hash[2]]) >> (24 - BUCKET_BITS)
}

/// The bucket number as the 3 bytes that follow the row prefix.
pub fn bucket_id(bucket: u32) -> [u8; 3] {
    let b = bucket.to_be_bytes();
    [b[1], b[2], b[3]]
}

/// The fingerprint a bucket entry keeps of a hash.
pub fn fingerprint(hash: &Hash) -> [u8; 4] {
    [hash[3], hash[4], hash[5], hash[6]]
}

/// One entry: `hash`'s fingerprint and `index`. `index` must not exceed
/// [`MAX_INDEX`] (the store refuses to grow past it).
pub fn entry(hash: &Hash, index: u64) -> [u8; ENTRY_LEN] {
    let mut e = [0u8; ENTRY_LEN];
    e[..4].copy_from_slice(&fingerprint(hash));
    e[4..].copy_from_slice(&index.to_be_bytes()[2..]);
    e
}

/// A bucket value's entries as (fingerprint, index), or None if the value is
/// not a whole number of entries.
pub fn entries(value: &[u8]) -> Option<impl Iterator<Item = ([u8; 4], u64)> + '_> {
    if !value.len().is_multiple_of(ENTRY_LEN) {
        return None;
    }
    Some(value.chunks_exact(ENTRY_LEN).map(|e| {
        let mut index = [0u8; 8];
        index[2..].copy_from_slice(&e[4..]);
        ([e[0], e[1], e[2], e[3]], u64::from_be_bytes(index))
    }))
}

/// The indexes in a bucket value whose fingerprint is `hash`'s, in the order
/// they were appended; None if the value is malformed.
pub fn candidates(value: &[u8], hash: &Hash) -> Option<Vec<u64>> {
    let want = fingerprint(hash);
    Some(
        entries(value)?
            .filter(|(fp, _)| *fp == want)
            .map(|(_, index)| index)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(first: [u8; 7]) -> Hash {
        let mut h = [0xee; 32];
        h[..7].copy_from_slice(&first);
        h
    }

    #[test]
    fn bucket_is_the_top_bits() {
        assert_eq!(bucket_of(&hash([0, 0, 0, 0, 0, 0, 0])), 0);
        assert_eq!(
            bucket_of(&hash([0xff, 0xff, 0xff, 0, 0, 0, 0])),
            (1 << BUCKET_BITS) - 1
        );
        // Only the top 18 bits count: the low 6 bits of byte 2 do not.
        assert_eq!(
            bucket_of(&hash([0x12, 0x34, 0x40, 0, 0, 0, 0])),
            bucket_of(&hash([0x12, 0x34, 0x7f, 9, 9, 9, 9]))
        );
        assert_eq!(bucket_id(0x2_3456), [0x02, 0x34, 0x56]);
    }

    #[test]
    fn entries_round_trip_and_candidates_filter() {
        let a = hash([1, 2, 3, 4, 5, 6, 7]);
        let b = hash([1, 2, 3, 9, 9, 9, 9]);
        let mut value = Vec::new();
        value.extend_from_slice(&entry(&a, 5));
        value.extend_from_slice(&entry(&b, MAX_INDEX));
        value.extend_from_slice(&entry(&a, 1 << 40));
        let all: Vec<_> = entries(&value).unwrap().collect();
        assert_eq!(
            all,
            vec![
                ([4, 5, 6, 7], 5),
                ([9, 9, 9, 9], MAX_INDEX),
                ([4, 5, 6, 7], 1 << 40)
            ]
        );
        assert_eq!(candidates(&value, &a), Some(vec![5, 1 << 40]));
        assert_eq!(candidates(&value, &b), Some(vec![MAX_INDEX]));
        assert_eq!(candidates(&value[..9], &a), None);
        assert_eq!(candidates(&[], &a), Some(vec![]));
    }
}

//! Strict text encodings shared by every format: canonical standard base64
//! (RFC 4648 §4, padded, no stray bits) and decimal numbers with no sign and
//! no leading zeros that fit in 64 bits.

use crate::merkle::Hash;

/// Standard base64 with padding.
pub fn encode_b64(bytes: &[u8]) -> String {
    let _ = bytes;
    todo!()
}

/// Decodes canonical standard base64 (padding required, non-canonical trailing bits refused).
pub fn decode_base64_canonical(s: &str) -> Option<Vec<u8>> {
    let _ = s;
    todo!()
}

/// Decodes canonical base64 of exactly 32 bytes.
pub fn decode_hash_b64(s: &str) -> Option<Hash> {
    let _ = s;
    todo!()
}

/// Parses `0` or a decimal with no sign and no leading zero that fits in u64.
pub fn parse_decimal_u64(s: &str) -> Option<u64> {
    let _ = s;
    todo!()
}

//! Strict text encodings shared by every format: canonical standard base64
//! (RFC 4648 §4, padded, no stray bits) and decimal numbers with no sign and
//! no leading zeros that fit in 64 bits.
//!
//! Strictness matters because notes are compared and hashed as bytes: two
//! spellings of the same value would give two different leaves for one fact.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::merkle::Hash;

/// Standard base64 with padding.
pub fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// [`encode_b64`], appended to `out` (for answers written without serde).
pub fn encode_b64_into(bytes: &[u8], out: &mut String) {
    STANDARD.encode_string(bytes, out)
}

/// Decodes canonical standard base64 (padding required, non-canonical trailing bits refused).
///
/// Invariant: `Some(b)` is returned only when `encode_b64(&b) == s`, so each
/// byte string has exactly one accepted spelling.
pub fn decode_base64_canonical(s: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(s).ok()?;
    // The engine's own checks differ between versions and configurations;
    // re-encoding is the definition of canonical, so it is the final word.
    if encode_b64(&bytes) == s {
        Some(bytes)
    } else {
        None
    }
}

/// Decodes canonical base64 of exactly 32 bytes.
pub fn decode_hash_b64(s: &str) -> Option<Hash> {
    // 32 bytes always encode to 44 characters; refuse anything else before
    // allocating for an arbitrarily long input.
    if s.len() != 44 {
        return None;
    }
    let bytes = decode_base64_canonical(s)?;
    Hash::try_from(bytes.as_slice()).ok()
}

/// Parses `0` or a decimal with no sign and no leading zero that fits in u64.
pub fn parse_decimal_u64(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    // Only ASCII digits remain, so the standard parser can fail only on overflow.
    s.parse::<u64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_rejections() {
        assert_eq!(encode_b64(b"ab"), "YWI=");
        assert_eq!(decode_base64_canonical("YWI=").unwrap(), b"ab");
        assert_eq!(decode_base64_canonical("").unwrap(), b"");
        // Missing padding.
        assert!(decode_base64_canonical("YWI").is_none());
        // Non-canonical trailing bits ("YWI=" vs "YWJ=").
        assert!(decode_base64_canonical("YWJ=").is_none());
        // URL-safe alphabet.
        assert!(decode_base64_canonical("-_8=").is_none());
        assert!(decode_base64_canonical("+/8=").is_some());
        // Whitespace.
        assert!(decode_base64_canonical("YW I=").is_none());
        assert!(decode_base64_canonical("YWI=\n").is_none());
        assert!(decode_base64_canonical(" YWI=").is_none());
        // Extra padding.
        assert!(decode_base64_canonical("YWI==").is_none());
    }

    #[test]
    fn hash_b64_is_exactly_32_bytes() {
        let empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(decode_hash_b64(empty).unwrap(), crate::merkle::EMPTY_ROOT);
        assert!(decode_hash_b64(&encode_b64(&[7u8; 31])).is_none());
        assert!(decode_hash_b64(&encode_b64(&[7u8; 33])).is_none());
        // Non-canonical last character of a 32-byte hash.
        assert!(decode_hash_b64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=").is_none());
    }

    #[test]
    fn decimal_rules() {
        assert_eq!(parse_decimal_u64("0"), Some(0));
        assert_eq!(parse_decimal_u64("10"), Some(10));
        assert_eq!(parse_decimal_u64("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+5",
            "-1",
            " 1",
            "1 ",
            "1_0",
            "18446744073709551616",
            "99999999999999999999",
            "١",
        ] {
            assert_eq!(parse_decimal_u64(bad), None, "{bad:?}");
        }
    }
}

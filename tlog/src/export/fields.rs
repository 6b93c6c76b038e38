//! The manifest's field values read without allocating: 64-digit hex
//! hashes and the UTC day of an RFC 3339 `captured_at`.

use super::*;

pub(super) const ZERO_HASH: Hash = [0u8; 32];

/// Hex digit values by byte; 0xFF for a byte that is not a hex digit.
pub(super) const HEX: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// 64 hex digits (either case) as a hash.
pub(super) fn hex_hash(text: &str) -> Option<Hash> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let (hi, lo) = (HEX[usize::from(b[2 * i])], HEX[usize::from(b[2 * i + 1])]);
        if (hi | lo) & 0xF0 != 0 {
            return None;
        }
        *byte = hi << 4 | lo;
    }
    Some(out)
}

/// Lower-case hex of a hash, as the manifest writes them.
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// Two ASCII digits as a number.
pub(super) fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

/// The UTC date of an RFC 3339 time. The form archives write,
/// `YYYY-MM-DDTHH:MM:SSZ`, is read directly (the date is the text's own);
/// any other form (offsets, fractions, lower case) goes through `time`'s
/// full RFC 3339 parser, which also decides everything the direct path
/// does not accept.
pub(super) fn utc_day(text: &str) -> Option<time::Date> {
    let b = text.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let year = b[..4].iter().try_fold(0i32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0'))
        });
        let fields = (
            year,
            two_digits(&b[5..7]),
            two_digits(&b[8..10]),
            two_digits(&b[11..13]),
            two_digits(&b[14..16]),
            two_digits(&b[17..19]),
        );
        if let (Some(y), Some(m), Some(d), Some(h), Some(min), Some(sec)) = fields {
            if h < 24 && min < 60 && sec < 60 {
                if let Some(date) = time::Month::try_from(m)
                    .ok()
                    .and_then(|m| time::Date::from_calendar_date(y, m, d).ok())
                {
                    return Some(date);
                }
            }
        }
    }
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
}

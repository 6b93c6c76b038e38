//! tlog-tiles URL paths: encoding tile coordinates into `tile/<L>/<N>[.p/<W>]`
//! and `tile/entries/<N>[.p/<W>]`, and the strict parser the log's tile
//! endpoint uses.
//!
//! The parser accepts exactly the canonical encoding, so that every tile has
//! one URL and caches (and static mirrors) never hold two copies of one tile
//! or answer for a path the log would never write: `L` without leading zeros,
//! `N` in 3-digit segments with no all-zero leading `x000` segment, `W` 1–255
//! without leading zeros. Invariant: `parse(p) == Ok(t)` implies
//! `t.path() == "tile/" + p`. The parser never panics and does no arithmetic
//! that can overflow.

use super::{TileId, TILE_WIDTH};

/// The largest tile level a path may name (`L` is 0–63 in tlog-tiles).
pub const MAX_PATH_LEVEL: u8 = 63;

/// The `N` part of a tile path: zero-padded 3-digit segments, all but the
/// last prefixed with `x` (0 → `000`, 1000 → `x001/000`, 1234067 → `x001/x234/067`).
pub fn encode_index(index: u64) -> String {
    let mut segments = vec![format!("{:03}", index % 1000)];
    let mut rest = index / 1000;
    while rest > 0 {
        segments.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    segments.reverse();
    segments.join("/")
}

/// `.p/<W>` for a partial width (1–255), nothing for a full tile.
fn width_suffix(width: u16) -> String {
    if width >= TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// The path (without a leading slash) of a hash tile: `tile/<L>/<N>` for a
/// full tile (`width == 256`), `tile/<L>/<N>.p/<W>` for a partial one.
pub fn tile_path(tile: TileId, width: u16) -> String {
    format!(
        "tile/{}/{}{}",
        tile.level,
        encode_index(tile.index),
        width_suffix(width)
    )
}

/// The path (without a leading slash) of entry bundle `index`:
/// `tile/entries/<N>` when full, `tile/entries/<N>.p/<W>` when partial.
pub fn entries_path(index: u64, width: u16) -> String {
    format!(
        "tile/entries/{}{}",
        encode_index(index),
        width_suffix(width)
    )
}

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// A hash tile at this tile level (0–63).
    Hash(u8),
    /// An entry bundle.
    Entries,
}

/// A parsed tile path.
///
/// Invariant: `1 <= width <= 256`; 256 means the full tile (no `.p/` part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

impl TilePath {
    /// True for a `.p/<W>` path.
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The canonical path this parsed from (without a leading slash).
    pub fn path(&self) -> String {
        match self.kind {
            TileKind::Hash(level) => tile_path(
                TileId {
                    level,
                    index: self.index,
                },
                self.width,
            ),
            TileKind::Entries => entries_path(self.index, self.width),
        }
    }
}

/// Why a tile path was refused; the message says what the canonical form is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TilePathError(&'static str);

/// Exactly `digits` ASCII digits, as a number.
fn fixed_digits(s: &str, digits: usize) -> Option<u64> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A decimal without sign or leading zeros, at most `max`.
fn canonical_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok().filter(|&n| n <= max)
}

/// Parses the `N` segments: `x`-prefixed 3-digit groups, then a bare one.
fn parse_index(segments: &[&str]) -> Result<u64, TilePathError> {
    const BAD: TilePathError = TilePathError(
        "the tile index must be 3-digit groups, all but the last prefixed with 'x' (1234067 is x001/x234/067)",
    );
    let (last, groups) = segments.split_last().ok_or(BAD)?;
    if groups.first() == Some(&"x000") {
        return Err(TilePathError(
            "non-canonical tile index: no leading x000 group (1 is 001, not x000/001)",
        ));
    }
    let mut index: u64 = 0;
    for group in groups {
        let value = group
            .strip_prefix('x')
            .and_then(|g| fixed_digits(g, 3))
            .ok_or(BAD)?;
        index = index
            .checked_mul(1000)
            .and_then(|i| i.checked_add(value))
            .ok_or(TilePathError("tile index does not fit in 64 bits"))?;
    }
    let value = fixed_digits(last, 3).ok_or(BAD)?;
    index
        .checked_mul(1000)
        .and_then(|i| i.checked_add(value))
        .ok_or(TilePathError("tile index does not fit in 64 bits"))
}

/// Parses the part of a tile URL after `tile/`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, accepting only the canonical encoding.
pub fn parse_tile_path(path: &str) -> Result<TilePath, TilePathError> {
    let segments: Vec<&str> = path.split('/').collect();
    // Seven index groups hold any u64, plus kind and `.p`/width: anything
    // longer is not a tile path (and bounds the work done on hostile input).
    if segments.len() < 2 || segments.len() > 10 {
        return Err(TilePathError(
            "a tile path is <L>/<N>[.p/<W>] or entries/<N>[.p/<W>]",
        ));
    }
    let kind = if segments[0] == "entries" {
        TileKind::Entries
    } else {
        let level = canonical_decimal(segments[0], u64::from(MAX_PATH_LEVEL)).ok_or(
            TilePathError("the tile level must be 0-63 without leading zeros, or 'entries'"),
        )?;
        // Bounded by 63 above, so the cast is lossless.
        TileKind::Hash(level as u8)
    };
    let rest = &segments[1..];
    let n = rest.len();
    let (index_segments, width) = match rest.get(n.wrapping_sub(2)) {
        Some(before_last) if before_last.ends_with(".p") => {
            let width = canonical_decimal(rest[n - 1], u64::from(TILE_WIDTH) - 1)
                .filter(|&w| w >= 1)
                .ok_or(TilePathError(
                    "a partial tile width must be 1-255 without leading zeros",
                ))?;
            let mut segs: Vec<&str> = rest[..n - 1].to_vec();
            if let Some(last) = segs.last_mut() {
                // Exactly one `.p`: `000.p.p` stays invalid.
                *last = last.strip_suffix(".p").unwrap_or(*last);
            }
            // Bounded by 255 above, so the cast is lossless.
            (segs, width as u16)
        }
        _ => (rest.to_vec(), TILE_WIDTH),
    };
    let index = parse_index(&index_segments)?;
    Ok(TilePath { kind, index, width })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(7), "007");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn paths() {
        let t = TileId {
            level: 0,
            index: 1234067,
        };
        assert_eq!(tile_path(t, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(t, 17), "tile/0/x001/x234/067.p/17");
        assert_eq!(
            tile_path(TileId { level: 2, index: 0 }, 1),
            "tile/2/000.p/1"
        );
        assert_eq!(entries_path(0, 256), "tile/entries/000");
        assert_eq!(entries_path(1001, 5), "tile/entries/x001/001.p/5");
    }

    #[test]
    fn parses_canonical_paths() {
        let p = parse_tile_path("0/x001/x234/067.p/17").unwrap();
        assert_eq!(
            p,
            TilePath {
                kind: TileKind::Hash(0),
                index: 1234067,
                width: 17
            }
        );
        assert!(p.is_partial());
        let p = parse_tile_path("63/000").unwrap();
        assert_eq!((p.kind, p.index, p.width), (TileKind::Hash(63), 0, 256));
        let p = parse_tile_path("entries/x001/000.p/255").unwrap();
        assert_eq!((p.kind, p.index, p.width), (TileKind::Entries, 1000, 255));
        let p = parse_tile_path("1/x018/x446/x744/x073/x709/x551/615").unwrap();
        assert_eq!(p.index, u64::MAX);
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "0",
            "0/",
            "00/000",
            "01/000",
            "64/000",
            "100/000",
            "-1/000",
            "+1/000",
            "a/000",
            "0/00",
            "0/0000",
            "0/1",
            "0/x000/001",
            "0/x001",
            "0/001/000",
            "0/x001/x002",
            "0/x01/000",
            "0/xx01/000",
            "0/000.p",
            "0/000.p/",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/017",
            "0/000.p/+1",
            "0/000.p/1/",
            "0/000/",
            "0//000",
            "/0/000",
            "0/000.P/1",
            "0/000.p.p/1",
            "0/x.p/1",
            "0/x018/x446/x744/x073/x709/x551/616",
            "0/x999/x999/x999/x999/x999/x999/x999/999",
            "entries",
            "entries/",
            "entries/00",
            "Entries/000",
            "entries/x000/000",
            "data/000",
            "0/٣٤٥",
            "0/000\0",
            "0/0 0",
        ] {
            assert!(parse_tile_path(bad).is_err(), "accepted {bad:?}");
        }
    }

    proptest::proptest! {
        /// Anything accepted is the canonical encoding of what it parsed to.
        #[test]
        fn accepted_paths_are_canonical(
            s in "(entries|[0-9]{1,3})(/x?[0-9]{1,4}){1,4}(\\.p(\\.p)?/[0-9]{1,4})?|[0-9a-z./]{0,40}"
        ) {
            if let Ok(p) = parse_tile_path(&s) {
                proptest::prop_assert_eq!(p.path(), format!("tile/{s}"));
            }
        }

        /// Every encoded path parses back to its coordinates.
        #[test]
        fn encoded_paths_round_trip(level in 0u8..=63, index: u64, width in 1u16..=256) {
            let path = tile_path(TileId { level, index }, width);
            let parsed = parse_tile_path(&path["tile/".len()..]).unwrap();
            proptest::prop_assert_eq!(parsed, TilePath { kind: TileKind::Hash(level), index, width });
            let path = entries_path(index, width);
            let parsed = parse_tile_path(&path["tile/".len()..]).unwrap();
            proptest::prop_assert_eq!(parsed, TilePath { kind: TileKind::Entries, index, width });
        }
    }
}

#![no_main]
// Checks: tlog-tiles paths (rootlog::tiles): tile_path output decodes back, any canonical path is what tile_path writes, tile bytes and node locations stay in bounds.
//
// `decode` below is an independent strict decoder, and the differential
// oracle for the library's own parser, `rootlog::tiles::parse_tile_path`.
use libfuzzer_sys::fuzz_target;
use rootlog::merkle::{Hash, NodeId, HASH_SIZE};
use rootlog::tiles::{
    encode_index, hash_at, node_location, parse_tile, tile_path, tile_width, width_needed, TileId,
    FULL_TILE_BYTES, TILE_WIDTH,
};

/// A decimal without sign or leading zeros, at most `max` (at most 3 digits).
fn small_decimal(s: &str, max: u16) -> Option<u16> {
    let ok = !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok().filter(|&n| n <= max)
}

/// Exactly three ASCII digits.
fn group(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `tile/<L>/<N>[.p/<W>]` in canonical form: L 0–63, N in 3-digit groups with
/// no leading `x000`, W 1–255. Returns (level, index, width; 256 = full).
fn decode(path: &str) -> Option<(u8, u64, u16)> {
    let rest = path.strip_prefix("tile/")?;
    let (rest, width) = match rest.rsplit_once(".p/") {
        Some((r, w)) => (r, small_decimal(w, TILE_WIDTH - 1).filter(|&w| w >= 1)?),
        None => (rest, TILE_WIDTH),
    };
    let (level, n) = rest.split_once('/')?;
    let level = small_decimal(level, 63)? as u8;
    let groups: Vec<&str> = n.split('/').collect();
    let (last, prefixed) = groups.split_last()?;
    if prefixed.first() == Some(&"x000") {
        return None;
    }
    let mut index: u64 = 0;
    for g in prefixed {
        index = index
            .checked_mul(1000)?
            .checked_add(group(g.strip_prefix('x')?)?)?;
    }
    index = index.checked_mul(1000)?.checked_add(group(last)?)?;
    Some((level, index, width))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (j, byte) in b.iter_mut().enumerate() {
        *byte = data.get(at + j).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    // 1. Encoder: every (level, index, width) has a path that decodes back.
    let level = data.first().copied().unwrap_or(0) % 64;
    let index = u64_at(data, 1);
    let width = (u64_at(data, 9) % 256) as u16 + 1;
    let tile = TileId { level, index };
    let path = tile_path(tile, width);
    assert_eq!(decode(&path), Some((level, index, width)), "{path}");
    assert!(encode_index(index).split('/').count() <= 7);

    // 2. Canonical paths: a path the strict decoder accepts is exactly what
    //    the encoder writes, so each tile has one URL.
    if let Ok(s) = std::str::from_utf8(data) {
        // The server's strict parser: whatever it accepts renders back to exactly that path.
        if let Ok(parsed) = rootlog::tiles::parse_tile_path(s) {
            assert_eq!(parsed.path(), format!("tile/{s}"), "parse_tile_path accepted a non-canonical path");
        }
        if let Some((l, i, w)) = decode(s) {
            assert_eq!(tile_path(TileId { level: l, index: i }, w), s);
        }
    }

    // 3. Tile widths and node locations stay inside a tile.
    let size = u64_at(data, 17);
    assert!(tile_width(tile, size) <= TILE_WIDTH);
    let node = NodeId::new(data.get(25).copied().unwrap_or(0) % 72, index);
    match node_location(node) {
        None => assert!(node.level >= 64),
        Some(loc) => {
            assert!(loc.count.is_power_of_two() && loc.offset % loc.count == 0);
            assert!(width_needed(&loc) <= TILE_WIDTH);
            assert_eq!(u32::from(loc.tile.level), u32::from(node.level) / 8);
            // 4. Tile contents: whole hashes only, at most 256 of them.
            match parse_tile(data) {
                None => assert!(data.len() % HASH_SIZE != 0 || data.len() > FULL_TILE_BYTES),
                Some(hashes) => {
                    assert_eq!(hashes.concat(), data);
                    let got: Option<Hash> = hash_at(&loc, &hashes);
                    assert_eq!(
                        got.is_some(),
                        hashes.len() >= usize::from(width_needed(&loc))
                    );
                    if loc.count == 1 && got.is_some() {
                        assert_eq!(got, Some(hashes[usize::from(loc.offset)]));
                    }
                }
            }
        }
    }
});

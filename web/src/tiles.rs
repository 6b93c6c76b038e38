//! Evidence from a static mirror's files, for the page when it is served by
//! a mirror (a directory behind a web server, or an object store) instead
//! of the log's API: the statement read out of an entry bundle, and
//! inclusion and consistency proofs folded from hash tiles. The page
//! fetches; this module only names what to fetch and assembles what came,
//! with the core crate's functions (`tiles::tiles_for_nodes`,
//! `tiles::hashes_from_tiles`, the proof plans) that the CLI's tile client
//! runs too.
//!
//! Nothing here is trusted or judged: the assembled proofs and entries go
//! into [`crate::check::check_day`] like the log's own answers, so a wrong
//! tile or bundle shows as a failed check there, never as a verdict here.

use std::collections::BTreeMap;

use rootlog_tlog::merkle::{consistency_plan, inclusion_plan, Hash, NodeId, ProofPlan};
use rootlog_tlog::note::{decode_base64_canonical, encode_b64, Checkpoint, Note};
use rootlog_tlog::tiles::{
    self, decode_bundle, entries_path, tile_path, tile_width, TileId, FULL_TILE_BYTES, TILE_WIDTH,
};
use serde::Serialize;

/// One file the page is to fetch: `path` (below the mirror's prefix), or,
/// when that partial file is gone, `full_path` truncated to `width`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TileFetch {
    pub path: String,
    pub full_path: String,
    pub width: u16,
}

/// The perfect nodes a proof needs: `kind` is `inclusion` (`a` the leaf
/// index, `b` the tree size) or `consistency` (`a` the old size, `b` the
/// new size, `0 < a ≤ b`).
fn plan(kind: &str, a: u64, b: u64) -> Result<(Vec<NodeId>, u64, ProofPlan), String> {
    let plan = match kind {
        "inclusion" => {
            inclusion_plan(a, b).map_err(|e| format!("inclusion proof of {a} in {b}: {e}"))?
        }
        "consistency" => {
            consistency_plan(a, b).map_err(|e| format!("consistency proof from {a} to {b}: {e}"))?
        }
        other => {
            return Err(format!(
                "proof kind {other:?}: expected inclusion or consistency"
            ))
        }
    };
    Ok((plan.nodes.clone(), b, plan))
}

/// The hash tiles to fetch for a proof, as a JSON array of [`TileFetch`].
pub fn proof_tiles(kind: &str, a: u64, b: u64) -> Result<String, String> {
    let (nodes, size, _) = plan(kind, a, b)?;
    let fetches: Vec<TileFetch> = tiles::tiles_for_nodes(&nodes, size)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(tile, width)| TileFetch {
            path: tile_path(tile, width),
            full_path: tile_path(tile, TILE_WIDTH),
            width,
        })
        .collect();
    serde_json::to_string(&fetches).map_err(|e| e.to_string())
}

/// The proof (a JSON array of base64 hashes, leaf side first) from the
/// tiles [`proof_tiles`] named, given as a JSON array of base64 file
/// bodies in the same order: each the partial tile itself or the full one.
pub fn proof_from_tiles(kind: &str, a: u64, b: u64, bodies: &str) -> Result<String, String> {
    let (nodes, size, plan) = plan(kind, a, b)?;
    let wanted = tiles::tiles_for_nodes(&nodes, size).map_err(|e| e.to_string())?;
    let bodies: Vec<String> =
        serde_json::from_str(bodies).map_err(|e| format!("tile bodies: {e}"))?;
    if bodies.len() != wanted.len() {
        return Err(format!(
            "{} tile bodies for {} tiles",
            bodies.len(),
            wanted.len()
        ));
    }
    let mut fetched: BTreeMap<TileId, Vec<Hash>> = BTreeMap::new();
    for ((tile, width), body) in wanted.into_iter().zip(bodies) {
        let path = tile_path(tile, width);
        let bytes = decode_base64_canonical(&body).ok_or(format!("{path}: body is not base64"))?;
        let exact = usize::from(width) * 32;
        if bytes.len() != exact && bytes.len() != FULL_TILE_BYTES {
            return Err(format!(
                "{path}: {} bytes, expected {exact} or a full tile",
                bytes.len()
            ));
        }
        let hashes = tiles::parse_tile(&bytes[..exact]).ok_or(format!("{path}: not hashes"))?;
        fetched.insert(tile, hashes);
    }
    let hashes = tiles::hashes_from_tiles(&nodes, size, &fetched).map_err(|e| e.to_string())?;
    let proof = plan.assemble(&hashes).map_err(|e| e.to_string())?;
    let proof: Vec<String> = proof.iter().map(|h| encode_b64(h)).collect();
    serde_json::to_string(&proof).map_err(|e| e.to_string())
}

/// The entry bundle holding leaf `index` of the tree of `size` leaves.
fn bundle_fetch(index: u64, size: u64) -> Result<TileFetch, String> {
    if index >= size {
        return Err(format!("entry {index} is not below the tree size {size}"));
    }
    let bundle = index / u64::from(TILE_WIDTH);
    let width = tile_width(
        TileId {
            level: 0,
            index: bundle,
        },
        size,
    );
    Ok(TileFetch {
        path: entries_path(bundle, width),
        full_path: entries_path(bundle, TILE_WIDTH),
        width,
    })
}

/// [`bundle_fetch`] as JSON, for the page.
pub fn bundle_for(index: u64, size: u64) -> Result<String, String> {
    serde_json::to_string(&bundle_fetch(index, size)?).map_err(|e| e.to_string())
}

/// Entry `index` (its text) out of the bundle [`bundle_for`] named, given
/// as base64: the partial bundle of that width, or the full one.
pub fn entry_from_bundle(index: u64, size: u64, body: &str) -> Result<String, String> {
    let fetch = bundle_fetch(index, size)?;
    let bytes =
        decode_base64_canonical(body).ok_or(format!("{}: body is not base64", fetch.path))?;
    let entries = decode_bundle(&bytes).map_err(|e| format!("{}: {e}", fetch.path))?;
    if entries.len() != usize::from(fetch.width) && entries.len() != usize::from(TILE_WIDTH) {
        return Err(format!(
            "{}: {} entries, expected {} or a full bundle",
            fetch.path,
            entries.len(),
            fetch.width
        ));
    }
    let position = (index % u64::from(TILE_WIDTH)) as usize;
    let entry = entries
        .get(position)
        .ok_or(format!("{}: no entry {position}", fetch.path))?;
    String::from_utf8(entry.clone()).map_err(|_| format!("entry {index} is not UTF-8 text"))
}

/// The tree size a checkpoint note claims (unverified: it only says which
/// tiles to fetch; the checkpoint is verified with the evidence).
pub fn checkpoint_size(note: &str) -> Result<u64, String> {
    let parsed = Note::parse(note.as_bytes()).map_err(|e| format!("checkpoint: {e}"))?;
    Ok(Checkpoint::parse(&parsed.text)
        .map_err(|e| format!("checkpoint: {e}"))?
        .size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootlog_tlog::merkle::{leaf_hash, verify_consistency, verify_inclusion, Frontier};
    use rootlog_tlog::note::decode_hash_b64;
    use rootlog_tlog::tiles::encode_bundle;

    /// A log of `n` ≤ 256 entries as a mirror has it: the level-0 tile,
    /// the entry bundle, and the roots of every size.
    fn mirror(n: usize) -> (Vec<u8>, Vec<u8>, Vec<Hash>, Vec<String>) {
        let entries: Vec<String> = (0..n).map(|i| format!("entry {i}\n")).collect();
        let mut tree = Frontier::new();
        let mut tile = Vec::new();
        let mut roots = vec![tree.root()];
        for e in &entries {
            let h = leaf_hash(e.as_bytes());
            tile.extend_from_slice(&h);
            tree.append(h, |_, _| {});
            roots.push(tree.root());
        }
        (tile, encode_bundle(&entries).unwrap(), roots, entries)
    }

    fn hashes(json: &str) -> Vec<Hash> {
        let list: Vec<String> = serde_json::from_str(json).unwrap();
        list.iter().map(|h| decode_hash_b64(h).unwrap()).collect()
    }

    #[test]
    fn proofs_and_entries_from_a_mirrors_files() {
        let (tile, bundle, roots, entries) = mirror(256);
        // The tree of 13 reads the partial tile of width 13, or the full
        // file cut to it.
        let specs: Vec<serde_json::Value> =
            serde_json::from_str(&proof_tiles("inclusion", 5, 13).unwrap()).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0]["path"], "tile/0/000.p/13");
        for body in [&tile[..13 * 32], &tile[..]] {
            let bodies = serde_json::to_string(&[encode_b64(body)]).unwrap();
            let proof = hashes(&proof_from_tiles("inclusion", 5, 13, &bodies).unwrap());
            let leaf = leaf_hash(entries[5].as_bytes());
            verify_inclusion(5, 13, &leaf, &proof, &roots[13]).unwrap();
        }
        let bodies = serde_json::to_string(&[encode_b64(&tile)]).unwrap();
        let proof = hashes(&proof_from_tiles("consistency", 7, 20, &bodies).unwrap());
        verify_consistency(7, 20, &roots[7], &roots[20], &proof).unwrap();
        assert_eq!(
            entry_from_bundle(9, 20, &encode_b64(&bundle)).unwrap(),
            entries[9]
        );
    }

    #[test]
    fn bad_files_are_errors() {
        let (tile, bundle, _, _) = mirror(20);
        let short = serde_json::to_string(&[encode_b64(&tile[..31])]).unwrap();
        assert!(proof_from_tiles("inclusion", 5, 13, &short).is_err());
        assert!(proof_from_tiles("inclusion", 5, 13, "[]").is_err());
        assert!(proof_from_tiles("sideways", 5, 13, "[]").is_err());
        assert!(entry_from_bundle(20, 20, &encode_b64(&bundle)).is_err());
        assert!(entry_from_bundle(3, 20, "not base64!").is_err());
    }
}

//! The older layout, which kept leaves (`L` + index) and perfect nodes
//! (`N` + level + index) as sled rows, and an index by date (`D`), and its
//! one-time move into the tree files.
//!
//! The move is restartable: the tree files are rebuilt from the `L` rows
//! from scratch, the recomputed tree must match the stored `N` nodes of the
//! right edge (so a damaged legacy directory is refused, not silently
//! rewritten), the files are synced, and only then does the caller record the
//! new layout. The old rows are deleted after that, in batches; a crash in
//! between leaves rows that the next open deletes (`remove_leftovers`).

use std::path::Path;

use crate::merkle::{leaf_hash, root_plan, Frontier, Hash, NodeId};

use super::tree_files::{io_error, Access, TreeFiles};
use super::{read_size, StoreError};

const LEAF: u8 = b'L';
const NODE: u8 = b'N';
/// The older layout's index by date, now answered through the tenants.
const BY_DATE: u8 = b'D';
/// Leaves moved per append (and per sync of the files).
const CHUNK: u64 = 16_384;
/// Rows deleted per sled batch.
const DELETE_BATCH: usize = 65_536;

fn leaf_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = LEAF;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn node_key(id: NodeId) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[0] = NODE;
    k[1] = id.level;
    k[2..].copy_from_slice(&id.index.to_be_bytes());
    k
}

/// Whether any row of the older layout is stored.
pub fn has_rows(db: &sled::Db) -> Result<bool, StoreError> {
    for prefix in [LEAF, NODE, BY_DATE] {
        if db.scan_prefix([prefix]).next().transpose()?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the tree files from the `L` rows of a legacy directory (nothing to
/// do for a new one) and syncs them. The caller then records the layout.
pub fn migrate(db: &sled::Db, dir: &Path) -> Result<(), StoreError> {
    if !has_rows(db)? {
        return Ok(());
    }
    let size = read_size(db)?;
    tracing::info!(
        size,
        "moving leaves and nodes out of sled into the tree files"
    );
    // Start from empty files: an interrupted earlier move left at most an
    // uncommitted tail, and these files are not yet the record.
    for name in ["leaves", "leaf-ends", "hashes"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| io_error(name, e))?;
        }
    }
    let files = TreeFiles::open(dir, 0, Access::Write)?;
    let mut frontier = Frontier::new();
    let mut first = 0u64;
    while first < size {
        let end = (first + CHUNK).min(size);
        let mut leaves = Vec::with_capacity((end - first) as usize);
        for index in first..end {
            let bytes = db.get(leaf_key(index))?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "legacy layout: leaf {index} of {size} is missing; the tree cannot be moved"
                ))
            })?;
            leaves.push(bytes);
        }
        let mut nodes = Vec::with_capacity(leaves.len() * 2);
        for bytes in &leaves {
            frontier.append(leaf_hash(bytes), |id, h| nodes.push((id, *h)));
        }
        let refs: Vec<&[u8]> = leaves.iter().map(|l| l.as_ref()).collect();
        files.append(first, &refs, &nodes)?;
        files.publish(end)?;
        first = end;
    }
    // The recomputed right edge must be the stored one, which every stored
    // checkpoint was signed over.
    for id in root_plan(size) {
        let stored: Option<Hash> = db
            .get(node_key(id))?
            .and_then(|v| v.as_ref().try_into().ok());
        let moved = files.node(id)?;
        if stored.is_none() || stored != moved {
            return Err(StoreError::Corrupt(format!(
                "legacy layout: node level {} index {} does not match its leaves; \
                 run `rootlog fsck` with the release that wrote this directory",
                id.level, id.index
            )));
        }
    }
    tracing::info!(size, "leaves and nodes are in the tree files");
    Ok(())
}

/// Deletes the rows of the older layout once the tree files are the record.
pub fn remove_leftovers(db: &sled::Db) -> Result<(), StoreError> {
    for prefix in [LEAF, NODE, BY_DATE] {
        loop {
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for row in db.scan_prefix([prefix]).keys().take(DELETE_BATCH) {
                batch.remove(row?);
                n += 1;
            }
            if n == 0 {
                break;
            }
            db.apply_batch(batch)?;
            db.flush()?;
        }
    }
    Ok(())
}

//! The cheap check of the right edge, for a running server: the last
//! [`RECENT_LEAVES`] leaves, the nodes above them and along the
//! `root_plan`, and the latest checkpoint, through the same comparisons as
//! the full check.

use super::checkpoints::{check_note, check_root, report_uncovered};
use super::report::{corrupt, Checked, FindingKind, Findings, Report};
use super::tree::{compare_leaf, compare_node, node_hash_at};
use super::{read_meta, LEVELS, MAX_FINDINGS};
use crate::merkle::{leaf_hash, node_hash, root_plan, NodeId};
use crate::note::Verifier;
use crate::storage::{Store, StoreError};

/// Leaves the periodic check re-hashes at the right edge of the tree.
pub const RECENT_LEAVES: u64 = 256;

/// The cheap check of the right edge: the last [`RECENT_LEAVES`] leaves
/// against their stored hashes, every stored node above them and along the
/// `root_plan` against its children, and the latest checkpoint (signature,
/// origin, size, root against the stored tree).
///
/// Safe while the sequencer appends: the tree only grows, each read sees a
/// whole integration batch or none of it, and the checkpoint is read after
/// the size, so it covers at least that size.
pub fn check_recent(store: &Store, log_key: &Verifier) -> Result<Report, StoreError> {
    let mut findings = Findings::new(MAX_FINDINGS);
    let (origin, size) = read_meta(store, log_key, &mut findings)?;
    let mut edge = RightEdge {
        store,
        start: size.saturating_sub(RECENT_LEAVES),
        size,
        f: findings,
        checked: Checked::default(),
    };
    edge.check_leaves()?;
    edge.check_nodes()?;
    let RightEdge {
        mut f, mut checked, ..
    } = edge;
    check_latest(
        store,
        log_key,
        origin.as_deref(),
        size,
        &mut f,
        &mut checked,
    )?;
    Ok(f.into_report(origin, size, checked))
}

/// The window of the tree the recent check covers, leaves `start..size`,
/// and what it has found so far.
struct RightEdge<'a> {
    store: &'a Store,
    start: u64,
    size: u64,
    f: Findings,
    checked: Checked,
}

impl RightEdge<'_> {
    /// The window's leaves against their stored level-0 hashes.
    fn check_leaves(&mut self) -> Result<(), StoreError> {
        let (store, f) = (self.store, &mut self.f);
        for i in self.start..self.size {
            let bytes = match corrupt(store.leaf(i))? {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    f.push(
                        FindingKind::LeafMissing,
                        format!("index {i}"),
                        "no stored note bytes",
                    );
                    continue;
                }
                Err(why) => {
                    f.push(FindingKind::LeafMissing, format!("index {i}"), why);
                    continue;
                }
            };
            self.checked.leaves += 1;
            let Some(stored) = node_hash_at(store, NodeId::new(0, i), f)? else {
                continue;
            };
            self.checked.nodes += 1;
            compare_leaf(f, i, &leaf_hash(&bytes), &stored);
        }
        Ok(())
    }

    /// Nodes wholly inside the window, then the right edge's nodes (those
    /// above the window are recomputed from their two stored children).
    fn check_nodes(&mut self) -> Result<(), StoreError> {
        let (store, f) = (self.store, &mut self.f);
        let mut ids = Vec::new();
        for level in 1..LEVELS as u8 {
            let first = self.start.div_ceil(1u64 << level);
            let end = self.size >> level;
            ids.extend((first..end).map(|index| NodeId::new(level, index)));
        }
        ids.extend(root_plan(self.size).into_iter().filter(|id| id.level > 0));
        ids.sort();
        ids.dedup();
        for id in ids {
            let Some(stored) = node_hash_at(store, id, f)? else {
                continue;
            };
            let left = node_hash_at(store, NodeId::new(id.level - 1, id.index << 1), f)?;
            let right = node_hash_at(store, NodeId::new(id.level - 1, (id.index << 1) | 1), f)?;
            if let (Some(l), Some(r)) = (left, right) {
                self.checked.nodes += 1;
                compare_node(f, id, &stored, &node_hash(&l, &r));
            }
        }
        Ok(())
    }
}

/// The latest checkpoint: it covers at least the tree of `size` leaves
/// read before it, is the log's, and signs the stored tree's root.
fn check_latest(
    store: &Store,
    log_key: &Verifier,
    origin: Option<&str>,
    size: u64,
    f: &mut Findings,
    checked: &mut Checked,
) -> Result<(), StoreError> {
    let (cp_size, note) = match corrupt(store.latest_checkpoint())? {
        Ok(Some(latest)) => latest,
        Ok(None) => {
            report_uncovered(f, size, None);
            return Ok(());
        }
        Err(why) => {
            f.push(FindingKind::CheckpointMalformed, "C", why);
            return Ok(());
        }
    };
    checked.checkpoints += 1;
    // The checkpoint is read after the size: a newer batch may have landed
    // since, never an older one.
    let tree_now = match corrupt(store.size())? {
        Ok(s) => s.max(size),
        Err(_) => size,
    };
    if cp_size < size {
        report_uncovered(f, size, Some(cp_size));
    }
    if let Some(checkpoint) = check_note(f, log_key, origin, cp_size, tree_now, &note) {
        check_root(store, f, cp_size, &checkpoint.root)?;
    }
    Ok(())
}

//! The tree check: every leaf re-hashed against its stored hash and every
//! stored node against the hash of its children, in one streaming pass for
//! the full check, and the same comparisons for the right edge.
//!
//! The comparisons ([`compare_leaf`], [`compare_node`]) are the one place a
//! leaf or node mismatch is decided and worded; both checks use them.

use super::report::{b64, corrupt, node_location, FindingKind, Findings, ProgressFn, Stage};
use super::streams::{HashStream, LeafStream};
use super::{Checker, LEVELS};
use crate::merkle::{node_hash, Hash, NodeId};
use crate::statement::parse_submission;
use crate::storage::{Store, StoreError};
use crate::tenant_key::is_key_change_entry;

use super::indexes::LeafKeys;

/// Leaf `i`'s note bytes hash to `computed`, the tree holds `stored`.
pub(super) fn compare_leaf(f: &mut Findings, i: u64, computed: &Hash, stored: &Hash) {
    if computed != stored {
        f.push(
            FindingKind::LeafHashMismatch,
            format!("index {i}"),
            format!(
                "the note bytes hash to {}, the tree holds {}",
                b64(computed),
                b64(stored)
            ),
        );
    }
}

/// Node `id` is stored as `stored`, its children hash to `recomputed`.
pub(super) fn compare_node(f: &mut Findings, id: NodeId, stored: &Hash, recomputed: &Hash) {
    if stored != recomputed {
        f.push(
            FindingKind::NodeMismatch,
            node_location(id.level, id.index),
            format!(
                "stored {}, its children hash to {}",
                b64(stored),
                b64(recomputed)
            ),
        );
    }
}

/// A stored node's hash read by id; absence or a malformed value is
/// reported.
pub(super) fn node_hash_at(
    store: &Store,
    id: NodeId,
    f: &mut Findings,
) -> Result<Option<Hash>, StoreError> {
    match corrupt(store.node(id))? {
        Ok(Some(hash)) => Ok(Some(hash)),
        Ok(None) => {
            f.push(
                FindingKind::NodeMissing,
                node_location(id.level, id.index),
                "no stored hash for this complete subtree",
            );
            Ok(None)
        }
        Err(why) => {
            f.push(
                FindingKind::NodeMissing,
                node_location(id.level, id.index),
                why,
            );
            Ok(None)
        }
    }
}

impl Checker<'_> {
    /// Leaves, nodes and forward index lookups in one streaming pass.
    pub(super) fn check_tree(&mut self, progress: ProgressFn<'_>) -> Result<(), StoreError> {
        let store = self.store;
        let size = self.size;
        self.check_file_lengths()?;
        let mut leaves = LeafStream::new(store.tree_files(), size);
        let mut hashes = HashStream::new(store.tree_files())?;
        // pending[l]: the value of the last even (left) node at level l,
        // waiting for its right sibling; None when it could not be known.
        let mut pending: [Option<Hash>; LEVELS] = [None; LEVELS];
        progress(Stage::Tree, 0, Some(size));
        for i in 0..size {
            let leaf = leaves.take(i, &mut self.findings)?;
            let stored = hashes.take(NodeId::new(0, i), &mut self.findings)?;
            let mut keys = match &leaf {
                Some(bytes) => {
                    self.checked.leaves += 1;
                    let keys = LeafKeys::of(bytes);
                    if is_key_change_entry(bytes) {
                        self.key_change(i, bytes);
                    } else if keys.statement.is_none() {
                        let why = parse_submission(bytes)
                            .err()
                            .map(|e| e.to_string())
                            .unwrap_or_default();
                        self.findings
                            .push(FindingKind::LeafUnparseable, format!("index {i}"), why);
                    }
                    Some(keys)
                }
                None => None,
            };
            let value = self.level0(i, stored, keys.as_ref().map(|k| k.hash))?;
            if let Some(keys) = &mut keys {
                if let Some(trusted) = value {
                    keys.hash = trusted;
                }
                self.check_record(keys, i)?;
            }
            self.climb(&mut hashes, &mut pending, i, value)?;
            if i % 4096 == 4095 {
                progress(Stage::Tree, i + 1, Some(size));
            }
        }
        progress(Stage::Tree, size, Some(size));
        Ok(())
    }

    /// The tree files must hold at least what the committed tree needs. A
    /// longer file is an uncommitted tail from a crash (cut off when the
    /// server next opens the log), not damage.
    fn check_file_lengths(&mut self) -> Result<(), StoreError> {
        let files = self.store.tree_files();
        let have = files.lengths()?;
        let ends_needed = self.size.saturating_mul(8);
        if have.leaf_ends < ends_needed {
            self.findings.push(
                FindingKind::TreeFileShort,
                "leaf-ends",
                format!(
                    "holds {} bytes, the tree of {} leaves needs {ends_needed}",
                    have.leaf_ends, self.size
                ),
            );
            return Ok(());
        }
        match corrupt(files.needed_lengths(self.size))? {
            Ok(need) => {
                for (name, have, need) in [
                    ("leaves", have.leaves, need.leaves),
                    ("hashes", have.hashes, need.hashes),
                ] {
                    if have < need {
                        self.findings.push(
                            FindingKind::TreeFileShort,
                            name,
                            format!(
                                "holds {have} bytes, the tree of {} leaves needs {need}",
                                self.size
                            ),
                        );
                    }
                }
            }
            Err(why) => self
                .findings
                .push(FindingKind::TreeFileShort, "leaf-ends", why),
        }
        Ok(())
    }

    /// Compares leaf `i`'s stored hash with its note bytes and returns the
    /// value to build on.
    ///
    /// The stored hash is what checkpoints were signed over, so it is taken
    /// unless the stored level-1 node shows that it is the stored hash, not
    /// the note, that changed: then the finding is a node mismatch and the
    /// note's hash is used, so one altered row gives one finding.
    fn level0(
        &mut self,
        i: u64,
        stored: Option<Hash>,
        computed: Option<Hash>,
    ) -> Result<Option<Hash>, StoreError> {
        let (Some(s), Some(c)) = (stored, computed) else {
            return Ok(stored.or(computed));
        };
        self.checked.nodes += 1;
        if s == c {
            return Ok(Some(s));
        }
        let sibling = i ^ 1;
        let parent_says_node_changed = if sibling < self.size {
            let sib = corrupt(self.store.node(NodeId::new(0, sibling)))?;
            let parent = corrupt(self.store.node(NodeId::new(1, i >> 1)))?;
            match (sib.ok().flatten(), parent.ok().flatten()) {
                (Some(sib), Some(parent)) => {
                    let with = |h: &Hash| {
                        if i & 1 == 0 {
                            node_hash(h, &sib)
                        } else {
                            node_hash(&sib, h)
                        }
                    };
                    with(&c) == parent && with(&s) != parent
                }
                _ => false,
            }
        } else {
            false
        };
        if parent_says_node_changed {
            self.findings.push(
                FindingKind::NodeMismatch,
                node_location(0, i),
                format!(
                    "stored leaf hash {} differs from the note bytes' hash {}, which the level-1 node agrees with",
                    b64(&s),
                    b64(&c)
                ),
            );
            Ok(Some(c))
        } else {
            compare_leaf(&mut self.findings, i, &c, &s);
            Ok(Some(s))
        }
    }

    /// Climbs from leaf `i` through every node it completes, comparing each
    /// stored node with the hash of its two children.
    ///
    /// The recomputed hash is carried upwards even when the stored one
    /// differs: a single altered node then shows as one finding rather than
    /// also as a mismatch of its parent.
    fn climb(
        &mut self,
        hashes: &mut HashStream<'_>,
        pending: &mut [Option<Hash>; LEVELS],
        i: u64,
        value: Option<Hash>,
    ) -> Result<(), StoreError> {
        let mut value = value;
        let mut index = i;
        let mut level = 0usize;
        while index & 1 == 1 && level + 1 < LEVELS {
            let left = pending[level].take();
            let parent_level = (level + 1) as u8;
            let parent_index = index >> 1;
            let stored =
                hashes.take(NodeId::new(parent_level, parent_index), &mut self.findings)?;
            let recomputed = match (left, value) {
                (Some(l), Some(r)) => Some(node_hash(&l, &r)),
                _ => None,
            };
            if let (Some(s), Some(r)) = (stored, recomputed) {
                self.checked.nodes += 1;
                let id = NodeId::new(parent_level, parent_index);
                compare_node(&mut self.findings, id, &s, &r);
            }
            value = recomputed.or(stored);
            index = parent_index;
            level += 1;
        }
        pending[level] = value;
        Ok(())
    }
}

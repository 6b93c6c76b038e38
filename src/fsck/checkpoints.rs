//! The checkpoint check: each stored checkpoint is the log's (signature,
//! origin, the size it is stored under, within the tree), its root is the
//! stored tree's root at its size, it extends the previous good one, and the
//! latest covers the tree.
//!
//! [`check_note`], [`check_root`] and [`report_uncovered`] are the one place
//! these are decided and worded; the full and the recent check use them.

use super::indexes::decode_index;
use super::report::{b64, corrupt, key_location, FindingKind, Findings, ProgressFn, Stage};
use super::Checker;
use crate::merkle::{root_plan, verify_consistency, Frontier, Hash};
use crate::note::{open_checkpoint, Checkpoint, OpenCheckpointError, Verifier};
use crate::proof_reader::{ProofReadError, ProofReader};
use crate::storage::{prefix, Store, StoreError};

impl Checker<'_> {
    /// Every stored checkpoint: signature, origin, size, root against the
    /// stored tree, consistency with the previous good one; and the latest
    /// must cover the tree.
    pub(super) fn check_checkpoints(
        &mut self,
        origin: Option<&str>,
        progress: ProgressFn<'_>,
    ) -> Result<(), StoreError> {
        // The last checkpoint that verified and matched the stored tree: the
        // next one must extend it. An altered checkpoint is not taken as the
        // base, so it is blamed alone rather than also its successor.
        let mut base: Option<(u64, Hash)> = None;
        let mut latest: Option<u64> = None;
        for row in self.store.scan_raw(&[prefix::CHECKPOINT]) {
            let (key, value) = row?;
            let Some(size) = key.get(1..).and_then(decode_index) else {
                self.findings.push(
                    FindingKind::MalformedKey,
                    key_location(&key),
                    format!("key is {} bytes, expected 9", key.len()),
                );
                continue;
            };
            self.checked.checkpoints += 1;
            if self.checked.checkpoints.is_multiple_of(1024) {
                progress(Stage::Checkpoints, self.checked.checkpoints, None);
            }
            latest = Some(size);
            let Some(checkpoint) = check_note(
                &mut self.findings,
                self.log_key,
                origin,
                size,
                self.size,
                &value,
            ) else {
                continue;
            };
            let root_ok = check_root(self.store, &mut self.findings, size, &checkpoint.root)?;
            if let Some((old, old_root)) = base {
                if old > 0 {
                    if let Err(why) =
                        consistent(self.store, old, size, &old_root, &checkpoint.root)?
                    {
                        self.findings.push(
                            FindingKind::CheckpointInconsistent,
                            format!("size {size}"),
                            format!("not consistent with the checkpoint of size {old}: {why}"),
                        );
                    }
                }
            }
            if root_ok {
                base = Some((size, checkpoint.root));
            }
        }
        progress(
            Stage::Checkpoints,
            self.checked.checkpoints,
            Some(self.checked.checkpoints),
        );
        if latest != Some(self.size) {
            report_uncovered(&mut self.findings, self.size, latest);
        }
        Ok(())
    }
}

/// Reports that the latest stored checkpoint (`latest`, None when there is
/// none) does not cover the tree of `tree_size` leaves.
pub(super) fn report_uncovered(f: &mut Findings, tree_size: u64, latest: Option<u64>) {
    let location = format!("size {tree_size}");
    match latest {
        Some(s) => f.push(
            FindingKind::CheckpointMissing,
            location,
            format!("the latest checkpoint covers size {s}, not the tree size"),
        ),
        None => f.push(
            FindingKind::CheckpointMissing,
            location,
            "no checkpoint is stored",
        ),
    }
}

/// Signature, origin and size of the checkpoint stored under `size`; the
/// parsed body if it is the log's and within the tree, else None with a
/// finding.
pub(super) fn check_note(
    f: &mut Findings,
    log_key: &Verifier,
    origin: Option<&str>,
    size: u64,
    tree_size: u64,
    value: &[u8],
) -> Option<Checkpoint> {
    match verify_stored_checkpoint(log_key, origin, size, tree_size, value) {
        Ok(checkpoint) => Some(checkpoint),
        Err((kind, detail)) => {
            f.push(kind, format!("size {size}"), detail);
            None
        }
    }
}

/// The checkpoint's signed `root` must equal the stored tree's root at its
/// size; Ok(false) with a finding when it does not or cannot be computed.
pub(super) fn check_root(
    store: &Store,
    f: &mut Findings,
    size: u64,
    root: &Hash,
) -> Result<bool, StoreError> {
    match corrupt(root_at(store, size))? {
        Ok(stored) if &stored == root => Ok(true),
        Ok(stored) => {
            f.push(
                FindingKind::CheckpointRoot,
                format!("size {size}"),
                format!(
                    "signed root {}, the stored tree's root at this size is {}",
                    b64(root),
                    b64(&stored)
                ),
            );
            Ok(false)
        }
        Err(why) => {
            f.push(
                FindingKind::CheckpointRoot,
                format!("size {size}"),
                format!("the stored tree's root cannot be computed: {why}"),
            );
            Ok(false)
        }
    }
}

/// Checks a stored checkpoint's note: parses, carries a valid signature by
/// the log key, names the log's origin, has the size it is stored under, and
/// lies within the tree. Errors are (finding kind, detail).
fn verify_stored_checkpoint(
    log_key: &Verifier,
    origin: Option<&str>,
    size: u64,
    tree_size: u64,
    value: &[u8],
) -> Result<Checkpoint, (FindingKind, String)> {
    let (_, checkpoint) = open_checkpoint(value, log_key, origin).map_err(|e| match e {
        OpenCheckpointError::Signature(e) => (
            FindingKind::CheckpointSignature,
            format!("no valid signature by the log key {}: {e}", log_key.name()),
        ),
        OpenCheckpointError::Origin { expected, found } => (
            FindingKind::CheckpointOrigin,
            format!("names origin {found:?}, the log's origin is {expected:?}"),
        ),
        e @ (OpenCheckpointError::Note(_) | OpenCheckpointError::Body(_)) => {
            (FindingKind::CheckpointMalformed, e.to_string())
        }
    })?;
    if checkpoint.size != size {
        return Err((
            FindingKind::CheckpointSize,
            format!(
                "stored under size {size} but signs size {}",
                checkpoint.size
            ),
        ));
    }
    if size > tree_size {
        return Err((
            FindingKind::CheckpointBeyondTree,
            format!("covers more than the tree size {tree_size}"),
        ));
    }
    Ok(checkpoint)
}

/// The root of the stored tree at `size`, folded from its `root_plan` nodes.
fn root_at(store: &Store, size: u64) -> Result<Hash, StoreError> {
    let nodes = store.read_nodes(&root_plan(size))?;
    Frontier::from_parts(size, nodes)
        .map(|f| f.root())
        .ok_or_else(|| StoreError::Corrupt("right edge does not match the size".into()))
}

/// Verifies the consistency of two signed roots with a proof built from the
/// stored nodes. Outer error: could not read; inner: why it is not consistent.
fn consistent(
    store: &Store,
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
) -> Result<Result<(), String>, StoreError> {
    let proof = match ProofReader::new(store).consistency(old, new) {
        Ok(p) => p,
        Err(ProofReadError::Plan(e)) => return Ok(Err(e.to_string())),
        Err(ProofReadError::Store(e)) => match e.inconsistency() {
            Some(why) => return Ok(Err(format!("the proof cannot be built: {why}"))),
            None => return Err(e),
        },
    };
    Ok(verify_consistency(old, new, old_root, new_root, &proof).map_err(|e| e.to_string()))
}

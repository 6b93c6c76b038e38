//! What a check reports: the finding kinds (a stable contract), findings,
//! the report and its counts, progress stages, and the capped collector the
//! checks push into. Also the location formats every finding uses.

use std::fmt;

use serde::{Serialize, Serializer};

use super::MAX_FINDINGS;
use crate::merkle::Hash;
use crate::note::encode_b64;
use crate::storage::{prefix, StoreError};

/// The kind of a finding.
///
/// Its [`FindingKind::as_str`] code is a stable snake_case contract: it is
/// what JSON reports, `/healthz` and the README's list show, and it is how
/// the kind serializes. A code is never renamed or reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A checkpoint covers more than the tree holds.
    CheckpointBeyondTree,
    /// A checkpoint does not extend the previous good one.
    CheckpointInconsistent,
    /// A stored checkpoint's note or body does not parse.
    CheckpointMalformed,
    /// The latest checkpoint does not cover the tree, or none is stored.
    CheckpointMissing,
    /// A checkpoint names another origin than the log's.
    CheckpointOrigin,
    /// A checkpoint's root is not the stored tree's root at its size.
    CheckpointRoot,
    /// A checkpoint lacks a valid signature by the log key.
    CheckpointSignature,
    /// A checkpoint signs another size than it is stored under.
    CheckpointSize,
    /// The periodic check could not read the store at all.
    CheckFailed,
    /// sled cannot open the database.
    DatabaseUnreadable,
    /// The same note bytes are stored at two indexes.
    DuplicateLeaf,
    /// Two statements are for the same tenant and date.
    DuplicateTenantDate,
    /// A date record that no leaf accounts for.
    ExtraIndexRow,
    /// A leaf-hash run is damaged.
    HashIndexDamaged,
    /// A date record points at another leaf.
    IndexMismatch,
    /// A month row does not decode.
    IndexRowMalformed,
    /// A key-change entry is unsigned, does not parse, or does not replay.
    KeyChangeInvalid,
    /// A leaf's note bytes do not hash to the stored leaf hash.
    LeafHashMismatch,
    /// A leaf's note bytes cannot be read.
    LeafMissing,
    /// A leaf is neither a statement nor a key-change entry.
    LeafUnparseable,
    /// The log key's name is not the log's origin.
    LogKeyName,
    /// A row key of the wrong shape.
    MalformedKey,
    /// A recorded origin or size does not decode.
    MetaCorrupt,
    /// No origin is recorded.
    MetaMissing,
    /// A statement has no date record, or its row lacks it.
    MissingIndexRow,
    /// A stored node differs from the hash of its children.
    NodeMismatch,
    /// A complete subtree has no stored hash.
    NodeMissing,
    /// A tenant record does not decode.
    TenantRecordMalformed,
    /// A tenant record is not what its key-change entries add up to.
    TenantRecordMismatch,
    /// A tenant with key-change entries has no record.
    TenantRecordMissing,
    /// A tenant record with no key-change entry in the log.
    TenantRecordUnlogged,
    /// A tree file is shorter than the committed tree needs.
    TreeFileShort,
}

impl FindingKind {
    /// The stable snake_case code of this kind.
    pub fn as_str(self) -> &'static str {
        use FindingKind::*;
        match self {
            CheckpointBeyondTree => "checkpoint_beyond_tree",
            CheckpointInconsistent => "checkpoint_inconsistent",
            CheckpointMalformed => "checkpoint_malformed",
            CheckpointMissing => "checkpoint_missing",
            CheckpointOrigin => "checkpoint_origin",
            CheckpointRoot => "checkpoint_root",
            CheckpointSignature => "checkpoint_signature",
            CheckpointSize => "checkpoint_size",
            CheckFailed => "check_failed",
            DatabaseUnreadable => "database_unreadable",
            DuplicateLeaf => "duplicate_leaf",
            DuplicateTenantDate => "duplicate_tenant_date",
            ExtraIndexRow => "extra_index_row",
            HashIndexDamaged => "hash_index_damaged",
            IndexMismatch => "index_mismatch",
            IndexRowMalformed => "index_row_malformed",
            KeyChangeInvalid => "key_change_invalid",
            LeafHashMismatch => "leaf_hash_mismatch",
            LeafMissing => "leaf_missing",
            LeafUnparseable => "leaf_unparseable",
            LogKeyName => "log_key_name",
            MalformedKey => "malformed_key",
            MetaCorrupt => "meta_corrupt",
            MetaMissing => "meta_missing",
            MissingIndexRow => "missing_index_row",
            NodeMismatch => "node_mismatch",
            NodeMissing => "node_missing",
            TenantRecordMalformed => "tenant_record_malformed",
            TenantRecordMismatch => "tenant_record_mismatch",
            TenantRecordMissing => "tenant_record_missing",
            TenantRecordUnlogged => "tenant_record_unlogged",
            TreeFileShort => "tree_file_short",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A kind equals its code, so callers can compare with the documented text.
impl PartialEq<&str> for FindingKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One problem found, located precisely enough to find the row.
///
/// `kind` serializes as its stable code; `location` names the row
/// (`index 17`, `level 3 index 5`, `S acme/2026-01 day 05`, `size 120`);
/// `detail` says what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub location: String,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.location, self.detail)
    }
}

/// How much was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// Leaves re-hashed (and parsed as statements).
    pub leaves: u64,
    /// Stored nodes compared with a recomputed hash.
    pub nodes: u64,
    /// Stored date records (`S`) and leaf-hash run entries accounted for.
    pub index_rows: u64,
    /// Stored checkpoints examined.
    pub checkpoints: u64,
    /// Tenant records compared with their key-change entries.
    pub tenants: u64,
}

/// The outcome of a check.
///
/// Invariant: `ok == (findings_total == 0)`, and `findings` holds the first
/// `min(findings_total, MAX_FINDINGS)` findings in the order they were found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub origin: Option<String>,
    pub tree_size: u64,
    pub checked: Checked,
    pub findings_total: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report of a database sled cannot open: one `database_unreadable`
    /// finding at `location`. Damage, not a failure to run the check.
    pub fn unreadable(location: &str, detail: String) -> Self {
        let mut findings = Findings::new(MAX_FINDINGS);
        findings.push(FindingKind::DatabaseUnreadable, location, detail);
        findings.into_report(None, 0, Checked::default())
    }
}

/// Which part of the full check is running, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Leaves, nodes and the forward index lookups; `total` is the tree size.
    Tree,
    /// Counting (and if needed walking) the index tables.
    Indexes,
    /// Stored checkpoints; no total is known in advance.
    Checkpoints,
}

/// Receives progress: the stage, how far it is, and its total if known.
pub type ProgressFn<'a> = &'a mut dyn FnMut(Stage, u64, Option<u64>);

/// Collects findings up to a cap; `total` counts every one pushed.
pub(super) struct Findings {
    pub(super) list: Vec<Finding>,
    pub(super) total: u64,
    cap: usize,
}

impl Findings {
    pub(super) fn new(cap: usize) -> Self {
        Findings {
            list: Vec::new(),
            total: 0,
            cap,
        }
    }

    pub(super) fn push(
        &mut self,
        kind: FindingKind,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.total += 1;
        if self.list.len() < self.cap {
            self.list.push(Finding {
                kind,
                location: location.into(),
                detail: detail.into(),
            });
        }
    }

    /// The report of a check that found these; `ok` follows from the total.
    pub(super) fn into_report(
        self,
        origin: Option<String>,
        tree_size: u64,
        checked: Checked,
    ) -> Report {
        Report {
            ok: self.total == 0,
            origin,
            tree_size,
            checked,
            findings_total: self.total,
            findings: self.list,
        }
    }
}

/// Splits a store result into "could not read" (an error that ends the
/// check) and "read something corrupt" (a finding, with its description).
pub(super) fn corrupt<T>(result: Result<T, StoreError>) -> Result<Result<T, String>, StoreError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) => match e.inconsistency() {
            Some(why) => Ok(Err(why)),
            None => Err(e),
        },
    }
}

/// A hash as findings print it.
pub(super) fn b64(hash: &Hash) -> String {
    encode_b64(hash)
}

/// Where a node is: `level 3 index 5`.
pub(super) fn node_location(level: u8, index: u64) -> String {
    format!("level {level} index {index}")
}

/// A row key for a message: the prefix letter, then the rest as text for the
/// tables keyed by text (`S`, `K`, `M`) when it is printable, else hex.
pub(super) fn key_location(key: &[u8]) -> String {
    let Some((&first, rest)) = key.split_first() else {
        return "(empty key)".to_string();
    };
    let textual = matches!(
        first,
        prefix::BY_TENANT_MONTH | prefix::TENANT | prefix::META
    );
    match std::str::from_utf8(rest) {
        Ok(s) if textual && !s.is_empty() && s.chars().all(|c| !c.is_control()) => {
            format!("{} {s}", char::from(first))
        }
        _ => format!("{} {}", char::from(first), hex::encode(rest)),
    }
}

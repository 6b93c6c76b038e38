//! Integrity check ("fsck") of a log's durable state, and the cheap periodic
//! check the server runs: the daily "is the recording process working"
//! evidence SEC 17a-4(f)(2)(ii)(B) asks for.
//!
//! The full check ([`check_store`]) is pure over a [`Store`]: it re-hashes
//! every leaf, recomputes every stored perfect node from its children, finds
//! tree files too short for the tree, checks the date index (`S` rows)
//! against the leaves in both directions and the leaf-hash runs against the
//! stored hashes, checks every key-change entry (the log's
//! signature) and that each tenant record is what they add up to, and checks
//! every stored checkpoint (log
//! signature, origin, root against the stored tree, consistency with the
//! previous one). Every problem becomes a [`Finding`]; corruption never
//! panics and never stops the check. Only a failure to *read* (an I/O error
//! from sled) ends it with an error, because then nothing can be concluded.
//!
//! Memory stays bounded on any log size: leaves and nodes are streamed from
//! the tree files in one sequential pass each (the nodes are stored in the
//! order the climb asks for them), the right edge being climbed holds at
//! most 64 hashes, index rows
//! are point reads, and findings are capped at [`MAX_FINDINGS`] (the total is
//! still counted).
//!
//! The periodic check ([`check_recent`], run by [`spawn_periodic_check`])
//! re-hashes only the right edge: the last [`RECENT_LEAVES`] leaves, the
//! nodes above them and along the `root_plan`, and the latest checkpoint. Its
//! result is kept in [`IntegrityState`] for `/healthz` and `/metrics`.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::merkle::{
    consistency_plan, leaf_hash, node_hash, root_plan, verify_consistency, Frontier, Hash, NodeId,
};
use crate::metrics::Metrics;
use crate::note::{encode_b64, open, Checkpoint, Note, Verifier};
use crate::statement::parse_submission;
use crate::storage::tree_files::TreeFiles;
use crate::storage::{month_rows, prefix, Store, StoreError};
use crate::tenant_key::{is_key_change_entry, replay, KeyChange, TenantRecord};

/// Most findings a report lists; beyond it only `findings_total` grows, so a
/// wholly corrupt database cannot exhaust memory.
pub const MAX_FINDINGS: usize = 10_000;
/// Leaves the periodic check re-hashes at the right edge of the tree.
pub const RECENT_LEAVES: u64 = 256;
/// Findings kept for `/healthz` (the full list is what `rootlog fsck` is for).
pub const HEALTH_FINDINGS: usize = 20;
/// The highest level a node of a tree of at most `u64::MAX` leaves can have.
const LEVELS: usize = 64;

/// One problem found, located precisely enough to find the row.
///
/// `kind` is a stable snake_case code (see the README's list); `location`
/// names the row (`index 17`, `level 3 index 5`, `S acme/2026-01 day 05`,
/// `size 120`); `detail` says what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
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
        Report {
            ok: false,
            origin: None,
            tree_size: 0,
            checked: Checked::default(),
            findings_total: 1,
            findings: vec![Finding {
                kind: "database_unreadable",
                location: location.to_string(),
                detail,
            }],
        }
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

/// Collects findings up to a cap.
struct Findings {
    list: Vec<Finding>,
    total: u64,
    cap: usize,
}

impl Findings {
    fn new(cap: usize) -> Self {
        Findings {
            list: Vec::new(),
            total: 0,
            cap,
        }
    }

    fn push(&mut self, kind: &'static str, location: impl Into<String>, detail: impl Into<String>) {
        self.total += 1;
        if self.list.len() < self.cap {
            self.list.push(Finding {
                kind,
                location: location.into(),
                detail: detail.into(),
            });
        }
    }
}

/// Splits a store result into "could not read" (an error that ends the
/// check) and "read something corrupt" (a finding, with its description).
fn corrupt<T>(result: Result<T, StoreError>) -> Result<Result<T, String>, StoreError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(StoreError::Corrupt(why)) => Ok(Err(why)),
        Err(e) => Err(e),
    }
}

fn b64(hash: &Hash) -> String {
    encode_b64(hash)
}

fn node_location(level: u8, index: u64) -> String {
    format!("level {level} index {index}")
}

/// A row key for a message: the prefix letter, then the rest as text for the
/// tables keyed by text (`S`, `K`, `M`) when it is printable, else hex.
fn key_location(key: &[u8]) -> String {
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

/// Leaves read in index order, a chunk at a time, from the tree files.
///
/// A chunk that cannot be decoded (a damaged `leaf-ends`) is read again leaf
/// by leaf, so one bad offset costs one finding, not the check.
struct LeafStream<'a> {
    files: &'a TreeFiles,
    size: u64,
    chunk: std::vec::IntoIter<Option<Vec<u8>>>,
    next: u64,
}

/// Leaves read per chunk.
const LEAF_CHUNK: u64 = 4096;

impl<'a> LeafStream<'a> {
    fn new(files: &'a TreeFiles, size: u64) -> Self {
        LeafStream {
            files,
            size,
            chunk: Vec::new().into_iter(),
            next: 0,
        }
    }

    /// Leaf `i`'s note bytes (callers ask for 0, 1, 2, ... in order); None,
    /// with a finding, when they cannot be read.
    fn take(&mut self, i: u64, f: &mut Findings) -> Result<Option<Vec<u8>>, StoreError> {
        if self.chunk.len() == 0 {
            let count = LEAF_CHUNK.min(self.size - self.next);
            let chunk = match corrupt(self.files.leaf_range(self.next, count))? {
                Ok(leaves) => leaves.into_iter().map(Some).collect(),
                Err(_) => {
                    let mut one_by_one = Vec::with_capacity(count as usize);
                    for index in self.next..self.next + count {
                        match corrupt(self.files.leaf_range(index, 1))? {
                            Ok(mut leaf) => one_by_one.push(leaf.pop()),
                            Err(why) => {
                                f.push("leaf_missing", format!("index {index}"), why);
                                one_by_one.push(None);
                            }
                        }
                    }
                    one_by_one
                }
            };
            self.chunk = chunk.into_iter();
            self.next += count;
        }
        debug_assert_eq!(i + self.chunk.len() as u64, self.next);
        Ok(self.chunk.next().flatten())
    }
}

/// The `hashes` file read front to back. The check asks for nodes in the
/// order `Frontier::append` completes them, which is their order in the
/// file, so this is one sequential pass.
struct HashStream<'a> {
    files: &'a TreeFiles,
    on_disk: u64,
    buffer: Vec<u8>,
    /// Append position of `buffer[0..32]`.
    buffer_start: u64,
    next: u64,
}

/// Hashes read per chunk (256 KiB).
const HASH_CHUNK: u64 = 8192;

impl<'a> HashStream<'a> {
    fn new(files: &'a TreeFiles) -> Result<Self, StoreError> {
        Ok(HashStream {
            files,
            on_disk: files.hashes_on_disk()?,
            buffer: Vec::new(),
            buffer_start: 0,
            next: 0,
        })
    }

    /// The stored hash of `id`, the next node in append order; None, with a
    /// finding, beyond the end of the file.
    fn take(&mut self, id: NodeId, f: &mut Findings) -> Result<Option<Hash>, StoreError> {
        let position = self.next;
        self.next += 1;
        debug_assert_eq!(id.position(), Some(position));
        if position >= self.on_disk {
            f.push(
                "node_missing",
                node_location(id.level, id.index),
                "the hashes file ends before this complete subtree",
            );
            return Ok(None);
        }
        let buffered = self.buffer.len() as u64 / 32;
        if position >= self.buffer_start + buffered {
            let count = HASH_CHUNK.min(self.on_disk - position);
            self.buffer = self.files.read_hash_run(position, count)?;
            self.buffer_start = position;
        }
        let at = ((position - self.buffer_start) * 32) as usize;
        Ok(decode_hash(&self.buffer[at..at + 32]))
    }
}

/// What a leaf's index entries must be.
struct LeafKeys {
    hash: Hash,
    /// (tenant, date) when the leaf parses as a statement.
    statement: Option<(String, String)>,
}

impl LeafKeys {
    fn of(bytes: &[u8]) -> Self {
        LeafKeys {
            hash: leaf_hash(bytes),
            statement: parse_submission(bytes)
                .ok()
                .map(|(_, s)| (s.tenant.clone(), s.date_string())),
        }
    }

    /// The whole key of the `S` row that must hold this leaf, and the day
    /// of its record, if it is a statement.
    fn month_row(&self) -> Option<(Vec<u8>, u8)> {
        let (tenant, date) = self.statement.as_ref()?;
        Store::month_row_of(tenant, date)
    }
}

fn decode_index(value: &[u8]) -> Option<u64> {
    value.try_into().ok().map(u64::from_be_bytes)
}

/// Where one record of an `S` row is: `S acme/2026-01 day 05`.
fn record_location(key: &[u8], day: u8) -> String {
    format!("{} day {day:02}", key_location(key))
}

/// The set key of one record, for remembering what was reported.
fn record_id(key: &[u8], day: u8) -> Vec<u8> {
    let mut id = key.to_vec();
    id.push(day);
    id
}

/// An `S` row's records, or why it is malformed.
fn decode_month_row(value: &[u8]) -> Result<Vec<(u8, u64)>, String> {
    let records = month_rows::decode(value)?;
    if !month_rows::well_ordered(&records) {
        return Err("its records are not one per day, in day order".into());
    }
    Ok(records)
}

/// The check's working state.
struct Checker<'a> {
    store: &'a Store,
    log_key: &'a Verifier,
    size: u64,
    findings: Findings,
    checked: Checked,
    /// Date records that pointed at the right leaf.
    matched: u64,
    /// `S` rows (whole key) and records (key and day) already reported by
    /// the forward pass, so the reverse pass does not report them twice
    /// (bounded like the findings).
    reported_rows: HashSet<Vec<u8>>,
    /// Key-change entries by tenant, in log order (a handful per tenant).
    key_changes: std::collections::BTreeMap<String, Vec<(u64, KeyChange)>>,
}

impl<'a> Checker<'a> {
    fn note_reported(&mut self, key: Vec<u8>) {
        if self.reported_rows.len() < MAX_FINDINGS {
            self.reported_rows.insert(key);
        }
    }

    /// Leaf `index`, a statement, must have the record of its date in its
    /// tenant's month row, pointing at `index`.
    fn check_record(&mut self, keys: &LeafKeys, index: u64) -> Result<(), StoreError> {
        let Some((key, day)) = keys.month_row() else {
            return Ok(());
        };
        let location = record_location(&key, day);
        let Some(value) = self.store.get_raw(&key)? else {
            self.findings.push(
                "missing_index_row",
                location,
                format!("no row for the leaf at index {index}"),
            );
            return Ok(());
        };
        let records = match decode_month_row(&value) {
            Ok(records) => records,
            Err(why) => {
                if !self.reported_rows.contains(&key) {
                    self.findings
                        .push("index_row_malformed", key_location(&key), why);
                    self.note_reported(key);
                }
                return Ok(());
            }
        };
        let Some(points_at) = month_rows::find(&records, day) else {
            self.findings.push(
                "missing_index_row",
                location,
                format!("no record for the leaf at index {index}"),
            );
            return Ok(());
        };
        if points_at == index {
            self.matched += 1;
            return Ok(());
        }
        // Another statement for the same tenant and date means the log holds
        // a statement twice.
        let other = match self.store.leaf(points_at)? {
            Some(bytes) if points_at < self.size => Some(LeafKeys::of(&bytes)),
            _ => None,
        };
        if other.is_some_and(|o| o.month_row() == Some((key.clone(), day))) {
            self.findings.push(
                "duplicate_tenant_date",
                location,
                format!("statements at index {points_at} and index {index} are for the same tenant and date"),
            );
        } else {
            self.findings.push(
                "index_mismatch",
                location,
                format!("points at index {points_at}, but the leaf is at index {index}"),
            );
            self.note_reported(record_id(&key, day));
        }
        Ok(())
    }

    /// A key-change entry must carry the log's signature and parse; it is kept
    /// for [`Checker::check_tenants`].
    fn key_change(&mut self, index: u64, bytes: &[u8]) {
        let parsed = Note::parse(bytes)
            .map_err(|e| e.to_string())
            .and_then(|note| {
                open(&note, std::slice::from_ref(self.log_key)).map_err(|_| {
                    "it does not carry a valid signature by the log's key".to_string()
                })?;
                KeyChange::parse_text(&note.text).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(change) => self
                .key_changes
                .entry(change.tenant.clone())
                .or_default()
                .push((index, change)),
            Err(why) => self
                .findings
                .push("key_change_invalid", format!("index {index}"), why),
        }
    }

    /// Every tenant record (`K` row) must be exactly what its key-change
    /// entries add up to, and every tenant with entries must have a record.
    fn check_tenants(&mut self) -> Result<(), StoreError> {
        let mut stored = std::collections::BTreeMap::new();
        for row in self.store.scan_raw(&[prefix::TENANT]) {
            let (key, value) = row?;
            let id = String::from_utf8_lossy(&key[1..]).into_owned();
            self.checked.tenants += 1;
            match serde_json::from_slice::<TenantRecord>(&value) {
                Ok(record) => {
                    stored.insert(id, record);
                }
                Err(e) => {
                    self.findings
                        .push("tenant_record_malformed", key_location(&key), e.to_string())
                }
            }
        }
        let changes = std::mem::take(&mut self.key_changes);
        for (tenant, list) in &changes {
            let location = format!("K {tenant}");
            let replayed = match replay(list.iter().map(|(i, c)| (*i, c))) {
                Ok(r) => r,
                Err(e) => {
                    self.findings
                        .push("key_change_invalid", location, e.to_string());
                    continue;
                }
            };
            match (replayed, stored.remove(tenant)) {
                (Some(want), Some(have)) if want == have => {}
                (Some(_), Some(_)) => self.findings.push(
                    "tenant_record_mismatch",
                    location,
                    "the stored tenant record differs from what its key-change entries add up to",
                ),
                (Some(_), None) => self.findings.push(
                    "tenant_record_missing",
                    location,
                    "the log has key-change entries for this tenant but no record",
                ),
                (None, _) => {}
            }
        }
        for tenant in stored.keys() {
            self.findings.push(
                "tenant_record_unlogged",
                format!("K {tenant}"),
                "a tenant record with no key-change entry in the log: its keys were never published",
            );
        }
        Ok(())
    }

    /// Leaves, nodes and forward index lookups in one streaming pass.
    fn check_tree(&mut self, progress: ProgressFn<'_>) -> Result<(), StoreError> {
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
                            .push("leaf_unparseable", format!("index {i}"), why);
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
                "tree_file_short",
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
                            "tree_file_short",
                            name,
                            format!(
                                "holds {have} bytes, the tree of {} leaves needs {need}",
                                self.size
                            ),
                        );
                    }
                }
            }
            Err(why) => self.findings.push("tree_file_short", "leaf-ends", why),
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
                "node_mismatch",
                node_location(0, i),
                format!(
                    "stored leaf hash {} differs from the note bytes' hash {}, which the level-1 node agrees with",
                    b64(&s),
                    b64(&c)
                ),
            );
            Ok(Some(c))
        } else {
            self.findings.push(
                "leaf_hash_mismatch",
                format!("index {i}"),
                format!(
                    "the note bytes hash to {}, the tree holds {}",
                    b64(&c),
                    b64(&s)
                ),
            );
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
                if s != r {
                    self.findings.push(
                        "node_mismatch",
                        node_location(parent_level, parent_index),
                        format!("stored {}, its children hash to {}", b64(&s), b64(&r)),
                    );
                }
            }
            value = recomputed.or(stored);
            index = parent_index;
            level += 1;
        }
        pending[level] = value;
        Ok(())
    }

    /// Every stored date record must have been matched by a leaf; if the
    /// count says otherwise, walk the rows to name the extra records.
    fn check_month_rows(&mut self, progress: ProgressFn<'_>) -> Result<(), StoreError> {
        let mut records = 0u64;
        let mut malformed = false;
        let mut scanned = 0u64;
        for row in self.store.scan_raw(&[prefix::BY_TENANT_MONTH]) {
            let (_, value) = row?;
            match decode_month_row(&value) {
                Ok(list) => records += list.len() as u64,
                Err(_) => malformed = true,
            }
            scanned += 1;
            if scanned.is_multiple_of(65536) {
                progress(Stage::Indexes, scanned, None);
            }
        }
        progress(Stage::Indexes, scanned, Some(scanned));
        self.checked.index_rows += records;
        // Matched records are distinct stored records, so equal counts mean
        // every stored record belongs to its leaf.
        if records == self.matched && !malformed {
            return Ok(());
        }
        for row in self.store.scan_raw(&[prefix::BY_TENANT_MONTH]) {
            let (key, value) = row?;
            if self.reported_rows.contains(&key[..]) {
                continue;
            }
            let list = match decode_month_row(&value) {
                Ok(list) => list,
                Err(why) => {
                    self.findings
                        .push("index_row_malformed", key_location(&key), why);
                    continue;
                }
            };
            for (day, index) in list {
                if self.reported_rows.contains(&record_id(&key, day)) {
                    continue;
                }
                let location = record_location(&key, day);
                if index >= self.size {
                    self.findings.push(
                        "extra_index_row",
                        location,
                        format!(
                            "points at index {index}, beyond the tree size {}",
                            self.size
                        ),
                    );
                    continue;
                }
                let Ok(Some(bytes)) = corrupt(self.store.leaf(index))? else {
                    self.findings.push(
                        "extra_index_row",
                        location,
                        format!("points at index {index}, which has no leaf"),
                    );
                    continue;
                };
                let belongs = LeafKeys::of(&bytes).month_row();
                if belongs.as_ref() != Some(&(key.to_vec(), day)) {
                    let belongs = match belongs {
                        Some((k, d)) => format!("whose record is {}", record_location(&k, d)),
                        None => "whose leaf is not a statement".to_string(),
                    };
                    self.findings.push(
                        "extra_index_row",
                        location,
                        format!("points at index {index}, {belongs}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// The leaf-hash runs against the stored level-0 hashes. They are
    /// derived data: a finding here means lookups by hash may miss, and the
    /// repair is to delete the directory and let the next start rebuild it.
    fn check_hash_runs(&mut self) -> Result<(), StoreError> {
        let store = self.store;
        let findings = &mut self.findings;
        let examined = crate::storage::hash_runs::check(
            store.hash_index_dir(),
            self.size,
            &mut |index| Ok(corrupt(store.node(NodeId::new(0, index)))?.ok().flatten()),
            &mut |kind, location, detail| findings.push(kind, location, detail),
        )?;
        self.checked.index_rows += examined;
        Ok(())
    }

    /// Every stored checkpoint: signature, origin, size, root against the
    /// stored tree, consistency with the previous good one; and the latest
    /// must cover the tree.
    fn check_checkpoints(
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
                    "malformed_key",
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
            let Some(checkpoint) = self.check_checkpoint(origin, size, &value)? else {
                continue;
            };
            let root_ok = self.check_root(size, &checkpoint.root)?;
            if let Some((old, old_root)) = base {
                if old > 0 {
                    if let Err(why) =
                        consistent(self.store, old, size, &old_root, &checkpoint.root)?
                    {
                        self.findings.push(
                            "checkpoint_inconsistent",
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
        match latest {
            Some(s) if s == self.size => {}
            Some(s) => self.findings.push(
                "checkpoint_missing",
                format!("size {}", self.size),
                format!("the latest checkpoint covers size {s}, not the tree size"),
            ),
            None => self.findings.push(
                "checkpoint_missing",
                format!("size {}", self.size),
                "no checkpoint is stored",
            ),
        }
        Ok(())
    }

    /// Signature, origin and size of one stored checkpoint; the parsed body if
    /// it is the log's and within the tree.
    fn check_checkpoint(
        &mut self,
        origin: Option<&str>,
        size: u64,
        value: &[u8],
    ) -> Result<Option<Checkpoint>, StoreError> {
        let result = verify_stored_checkpoint(self.log_key, origin, size, self.size, value);
        match result {
            Ok(checkpoint) => Ok(Some(checkpoint)),
            Err((kind, detail)) => {
                self.findings.push(kind, format!("size {size}"), detail);
                Ok(None)
            }
        }
    }

    /// The checkpoint's root must equal the stored tree's root at its size.
    fn check_root(&mut self, size: u64, root: &Hash) -> Result<bool, StoreError> {
        match corrupt(root_at(self.store, size))? {
            Ok(stored) if &stored == root => Ok(true),
            Ok(stored) => {
                self.findings.push(
                    "checkpoint_root",
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
                self.findings.push(
                    "checkpoint_root",
                    format!("size {size}"),
                    format!("the stored tree's root cannot be computed: {why}"),
                );
                Ok(false)
            }
        }
    }
}

fn decode_hash(value: &[u8]) -> Option<Hash> {
    value.try_into().ok()
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
) -> Result<Checkpoint, (&'static str, String)> {
    let note = Note::parse(value).map_err(|e| ("checkpoint_malformed", e.to_string()))?;
    open(&note, std::slice::from_ref(log_key)).map_err(|e| {
        (
            "checkpoint_signature",
            format!("no valid signature by the log key {}: {e}", log_key.name()),
        )
    })?;
    let checkpoint =
        Checkpoint::parse(&note.text).map_err(|e| ("checkpoint_malformed", e.to_string()))?;
    if let Some(origin) = origin {
        if checkpoint.origin != origin {
            return Err((
                "checkpoint_origin",
                format!(
                    "names origin {:?}, the log's origin is {origin:?}",
                    checkpoint.origin
                ),
            ));
        }
    }
    if checkpoint.size != size {
        return Err((
            "checkpoint_size",
            format!(
                "stored under size {size} but signs size {}",
                checkpoint.size
            ),
        ));
    }
    if size > tree_size {
        return Err((
            "checkpoint_beyond_tree",
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
    let plan = match consistency_plan(old, new) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let hashes = match corrupt(store.read_nodes(&plan.nodes))? {
        Ok(h) => h,
        Err(why) => return Ok(Err(format!("the proof cannot be built: {why}"))),
    };
    let proof = match plan.assemble(&hashes) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    Ok(verify_consistency(old, new, old_root, new_root, &proof).map_err(|e| e.to_string()))
}

/// Reads the recorded origin and size, reporting corrupt or missing values.
/// A corrupt size falls back to the latest checkpoint's, written in the same
/// batch, so the rest of the check still has a tree to look at.
fn read_meta(
    store: &Store,
    log_key: &Verifier,
    f: &mut Findings,
) -> Result<(Option<String>, u64), StoreError> {
    let origin = match corrupt(store.origin())? {
        Ok(Some(o)) => Some(o),
        Ok(None) => {
            f.push("meta_missing", "M origin", "no origin is recorded");
            None
        }
        Err(why) => {
            f.push("meta_corrupt", "M origin", why);
            None
        }
    };
    if let Some(origin) = &origin {
        if log_key.name() != origin {
            f.push(
                "log_key_name",
                "log.skey",
                format!(
                    "the log key is named {:?}, the log's origin is {origin:?}",
                    log_key.name()
                ),
            );
        }
    }
    let size = match corrupt(store.size())? {
        Ok(size) => size,
        Err(why) => {
            let fallback = match corrupt(store.latest_checkpoint())? {
                Ok(Some((s, _))) => s,
                _ => 0,
            };
            f.push(
                "meta_corrupt",
                "M size",
                format!("{why}; checking the tree as size {fallback} (the latest checkpoint)"),
            );
            fallback
        }
    };
    Ok((origin, size))
}

/// The full check of a log's stored state. `log_key` is the log's verifier
/// (from `log.skey`). Returns Err only when the store cannot be read.
pub fn check_store(
    store: &Store,
    log_key: &Verifier,
    progress: ProgressFn<'_>,
) -> Result<Report, StoreError> {
    let mut findings = Findings::new(MAX_FINDINGS);
    let (origin, size) = read_meta(store, log_key, &mut findings)?;
    let mut checker = Checker {
        store,
        log_key,
        size,
        findings,
        checked: Checked::default(),
        matched: 0,
        reported_rows: HashSet::new(),
        key_changes: std::collections::BTreeMap::new(),
    };
    checker.check_tree(progress)?;
    checker.check_tenants()?;
    checker.check_month_rows(progress)?;
    checker.check_hash_runs()?;
    checker.check_checkpoints(origin.as_deref(), progress)?;
    Ok(Report {
        ok: checker.findings.total == 0,
        origin,
        tree_size: size,
        checked: checker.checked,
        findings_total: checker.findings.total,
        findings: checker.findings.list,
    })
}

/// The cheap check of the right edge: the last [`RECENT_LEAVES`] leaves
/// against their stored hashes, every stored node above them and along the
/// `root_plan` against its children, and the latest checkpoint (signature,
/// origin, size, root against the stored tree).
///
/// Safe while the sequencer appends: the tree only grows, each read sees a
/// whole integration batch or none of it, and the checkpoint is read after
/// the size, so it covers at least that size.
pub fn check_recent(store: &Store, log_key: &Verifier) -> Result<Report, StoreError> {
    let mut f = Findings::new(MAX_FINDINGS);
    let mut checked = Checked::default();
    let (origin, size) = read_meta(store, log_key, &mut f)?;
    let start = size.saturating_sub(RECENT_LEAVES);
    for i in start..size {
        let bytes = match corrupt(store.leaf(i))? {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                f.push("leaf_missing", format!("index {i}"), "no stored note bytes");
                continue;
            }
            Err(why) => {
                f.push("leaf_missing", format!("index {i}"), why);
                continue;
            }
        };
        checked.leaves += 1;
        let Some(stored) = node_hash_at(store, NodeId::new(0, i), &mut f)? else {
            continue;
        };
        checked.nodes += 1;
        let computed = leaf_hash(&bytes);
        if computed != stored {
            f.push(
                "leaf_hash_mismatch",
                format!("index {i}"),
                format!(
                    "the note bytes hash to {}, the tree holds {}",
                    b64(&computed),
                    b64(&stored)
                ),
            );
        }
    }
    // Nodes wholly inside the window, then the right edge's nodes (those
    // above the window are recomputed from their two stored children).
    let mut ids = Vec::new();
    for level in 1..LEVELS as u8 {
        let first = start.div_ceil(1u64 << level);
        let end = size >> level;
        ids.extend((first..end).map(|index| NodeId::new(level, index)));
    }
    ids.extend(root_plan(size).into_iter().filter(|id| id.level > 0));
    ids.sort();
    ids.dedup();
    for id in ids {
        let Some(stored) = node_hash_at(store, id, &mut f)? else {
            continue;
        };
        let children = (
            node_hash_at(store, NodeId::new(id.level - 1, id.index << 1), &mut f)?,
            node_hash_at(
                store,
                NodeId::new(id.level - 1, (id.index << 1) | 1),
                &mut f,
            )?,
        );
        if let (Some(l), Some(r)) = children {
            checked.nodes += 1;
            let recomputed = node_hash(&l, &r);
            if recomputed != stored {
                f.push(
                    "node_mismatch",
                    node_location(id.level, id.index),
                    format!(
                        "stored {}, its children hash to {}",
                        b64(&stored),
                        b64(&recomputed)
                    ),
                );
            }
        }
    }
    match corrupt(store.latest_checkpoint())? {
        Ok(Some((cp_size, note))) => {
            checked.checkpoints += 1;
            // The checkpoint is read after the size: a newer batch may have
            // landed since, never an older one.
            let tree_now = match corrupt(store.size())? {
                Ok(s) => s.max(size),
                Err(_) => size,
            };
            if cp_size < size {
                f.push(
                    "checkpoint_missing",
                    format!("size {size}"),
                    format!("the latest checkpoint covers size {cp_size}, not the tree size"),
                );
            }
            match verify_stored_checkpoint(log_key, origin.as_deref(), cp_size, tree_now, &note) {
                Err((kind, detail)) => f.push(kind, format!("size {cp_size}"), detail),
                Ok(checkpoint) => match corrupt(root_at(store, cp_size))? {
                    Ok(root) if root == checkpoint.root => {}
                    Ok(root) => f.push(
                        "checkpoint_root",
                        format!("size {cp_size}"),
                        format!(
                            "signed root {}, the stored tree's root at this size is {}",
                            b64(&checkpoint.root),
                            b64(&root)
                        ),
                    ),
                    Err(why) => f.push(
                        "checkpoint_root",
                        format!("size {cp_size}"),
                        format!("the stored tree's root cannot be computed: {why}"),
                    ),
                },
            }
        }
        Ok(None) => f.push(
            "checkpoint_missing",
            format!("size {size}"),
            "no checkpoint is stored",
        ),
        Err(why) => f.push("checkpoint_malformed", "C", why),
    }
    Ok(Report {
        ok: f.total == 0,
        origin,
        tree_size: size,
        checked,
        findings_total: f.total,
        findings: f.list,
    })
}

/// A stored node's hash; absence or a malformed value is reported.
fn node_hash_at(store: &Store, id: NodeId, f: &mut Findings) -> Result<Option<Hash>, StoreError> {
    match corrupt(store.node(id))? {
        Ok(Some(hash)) => Ok(Some(hash)),
        Ok(None) => {
            f.push(
                "node_missing",
                node_location(id.level, id.index),
                "no stored hash for this complete subtree",
            );
            Ok(None)
        }
        Err(why) => {
            f.push("node_missing", node_location(id.level, id.index), why);
            Ok(None)
        }
    }
}

/// The result of the last periodic check, as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrityStatus {
    pub ok: bool,
    /// RFC 3339 UTC time the check finished.
    pub checked_at: String,
    #[serde(skip)]
    pub checked_at_unix: u64,
    pub tree_size: u64,
    /// The first [`HEALTH_FINDINGS`] findings.
    pub findings: Vec<Finding>,
}

/// The server's record of its periodic checks, shared with the HTTP layer.
#[derive(Default)]
pub struct IntegrityState {
    last: Mutex<Option<IntegrityStatus>>,
    checks: AtomicU64,
}

impl IntegrityState {
    /// Records the outcome of one check.
    pub fn record(&self, status: IntegrityStatus) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(status);
        }
    }

    /// The last check's result; None before the first one finished.
    pub fn last(&self) -> Option<IntegrityStatus> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// True when the last check found a problem (not before any check ran).
    pub fn failing(&self) -> bool {
        self.last().is_some_and(|s| !s.ok)
    }

    /// Checks finished since the server started.
    pub fn checks_total(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The `integrity` object of `/healthz`: `ok` and `checked_at` are null
    /// until the first check has finished.
    pub fn health_json(&self) -> serde_json::Value {
        match self.last() {
            Some(s) => serde_json::json!({
                "ok": s.ok,
                "checked_at": s.checked_at,
                "findings": s.findings,
            }),
            None => serde_json::json!({ "ok": null, "checked_at": null, "findings": [] }),
        }
    }
}

/// Runs [`check_recent`] and turns its outcome (or a read failure) into a status.
pub fn run_periodic_check(store: &Store, log_key: &Verifier) -> IntegrityStatus {
    let (ok, tree_size, findings) = match check_recent(store, log_key) {
        Ok(report) => (report.ok, report.tree_size, report.findings),
        Err(e) => (
            false,
            0,
            vec![Finding {
                kind: "check_failed",
                location: "db".to_string(),
                detail: format!("the store could not be read: {e}"),
            }],
        ),
    };
    let now = time::OffsetDateTime::now_utc();
    IntegrityStatus {
        ok,
        checked_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        checked_at_unix: u64::try_from(now.unix_timestamp()).unwrap_or(0),
        tree_size,
        findings: findings.into_iter().take(HEALTH_FINDINGS).collect(),
    }
}

/// Starts the periodic right-edge check (every `every`; zero disables it).
/// The first check runs at once. Each runs on a blocking thread, since it
/// reads sled and hashes; results go to `metrics.integrity`.
pub fn spawn_periodic_check(
    store: Store,
    log_key: Verifier,
    metrics: Arc<Metrics>,
    every: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        // A slow check delays the next one instead of firing a burst.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let (store, log_key) = (store.clone(), log_key.clone());
            let status =
                match tokio::task::spawn_blocking(move || run_periodic_check(&store, &log_key))
                    .await
                {
                    Ok(status) => status,
                    Err(e) => {
                        tracing::error!(error = %e, "integrity check did not finish");
                        continue;
                    }
                };
            if !status.ok {
                for finding in &status.findings {
                    tracing::error!(%finding, "integrity check failed");
                }
            }
            metrics.integrity.record(status);
            metrics.integrity_checked();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;
    use crate::statement::Statement;
    use crate::storage::{LeafRows, NewLeaf};

    /// A store with `n` valid statements, integrated in batches of 3, each with
    /// a checkpoint signed by the returned log key.
    fn log(n: u64) -> (tempfile::TempDir, Store, Signer) {
        log_in_batches(n, 3)
    }

    fn log_in_batches(n: u64, batch: u64) -> (tempfile::TempDir, Store, Signer) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log_key = Signer::generate("test.example/log").unwrap();
        store.set_origin("test.example/log").unwrap();
        let tenant = Signer::generate("acme").unwrap();
        let mut tree = Frontier::new();
        let sign = |tree: &Frontier| {
            let mut note =
                Note::new(Checkpoint::new("test.example/log", tree.size(), tree.root()).to_text());
            note.signatures.push(log_key.sign(note.text.as_bytes()));
            note.to_text()
        };
        store.put_checkpoint(0, sign(&tree).as_bytes()).unwrap();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let mut rows = Vec::new();
            let mut nodes = Vec::new();
            for index in i..end {
                let statement = Statement {
                    tenant: "acme".into(),
                    date: time::macros::date!(2020 - 01 - 01) + time::Duration::days(index as i64),
                    records: 1,
                    root: leaf_hash(&index.to_be_bytes()),
                    chain: None,
                };
                let mut note = Note::new(statement.to_text());
                note.signatures.push(tenant.sign(note.text.as_bytes()));
                let bytes = note.to_text().into_bytes();
                let hash = leaf_hash(&bytes);
                tree.append(hash, |id, h| nodes.push((id, *h)));
                rows.push((index, bytes, hash, statement.date_string()));
            }
            let leaves: Vec<NewLeaf<'_>> = rows
                .iter()
                .map(|(index, bytes, hash, date)| NewLeaf {
                    index: *index,
                    bytes,
                    hash: *hash,
                    rows: LeafRows::Statement {
                        tenant: "acme",
                        date,
                    },
                })
                .collect();
            store
                .integrate(&leaves, &nodes, end, sign(&tree).as_bytes())
                .unwrap();
            i = end;
        }
        (dir, store, log_key)
    }

    #[test]
    fn intact_logs_of_every_small_size_pass_both_checks() {
        for n in [0, 1, 2, 5, 8, 13] {
            let (_dir, store, key) = log(n);
            let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
            assert!(report.ok, "size {n}: {:?}", report.findings);
            assert_eq!(report.checked.leaves, n);
            assert_eq!(report.checked.nodes, 2 * n - u64::from(n.count_ones()));
            assert_eq!(report.checked.index_rows, n);
            let recent = check_recent(&store, &key.verifier()).unwrap();
            assert!(recent.ok, "size {n}: {:?}", recent.findings);
        }
    }

    #[test]
    fn the_leaf_hash_runs_answer_lookups_and_are_checked() {
        use crate::storage::hash_runs::RUN_LEAVES;
        let n = RUN_LEAVES + 10;
        let (_dir, store, key) = log_in_batches(n, 8192);
        let leaf = |i| store.node(NodeId::new(0, i)).unwrap().unwrap();
        // In the run, and in the tail past it.
        for i in [0, 12_345, RUN_LEAVES - 1, RUN_LEAVES, n - 1] {
            assert_eq!(store.index_of_hash(&leaf(i)).unwrap(), Some(i));
        }
        assert_eq!(store.index_of_hash(&[0xAB; 32]).unwrap(), None);
        let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
        assert!(report.ok, "{:?}", report.findings);
        assert_eq!(report.checked.index_rows, n + RUN_LEAVES);

        // Zero the first entry's prefix (it stays the smallest, so in order).
        let run = store.hash_index_dir().join(format!("run-0-{RUN_LEAVES}"));
        let mut bytes = std::fs::read(&run).unwrap();
        let damaged = u64::from_be_bytes(bytes[8..16].try_into().unwrap());
        bytes[..8].fill(0);
        std::fs::write(&run, &bytes).unwrap();
        let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
        let location = format!("hash-index/run-0-{RUN_LEAVES}");
        assert_eq!(
            report.findings,
            vec![Finding {
                kind: "hash_index_damaged",
                location,
                detail: format!("the entry for index {damaged} does not match its leaf hash"),
            }]
        );
        // A damaged run makes the lookup miss; it never names another leaf.
        assert_eq!(store.index_of_hash(&leaf(damaged)).unwrap(), None);
    }

    #[test]
    fn another_log_key_fails_every_checkpoint_and_names_the_key() {
        let (_dir, store, _) = log(4);
        let other = Signer::generate("other.example/log").unwrap();
        let report = check_store(&store, &other.verifier(), &mut |_, _, _| {}).unwrap();
        assert!(!report.ok);
        assert!(report.findings.iter().any(|f| f.kind == "log_key_name"));
        let signatures = report
            .findings
            .iter()
            .filter(|f| f.kind == "checkpoint_signature")
            .count() as u64;
        assert_eq!(signatures, report.checked.checkpoints);
    }

    #[test]
    fn findings_are_capped_but_counted() {
        let mut f = Findings::new(2);
        for i in 0..5 {
            f.push("leaf_missing", format!("index {i}"), "");
        }
        assert_eq!(f.total, 5);
        assert_eq!(f.list.len(), 2);
    }

    #[test]
    fn key_locations_are_readable() {
        assert_eq!(key_location(b"Sacme/2026-01"), "S acme/2026-01");
        assert_eq!(
            record_location(b"Sacme/2026-01", 5),
            "S acme/2026-01 day 05"
        );
        assert_eq!(key_location(b"C\x01x"), "C 0178");
        assert_eq!(key_location(b"S\x01x"), "S 0178");
        assert_eq!(key_location(b""), "(empty key)");
    }
}

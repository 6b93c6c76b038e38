//! Integrity check ("fsck") of a log's durable state: the entry points and
//! the order the checks run in. The daily "is the recording process
//! working" evidence SEC 17a-4(f)(2)(ii)(B) asks for.
//!
//! The full check ([`check_store`]) is pure over a [`Store`]: it re-hashes
//! every leaf, recomputes every stored perfect node from its children, finds
//! tree files too short for the tree ([`tree`]), checks the date index (`S`
//! rows) against the leaves in both directions and the leaf-hash runs
//! against the stored hashes ([`indexes`]), checks every key-change entry
//! and that each tenant record is what they add up to ([`tenants`]), and
//! checks every stored checkpoint ([`checkpoints`]). Every problem becomes a
//! [`Finding`]; corruption never panics and never stops the check. Only a
//! failure to *read* (an I/O error from sled) ends it with an error,
//! because then nothing can be concluded.
//!
//! Memory stays bounded on any log size: leaves and nodes are streamed from
//! the tree files in one sequential pass each ([`streams`]), the right edge
//! being climbed holds at most 64 hashes, index rows are point reads, and
//! findings are capped at [`MAX_FINDINGS`] (the total is still counted).
//!
//! The cheap check ([`check_recent`]) covers only the right edge and the
//! latest checkpoint, with the same comparisons; the server runs it
//! periodically (see `crate::integrity`).

mod checkpoints;
mod indexes;
mod recent;
mod report;
mod streams;
mod tenants;
mod tree;

use std::collections::{BTreeMap, HashSet};

use crate::note::Verifier;
use crate::storage::{Store, StoreError};
use crate::tenant_key::KeyChange;

pub use recent::{check_recent, RECENT_LEAVES};
pub use report::{Checked, Finding, FindingKind, ProgressFn, Report, Stage};

use report::{corrupt, Findings};

/// Most findings a report lists; beyond it only `findings_total` grows, so a
/// wholly corrupt database cannot exhaust memory.
pub const MAX_FINDINGS: usize = 10_000;
/// The highest level a node of a tree of at most `u64::MAX` leaves can have.
const LEVELS: usize = 64;

/// The full check's working state, shared by the check families (each adds
/// its methods in its own file).
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
    key_changes: BTreeMap<String, Vec<(u64, KeyChange)>>,
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
            f.push(
                FindingKind::MetaMissing,
                "M origin",
                "no origin is recorded",
            );
            None
        }
        Err(why) => {
            f.push(FindingKind::MetaCorrupt, "M origin", why);
            None
        }
    };
    if let Some(origin) = &origin {
        if log_key.name() != origin {
            f.push(
                FindingKind::LogKeyName,
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
                FindingKind::MetaCorrupt,
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
        key_changes: BTreeMap::new(),
    };
    checker.check_tree(progress)?;
    checker.check_tenants()?;
    checker.check_month_rows(progress)?;
    checker.check_hash_runs()?;
    checker.check_checkpoints(origin.as_deref(), progress)?;
    Ok(checker.findings.into_report(origin, size, checker.checked))
}

#[cfg(test)]
mod tests;

//! The index check: every statement's date record (`S` rows) points at its
//! leaf, every stored record belongs to a leaf, and the leaf-hash runs agree
//! with the stored level-0 hashes.

use super::report::{corrupt, key_location, FindingKind, ProgressFn, Stage};
use super::{Checker, MAX_FINDINGS};
use crate::merkle::{leaf_hash, Hash, NodeId};
use crate::statement::parse_submission;
use crate::storage::{month_rows, prefix, Store, StoreError};

/// What a leaf's index entries must be.
pub(super) struct LeafKeys {
    pub(super) hash: Hash,
    /// (tenant, date) when the leaf parses as a statement.
    pub(super) statement: Option<(String, String)>,
}

impl LeafKeys {
    pub(super) fn of(bytes: &[u8]) -> Self {
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

pub(super) fn decode_index(value: &[u8]) -> Option<u64> {
    value.try_into().ok().map(u64::from_be_bytes)
}

/// Where one record of an `S` row is: `S acme/2026-01 day 05`.
pub(super) fn record_location(key: &[u8], day: u8) -> String {
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

impl Checker<'_> {
    fn note_reported(&mut self, key: Vec<u8>) {
        if self.reported_rows.len() < MAX_FINDINGS {
            self.reported_rows.insert(key);
        }
    }

    /// Leaf `index`, a statement, must have the record of its date in its
    /// tenant's month row, pointing at `index`.
    pub(super) fn check_record(&mut self, keys: &LeafKeys, index: u64) -> Result<(), StoreError> {
        let Some((key, day)) = keys.month_row() else {
            return Ok(());
        };
        let location = record_location(&key, day);
        let Some(value) = self.store.get_raw(&key)? else {
            self.findings.push(
                FindingKind::MissingIndexRow,
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
                        .push(FindingKind::IndexRowMalformed, key_location(&key), why);
                    self.note_reported(key);
                }
                return Ok(());
            }
        };
        let Some(points_at) = month_rows::find(&records, day) else {
            self.findings.push(
                FindingKind::MissingIndexRow,
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
                FindingKind::DuplicateTenantDate,
                location,
                format!("statements at index {points_at} and index {index} are for the same tenant and date"),
            );
        } else {
            self.findings.push(
                FindingKind::IndexMismatch,
                location,
                format!("points at index {points_at}, but the leaf is at index {index}"),
            );
            self.note_reported(record_id(&key, day));
        }
        Ok(())
    }

    /// Every stored date record must have been matched by a leaf; if the
    /// count says otherwise, walk the rows to name the extra records.
    pub(super) fn check_month_rows(&mut self, progress: ProgressFn<'_>) -> Result<(), StoreError> {
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
                        .push(FindingKind::IndexRowMalformed, key_location(&key), why);
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
                        FindingKind::ExtraIndexRow,
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
                        FindingKind::ExtraIndexRow,
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
                        FindingKind::ExtraIndexRow,
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
    pub(super) fn check_hash_runs(&mut self) -> Result<(), StoreError> {
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
}

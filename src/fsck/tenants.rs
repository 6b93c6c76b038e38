//! The tenant check: every key-change entry carries the log's signature and
//! parses, and every tenant record (`K` row) is exactly what its tenant's
//! key-change entries add up to.

use std::collections::BTreeMap;

use super::report::{key_location, FindingKind};
use super::Checker;
use crate::note::{open, Note};
use crate::storage::{prefix, StoreError};
use crate::tenant_key::{replay, KeyChange, TenantRecord};

impl Checker<'_> {
    /// A key-change entry must carry the log's signature and parse; it is kept
    /// for [`Checker::check_tenants`].
    pub(super) fn key_change(&mut self, index: u64, bytes: &[u8]) {
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
            Err(why) => {
                self.findings
                    .push(FindingKind::KeyChangeInvalid, format!("index {index}"), why)
            }
        }
    }

    /// Every tenant record (`K` row) must be exactly what its key-change
    /// entries add up to, and every tenant with entries must have a record.
    pub(super) fn check_tenants(&mut self) -> Result<(), StoreError> {
        let mut stored = BTreeMap::new();
        for row in self.store.scan_raw(&[prefix::TENANT]) {
            let (key, value) = row?;
            let id = String::from_utf8_lossy(&key[1..]).into_owned();
            self.checked.tenants += 1;
            match serde_json::from_slice::<TenantRecord>(&value) {
                Ok(record) => {
                    stored.insert(id, record);
                }
                Err(e) => self.findings.push(
                    FindingKind::TenantRecordMalformed,
                    key_location(&key),
                    e.to_string(),
                ),
            }
        }
        let changes = std::mem::take(&mut self.key_changes);
        for (tenant, list) in &changes {
            let location = format!("K {tenant}");
            let replayed = match replay(list.iter().map(|(i, c)| (*i, c))) {
                Ok(r) => r,
                Err(e) => {
                    self.findings
                        .push(FindingKind::KeyChangeInvalid, location, e.to_string());
                    continue;
                }
            };
            match (replayed, stored.remove(tenant)) {
                (Some(want), Some(have)) if want == have => {}
                (Some(_), Some(_)) => self.findings.push(
                    FindingKind::TenantRecordMismatch,
                    location,
                    "the stored tenant record differs from what its key-change entries add up to",
                ),
                (Some(_), None) => self.findings.push(
                    FindingKind::TenantRecordMissing,
                    location,
                    "the log has key-change entries for this tenant but no record",
                ),
                (None, _) => {}
            }
        }
        for tenant in stored.keys() {
            self.findings.push(
                FindingKind::TenantRecordUnlogged,
                format!("K {tenant}"),
                "a tenant record with no key-change entry in the log: its keys were never published",
            );
        }
        Ok(())
    }
}

//! The auditor's reads. Everything that proves something comes from the
//! tlog-tiles read path (`/checkpoint`, `/tile/entries/...`, `/tile/<L>/...`),
//! so the same code audits the log itself and a static mirror of it served
//! by any web server. The log's JSON API is used, when present, only to learn
//! an entry's index; without it (a mirror) the entry bundles are scanned.
//!
//! Each method fetches and then calls the pure checks in [`crate::audit`];
//! nothing fetched is believed before it verifies against the checkpoint
//! verified under the caller's [`Trust`].

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ClientError, Located, LogClient};
use crate::audit::{
    check_consistency_proof, check_entry, check_key_change, consistency_step, statement_key,
    AuditFailure, Consistency,
};
use crate::merkle::Hash;
use crate::note::{Checkpoint, Verifier};
use crate::statement::{format_date, Statement};
use crate::tenant_key::{is_key_change_entry, replay, KeyChange, TenantRecord};
use crate::tiles::{tile_width, TileClient, TileId, TILE_WIDTH};
use crate::verify::{verify_checkpoint_note, Trust, VerifiedCheckpoint};

/// How to find a statement's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Ask the log's API; if what answers is not a rootlog API (a static
    /// mirror), scan the entry bundles.
    Auto,
    /// Only the log's API.
    Api,
    /// Only the entry bundles (works against any tlog-tiles mirror).
    Scan,
}

/// A verified checkpoint and how it relates to the one saved before.
#[derive(Debug, Clone)]
pub struct CheckpointAudit {
    pub verified: VerifiedCheckpoint,
    pub consistency: Consistency,
}

/// A statement proven to be in the log under a verified checkpoint.
#[derive(Debug, Clone)]
pub struct EntryAudit {
    pub index: u64,
    /// The entry bytes exactly as committed (the signed statement note).
    pub entry: Vec<u8>,
    pub statement: Statement,
    /// Its inclusion proof into the checkpoint it was audited under (from tiles).
    pub proof: Vec<Hash>,
    /// How the index was found: "the log API" or "scanning the entry bundles".
    pub located_by: &'static str,
}

/// Where each (tenant, date) statement is, from scanning every entry bundle
/// of a tree. Built once, it serves many lookups (a whole export's days).
#[derive(Debug, Clone, Default)]
pub struct StatementIndex {
    /// The tree size scanned.
    pub size: u64,
    map: HashMap<(String, time::Date), u64>,
    /// Key-change entries by tenant, in log order (not yet verified).
    key_changes: HashMap<String, Vec<u64>>,
}

impl StatementIndex {
    pub fn get(&self, tenant: &str, date: time::Date) -> Option<u64> {
        self.map.get(&(tenant.to_string(), date)).copied()
    }

    /// The indexes of the key-change entries that name `tenant`.
    pub fn key_changes_of(&self, tenant: &str) -> Vec<u64> {
        self.key_changes.get(tenant).cloned().unwrap_or_default()
    }
}

/// The tenant a key-change entry names, if the entry is one (read, not yet
/// verified: `check_key_change` verifies what is used).
fn key_change_tenant(entry: &[u8]) -> Option<String> {
    if !is_key_change_entry(entry) {
        return None;
    }
    let note = crate::note::Note::parse(entry).ok()?;
    KeyChange::parse_text(&note.text).ok().map(|c| c.tenant)
}

/// An entry bundle as fetched: its width and entries.
type CachedBundle = (u16, Vec<Vec<u8>>);

/// Reads and audits one log (or a mirror of it) at a base URL.
pub struct Auditor {
    api: LogClient,
    tiles: TileClient,
    lookup: Lookup,
    /// Entry bundles already fetched.
    bundles: Mutex<HashMap<u64, CachedBundle>>,
}

fn fetch(e: impl std::fmt::Display) -> AuditFailure {
    AuditFailure::Fetch(e.to_string())
}

impl Auditor {
    /// An auditor for the log (or static mirror) at `base_url`.
    pub fn new(base_url: &str, lookup: Lookup) -> Result<Self, ClientError> {
        let api = LogClient::new(base_url);
        let tiles = api.tiles()?;
        Ok(Auditor {
            api,
            tiles,
            lookup,
            bundles: Mutex::new(HashMap::new()),
        })
    }

    /// The JSON API client for the same URL.
    pub fn api(&self) -> &LogClient {
        &self.api
    }

    /// The tile client for the same URL.
    pub fn tiles(&self) -> &TileClient {
        &self.tiles
    }

    /// Fetches `/checkpoint` and verifies it under `trust` (log signature,
    /// origin, witness quorum), then its consistency with `saved`, the
    /// checkpoint note this auditor verified last time (if any), with a
    /// consistency proof built from hash tiles.
    pub async fn checkpoint(
        &self,
        trust: &Trust<'_>,
        saved: Option<&str>,
    ) -> Result<CheckpointAudit, AuditFailure> {
        let bytes = self
            .tiles
            .checkpoint()
            .await
            .map_err(|e| fetch(format!("{e:#}")))?;
        let text =
            String::from_utf8(bytes).map_err(|_| fetch("the checkpoint is not UTF-8 text"))?;
        let verified = verify_checkpoint_note(&text, trust)?;
        let Some(saved) = saved else {
            return Ok(CheckpointAudit {
                verified,
                consistency: Consistency::FirstSeen,
            });
        };
        // The saved checkpoint was verified with the quorum when it was saved;
        // re-check only that this log signed it, so a foreign or edited state
        // file cannot pass for history.
        let log_only = Trust {
            log_key: trust.log_key,
            origin: trust.origin,
            witnesses: &[],
            quorum: 0,
            tenant_key: None,
        };
        let old = verify_checkpoint_note(saved, &log_only)
            .map_err(|e| AuditFailure::SavedCheckpoint(e.to_string()))?;
        let consistency = match consistency_step(&old, &verified)? {
            None if old.checkpoint.size == 0 && verified.checkpoint.size > 0 => {
                Consistency::Extended { old_size: 0 }
            }
            None => Consistency::Unchanged,
            Some((o, n)) => {
                let proof =
                    self.tiles.consistency_proof(o, n).await.map_err(|e| {
                        fetch(format!("consistency proof {o} → {n} from tiles: {e:#}"))
                    })?;
                check_consistency_proof(&old, &verified, &proof)?;
                Consistency::Extended { old_size: o }
            }
        };
        Ok(CheckpointAudit {
            verified,
            consistency,
        })
    }

    /// The bytes of entry `index` in the tree of `size` leaves, read from
    /// its entry bundle (the partial bundle that size implies, or the full one).
    pub async fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, AuditFailure> {
        if index >= size {
            return Err(AuditFailure::NotYetCovered { index, size });
        }
        let bundle = index / u64::from(TILE_WIDTH);
        let entries = self.bundle(bundle, size).await?;
        // index < size, so the bundle's width at `size` covers it.
        let offset = (index % u64::from(TILE_WIDTH)) as usize;
        entries.get(offset).cloned().ok_or_else(|| {
            fetch(format!(
                "entry bundle {bundle} is too short for entry {index}"
            ))
        })
    }

    async fn bundle(&self, bundle: u64, size: u64) -> Result<Vec<Vec<u8>>, AuditFailure> {
        let width = tile_width(
            TileId {
                level: 0,
                index: bundle,
            },
            size,
        );
        if let Ok(cache) = self.bundles.lock() {
            if let Some((w, entries)) = cache.get(&bundle) {
                if *w == width {
                    return Ok(entries.clone());
                }
            }
        }
        let entries = self
            .tiles
            .entries(bundle, width)
            .await
            .map_err(|e| fetch(format!("{e:#}")))?;
        if let Ok(mut cache) = self.bundles.lock() {
            cache.insert(bundle, (width, entries.clone()));
        }
        Ok(entries)
    }

    /// Reads every entry bundle of the tree of `size` leaves and indexes the
    /// statements by (tenant, date). Two statements for one (tenant, date)
    /// are the log breaking its own rule, and are reported.
    pub async fn scan(&self, size: u64) -> Result<StatementIndex, AuditFailure> {
        let mut index = StatementIndex {
            size,
            map: HashMap::new(),
            key_changes: HashMap::new(),
        };
        let bundles = size.div_ceil(u64::from(TILE_WIDTH));
        for bundle in 0..bundles {
            let entries = self.bundle(bundle, size).await?;
            for (offset, entry) in entries.iter().enumerate() {
                let at = bundle * u64::from(TILE_WIDTH) + offset as u64;
                if let Some(tenant) = key_change_tenant(entry) {
                    index.key_changes.entry(tenant).or_default().push(at);
                    continue;
                }
                // Entries that are not statements cannot be what we look for;
                // whatever is found is checked in full by `check_entry`.
                let Some(key) = statement_key(entry) else {
                    continue;
                };
                if let Some(&first) = index.map.get(&key) {
                    return Err(AuditFailure::Duplicate {
                        tenant: key.0,
                        date: format_date(key.1),
                        first,
                        second: at,
                    });
                }
                index.map.insert(key, at);
            }
        }
        Ok(index)
    }

    /// Finds the index of tenant's statement for `date` under a tree of
    /// `size` leaves: from `scanned` if given, else per the lookup mode.
    pub async fn locate(
        &self,
        tenant: &str,
        date: time::Date,
        size: u64,
        scanned: Option<&StatementIndex>,
    ) -> Result<(u64, &'static str), AuditFailure> {
        let not_found = || AuditFailure::NotFound {
            tenant: tenant.to_string(),
            date: format_date(date),
            size,
        };
        const SCANNED: &str = "scanning the entry bundles";
        if let Some(scanned) = scanned {
            return scanned
                .get(tenant, date)
                .map(|i| (i, SCANNED))
                .ok_or_else(not_found);
        }
        if self.lookup != Lookup::Scan {
            match self.api.locate(tenant, &format_date(date)).await {
                Ok(Located::Found(index)) => return Ok((index, "the log API")),
                Ok(Located::NotInLog) => return Err(not_found()),
                Ok(Located::NoApi) if self.lookup == Lookup::Auto => {}
                Ok(Located::NoApi) => {
                    return Err(fetch(
                        "what answers is not a rootlog API (a static mirror? use --lookup scan)",
                    ))
                }
                Err(e) => return Err(fetch(e)),
            }
        }
        self.scan(size)
            .await?
            .get(tenant, date)
            .map(|i| (i, SCANNED))
            .ok_or_else(not_found)
    }

    /// The tenant's key history as of `checkpoint`: every key-change entry of
    /// the tenant, read from its bundle, proven included and checked for the
    /// log's signature, replayed into the record. Which entries to read comes
    /// from the log's API (`GET /v1/tenants/{id}`), or, against a mirror or
    /// with `Lookup::Scan`, from scanning every entry bundle: a log that hides
    /// a key change from its API is caught only by the scan.
    pub async fn key_history(
        &self,
        checkpoint: &Checkpoint,
        tenant: &str,
        log_key: &Verifier,
    ) -> Result<(TenantRecord, Vec<u64>, &'static str), AuditFailure> {
        let size = checkpoint.size;
        let (indexes, found_by) = match self.key_change_indexes_from_api(tenant, size).await? {
            Some(indexes) => (indexes, "the log API"),
            None => (
                self.scan(size).await?.key_changes_of(tenant),
                "scanning the entry bundles",
            ),
        };
        let mut changes = Vec::with_capacity(indexes.len());
        for &index in &indexes {
            let entry = self.entry(index, size).await?;
            let proof: Vec<Hash> = self.tiles.inclusion_proof(index, size).await.map_err(|e| {
                fetch(format!(
                    "inclusion proof of {index} in {size} from tiles: {e:#}"
                ))
            })?;
            changes.push((
                index,
                check_key_change(&entry, index, &proof, checkpoint, log_key, tenant)?,
            ));
        }
        let record = replay(changes.iter().map(|(i, c)| (*i, c)))
            .map_err(|e| AuditFailure::TenantKeys(e.to_string()))?
            .ok_or_else(|| {
                AuditFailure::TenantKeys(format!(
                    "the log holds no key-change entry for tenant {tenant}: none of its keys was ever published"
                ))
            })?;
        Ok((record, indexes, found_by))
    }

    /// The key-change indexes the log's API names for `tenant` below `size`;
    /// None when the API is not asked or what answers is not a rootlog API.
    async fn key_change_indexes_from_api(
        &self,
        tenant: &str,
        size: u64,
    ) -> Result<Option<Vec<u64>>, AuditFailure> {
        if self.lookup == Lookup::Scan {
            return Ok(None);
        }
        match self.api.tenant(tenant).await {
            Ok(value) => {
                let record: TenantRecord = serde_json::from_value(value)
                    .map_err(|e| fetch(format!("GET /v1/tenants/{tenant}: {e}")))?;
                Ok(Some(
                    record
                        .change_indexes()
                        .into_iter()
                        .filter(|&i| i < size)
                        .collect(),
                ))
            }
            Err(ClientError::Api {
                status: 404, code, ..
            }) if code == "not_found" => Ok(Some(Vec::new())),
            Err(_) if self.lookup == Lookup::Auto => Ok(None),
            Err(e) => Err(fetch(e)),
        }
    }

    /// The earliest checkpoint covering entry `index` that meets `trust`,
    /// as the log's API names it (`GET /v1/roots/{tenant}/{date}`), with the
    /// entry's inclusion proof into it. It is verified here: signed by the
    /// log, cosigned by the quorum, and consistent with `latest` (proof from
    /// tiles), and both proofs are built from tiles at `latest`'s size. None
    /// when no API names one (a static mirror, or the API is not asked) or
    /// what it names does not meet the policy: the caller then bounds the
    /// time with `latest` itself, which is valid but later.
    pub async fn earliest_witnessed(
        &self,
        tenant: &str,
        date: time::Date,
        index: u64,
        latest: &VerifiedCheckpoint,
        trust: &Trust<'_>,
    ) -> Result<Option<(VerifiedCheckpoint, Vec<Hash>)>, AuditFailure> {
        if self.lookup == Lookup::Scan {
            return Ok(None);
        }
        let named = match self.api.root(tenant, &format_date(date)).await {
            Ok(entry) if entry.index == index => entry.checkpoint,
            _ => return Ok(None),
        };
        let Ok(earliest) = verify_checkpoint_note(&named, trust) else {
            return Ok(None);
        };
        let (e, l) = (&earliest.checkpoint, &latest.checkpoint);
        if e.size <= index || e.size > l.size {
            return Ok(None);
        }
        match consistency_step(&earliest, latest)? {
            None => {}
            Some((o, n)) => {
                let proof =
                    self.tiles.consistency_proof(o, n).await.map_err(|e| {
                        fetch(format!("consistency proof {o} → {n} from tiles: {e:#}"))
                    })?;
                check_consistency_proof(&earliest, latest, &proof)?;
            }
        }
        let plan = crate::merkle::inclusion_plan(index, e.size)
            .map_err(|err| fetch(format!("inclusion of {index} in {}: {err}", e.size)))?;
        let hashes = self
            .tiles
            .node_hashes(&plan.nodes, l.size)
            .await
            .map_err(|err| fetch(format!("{err:#}")))?;
        let proof = plan
            .assemble(&hashes)
            .map_err(|err| fetch(format!("inclusion of {index} in {}: {err}", e.size)))?;
        Ok(Some((earliest, proof)))
    }

    /// Finds tenant's statement for `date`, reads its bytes from the entry
    /// bundle, builds its inclusion proof from hash tiles, and verifies it
    /// under `checkpoint` (and the tenant's signature, given its key).
    pub async fn statement(
        &self,
        checkpoint: &Checkpoint,
        tenant: &str,
        date: time::Date,
        tenant_key: Option<&Verifier>,
        scanned: Option<&StatementIndex>,
    ) -> Result<EntryAudit, AuditFailure> {
        let size = checkpoint.size;
        let (index, located_by) = self.locate(tenant, date, size, scanned).await?;
        if index >= size {
            return Err(AuditFailure::NotYetCovered { index, size });
        }
        let entry = self.entry(index, size).await?;
        let proof: Vec<Hash> = self.tiles.inclusion_proof(index, size).await.map_err(|e| {
            fetch(format!(
                "inclusion proof of {index} in {size} from tiles: {e:#}"
            ))
        })?;
        let statement = check_entry(&entry, index, &proof, checkpoint, tenant, date, tenant_key)?;
        Ok(EntryAudit {
            index,
            entry,
            statement,
            proof,
            located_by,
        })
    }
}

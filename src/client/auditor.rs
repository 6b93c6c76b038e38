//! The auditor's reads. Everything that proves something comes from the
//! tlog-tiles read path (`/checkpoint`, `/tile/entries/...`, `/tile/<L>/...`),
//! so the same code audits the log itself and a static mirror of it served
//! by any web server. The log's JSON API is used, when present, only to learn
//! an entry's index and its earliest witnessed checkpoint; without it (a
//! mirror) the mirror's locators (`crate::locator`) say the same, and where
//! they are missing, wrong or silent the entry bundles are scanned.
//!
//! Each method fetches and then calls the pure checks in [`crate::audit`];
//! nothing fetched is believed before it verifies against the checkpoint
//! verified under the caller's [`Trust`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{ClientError, Located, LogClient};
use crate::audit::{
    check_consistency_proof, check_entry, check_key_change, consistency_step, statement_key,
    AuditFailure, Consistency,
};
use crate::locator::{self, KeyLocator, MonthLocator};
use crate::merkle::Hash;
use crate::note::{Checkpoint, Verifier};
use crate::statement::{format_date, Statement};
use crate::tenant_key::{key_change_tenant, replay, TenantRecord};
use crate::tiles::{tile_width, TileClient, TileId, TILE_WIDTH};
use crate::verify::{verify_checkpoint_note, Trust, VerifiedCheckpoint};

/// How to find a statement's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Ask the log's API; if what answers is not a rootlog API (a static
    /// mirror), its locators, and failing those scan the entry bundles.
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
    /// How the index was found: [`BY_API`], [`BY_LOCATOR`] or [`BY_SCAN`].
    pub located_by: &'static str,
    /// A hint that was not used, and why (a locator naming another entry).
    pub ignored_hint: Option<String>,
}

/// How an index was found: from the log's API.
pub const BY_API: &str = "the log API";
/// How an index was found: from the mirror's locator.
pub const BY_LOCATOR: &str = "the locator";
/// How an index was found: by reading every entry bundle.
pub const BY_SCAN: &str = "scanning the entry bundles";

/// The earliest witnessed checkpoint of an entry, as far as the auditor
/// could establish it.
#[derive(Debug, Clone)]
pub enum Earliest {
    /// Named by the API or a locator and verified: signed, quorum,
    /// consistent with the latest, the entry included (`proof`, from tiles).
    Found {
        checkpoint: VerifiedCheckpoint,
        proof: Vec<Hash>,
        named_by: &'static str,
    },
    /// Nothing names one (a mirror without a locator for the day, or
    /// `Lookup::Scan`).
    NotNamed,
    /// One was named but cannot bound the time, and why.
    Unusable { named_by: &'static str, why: String },
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

/// An entry bundle as fetched: its width and entries.
type CachedBundle = (u16, Vec<Vec<u8>>);

/// Month locators as fetched, by (tenant, `YYYY-MM`); None: none usable.
type MonthLocators = HashMap<(String, String), Option<Arc<MonthLocator>>>;

/// Reads and audits one log (or a mirror of it) at a base URL.
///
/// The caches below are behind `Mutex`es because the auditor's methods take
/// `&self` (it is shared across the `await`s of one audit); a lock is never
/// held across an `await`, so it is only ever held for a lookup or insert.
pub struct Auditor {
    api: LogClient,
    tiles: TileClient,
    lookup: Lookup,
    /// Entry bundles already fetched.
    bundles: Mutex<HashMap<u64, CachedBundle>>,
    /// Month locators already fetched, by (tenant, month); None: none usable.
    months: Mutex<MonthLocators>,
    /// Key-change locators already fetched, by tenant; None: none usable.
    keys: Mutex<HashMap<String, Option<Arc<KeyLocator>>>>,
    /// The last scan of every bundle (of its `size`), reused by later lookups.
    scanned: Mutex<Option<Arc<StatementIndex>>>,
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
            months: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            scanned: Mutex::new(None),
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

    /// [`Auditor::scan`], done at most once per tree size: later calls for
    /// the same size reuse it.
    pub async fn scan_once(&self, size: u64) -> Result<Arc<StatementIndex>, AuditFailure> {
        if let Ok(cache) = self.scanned.lock() {
            if let Some(index) = cache.as_ref().filter(|i| i.size == size) {
                return Ok(index.clone());
            }
        }
        let index = Arc::new(self.scan(size).await?);
        if let Ok(mut cache) = self.scanned.lock() {
            *cache = Some(index.clone());
        }
        Ok(index)
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

    /// The month locator of (`tenant`, `month`) the mirror publishes, fetched
    /// once; None when there is none or it is not a valid locator of that
    /// tenant and month (a hint that cannot be read is no hint).
    async fn month_locator(&self, tenant: &str, month: &str) -> Option<Arc<MonthLocator>> {
        let key = (tenant.to_string(), month.to_string());
        if let Ok(cache) = self.months.lock() {
            if let Some(found) = cache.get(&key) {
                return found.clone();
            }
        }
        let found = match self
            .tiles
            .file(&locator::month_path(tenant, month), locator::MAX_BYTES)
            .await
        {
            Ok(Some(bytes)) => MonthLocator::parse(&bytes, tenant, month)
                .ok()
                .map(Arc::new),
            _ => None,
        };
        if let Ok(mut cache) = self.months.lock() {
            cache.insert(key, found.clone());
        }
        found
    }

    /// The key-change locator of `tenant` the mirror publishes, fetched once.
    async fn key_locator(&self, tenant: &str) -> Option<Arc<KeyLocator>> {
        if let Ok(cache) = self.keys.lock() {
            if let Some(found) = cache.get(tenant) {
                return found.clone();
            }
        }
        let found = match self
            .tiles
            .file(&locator::keys_path(tenant), locator::MAX_BYTES)
            .await
        {
            Ok(Some(bytes)) => KeyLocator::parse(&bytes, tenant).ok().map(Arc::new),
            _ => None,
        };
        if let Ok(mut cache) = self.keys.lock() {
            cache.insert(tenant.to_string(), found.clone());
        }
        found
    }

    /// The index a locator names for tenant's statement of `date`, if it is
    /// below `size` (a locator may run ahead of the published checkpoint).
    async fn locator_index(&self, tenant: &str, date: time::Date, size: u64) -> Option<u64> {
        let month = self.month_locator(tenant, &locator::month_of(date)).await?;
        month.day(date).map(|d| d.index).filter(|&i| i < size)
    }

    /// Finds the index of tenant's statement for `date` under a tree of
    /// `size` leaves: from `scanned` if given, else per the lookup mode
    /// (the API; on a mirror in `Auto`, its locator, then a scan).
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
        if let Some(scanned) = scanned {
            return scanned
                .get(tenant, date)
                .map(|i| (i, BY_SCAN))
                .ok_or_else(not_found);
        }
        if self.lookup != Lookup::Scan {
            match self.api.locate(tenant, &format_date(date)).await {
                Ok(Located::Found(index)) => return Ok((index, BY_API)),
                Ok(Located::NotInLog) => return Err(not_found()),
                Ok(Located::NoApi) if self.lookup == Lookup::Auto => {
                    if let Some(index) = self.locator_index(tenant, date, size).await {
                        return Ok((index, BY_LOCATOR));
                    }
                }
                Ok(Located::NoApi) => {
                    return Err(fetch(
                        "what answers is not a rootlog API (a static mirror? use --lookup scan or auto)",
                    ))
                }
                Err(e) => return Err(fetch(e)),
            }
        }
        self.scan_once(size)
            .await?
            .get(tenant, date)
            .map(|i| (i, BY_SCAN))
            .ok_or_else(not_found)
    }

    /// The tenant's key history as of `checkpoint`: every key-change entry of
    /// the tenant, read from its bundle, proven included and checked for the
    /// log's signature, replayed into the record. Which entries to read comes
    /// from the log's API (`GET /v1/tenants/{id}`), or against a mirror from
    /// the tenant's key-change locator, or (no locator, one that does not
    /// replay, or `Lookup::Scan`) from scanning every entry bundle. A log
    /// that hides a key change from its API, or a mirror from its locator,
    /// is caught only by the scan.
    pub async fn key_history(
        &self,
        checkpoint: &Checkpoint,
        tenant: &str,
        log_key: &Verifier,
    ) -> Result<(TenantRecord, Vec<u64>, &'static str), AuditFailure> {
        let size = checkpoint.size;
        let (indexes, found_by) = match self.key_change_indexes_from_api(tenant, size).await? {
            Some(found) => found,
            None => (self.scan_once(size).await?.key_changes_of(tenant), BY_SCAN),
        };
        if found_by == BY_LOCATOR {
            // A locator is a hint: one whose entries do not replay into a
            // history (none listed, another tenant's, not included) is not
            // believed over the bundles.
            if let Ok(record) = self.replay(checkpoint, tenant, log_key, &indexes).await {
                return Ok((record, indexes, found_by));
            }
            let indexes = self.scan_once(size).await?.key_changes_of(tenant);
            let record = self.replay(checkpoint, tenant, log_key, &indexes).await?;
            return Ok((record, indexes, BY_SCAN));
        }
        let record = self.replay(checkpoint, tenant, log_key, &indexes).await?;
        Ok((record, indexes, found_by))
    }

    /// Reads the key-change entries at `indexes` from their bundles, proves
    /// each included under `checkpoint` from tiles, checks the log signed it
    /// about `tenant`, and replays them into the tenant's record.
    async fn replay(
        &self,
        checkpoint: &Checkpoint,
        tenant: &str,
        log_key: &Verifier,
        indexes: &[u64],
    ) -> Result<TenantRecord, AuditFailure> {
        let size = checkpoint.size;
        let mut changes = Vec::with_capacity(indexes.len());
        for &index in indexes {
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
        replay(changes.iter().map(|(i, c)| (*i, c)))
            .map_err(|e| AuditFailure::TenantKeys(e.to_string()))?
            .ok_or_else(|| {
                AuditFailure::TenantKeys(format!(
                    "the log holds no key-change entry for tenant {tenant}: none of its keys was ever published"
                ))
            })
    }

    /// The key-change indexes the log's API (or, on a mirror in `Auto`, the
    /// tenant's key-change locator) names for `tenant` below `size`, and
    /// which named them; None when neither is asked or answers.
    async fn key_change_indexes_from_api(
        &self,
        tenant: &str,
        size: u64,
    ) -> Result<Option<(Vec<u64>, &'static str)>, AuditFailure> {
        if self.lookup == Lookup::Scan {
            return Ok(None);
        }
        let below = |indexes: Vec<u64>| indexes.into_iter().filter(|&i| i < size).collect();
        match self.api.tenant(tenant).await {
            Ok(value) => {
                let record: TenantRecord = serde_json::from_value(value)
                    .map_err(|e| fetch(format!("GET /v1/tenants/{tenant}: {e}")))?;
                Ok(Some((below(record.change_indexes()), BY_API)))
            }
            Err(ClientError::Api {
                status: 404, code, ..
            }) if code == "not_found" => Ok(Some((Vec::new(), BY_API))),
            Err(_) if self.lookup == Lookup::Auto => Ok(self
                .key_locator(tenant)
                .await
                .map(|keys| (below(keys.key_changes.clone()), BY_LOCATOR))),
            Err(e) => Err(fetch(e)),
        }
    }

    /// The earliest checkpoint covering entry `index` that meets `trust`, as
    /// the log's API names it (`GET /v1/roots/{tenant}/{date}`) or, on a
    /// static mirror in `Lookup::Auto`, the tenant's month locator, with the
    /// entry's inclusion proof into it. Whoever names it, it is verified the
    /// same way here: signed by the log, cosigned by the quorum, covering
    /// the entry, consistent with `latest` (proof from tiles), and the
    /// inclusion proof built from tiles at `latest`'s size. Anything else
    /// ([`Earliest::NotNamed`], [`Earliest::Unusable`]) leaves the caller to
    /// bound the time with `latest` itself, which is valid but later. A
    /// named checkpoint the log signed that is not consistent with `latest`
    /// is the log forking, and an error.
    pub async fn earliest_witnessed(
        &self,
        tenant: &str,
        date: time::Date,
        index: u64,
        latest: &VerifiedCheckpoint,
        trust: &Trust<'_>,
    ) -> Result<Earliest, AuditFailure> {
        if self.lookup == Lookup::Scan {
            return Ok(Earliest::NotNamed);
        }
        let (named, named_by) = match self.api.root(tenant, &format_date(date)).await {
            Ok(entry) if entry.index == index => (entry.checkpoint, BY_API),
            Ok(_) => return Ok(Earliest::NotNamed),
            // Not the API's JSON: a static mirror, whose locator may name it.
            Err(ClientError::Unexpected(_)) if self.lookup == Lookup::Auto => {
                let month = self.month_locator(tenant, &locator::month_of(date)).await;
                match month.as_ref().and_then(|m| m.day(date)) {
                    Some(day) if day.index == index => (day.checkpoint.clone(), BY_LOCATOR),
                    _ => return Ok(Earliest::NotNamed),
                }
            }
            Err(_) => return Ok(Earliest::NotNamed),
        };
        let unusable = |why: String| Ok(Earliest::Unusable { named_by, why });
        let earliest = match verify_checkpoint_note(&named, trust) {
            Ok(earliest) => earliest,
            Err(e) => return unusable(e.to_string()),
        };
        let (e, l) = (&earliest.checkpoint, &latest.checkpoint);
        if e.size <= index {
            return unusable(format!(
                "its checkpoint of size {} does not cover entry {index}",
                e.size
            ));
        }
        if e.size > l.size {
            return unusable(format!(
                "its checkpoint of size {} is newer than the latest verified one ({})",
                e.size, l.size
            ));
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
        Ok(Earliest::Found {
            checkpoint: earliest,
            proof,
            named_by,
        })
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
        let (mut index, mut located_by) = self.locate(tenant, date, size, scanned).await?;
        if index >= size {
            return Err(AuditFailure::NotYetCovered { index, size });
        }
        let mut entry = self.entry(index, size).await?;
        let mut ignored_hint = None;
        // A locator is only a hint: one that names an entry other than the
        // tenant's statement for the day is ignored, and the bundles scanned.
        if located_by == BY_LOCATOR && statement_key(&entry) != Some((tenant.to_string(), date)) {
            ignored_hint = Some(format!(
                "the locator named entry {index}, which is not tenant {tenant}'s statement for {}; ignored",
                format_date(date)
            ));
            index = self
                .scan_once(size)
                .await?
                .get(tenant, date)
                .ok_or_else(|| AuditFailure::NotFound {
                    tenant: tenant.to_string(),
                    date: format_date(date),
                    size,
                })?;
            located_by = BY_SCAN;
            entry = self.entry(index, size).await?;
        }
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
            ignored_hint,
        })
    }
}

//! The static mirror: the log written out as files in exactly the tlog-tiles
//! URL layout (`checkpoint`, `tile/0/000`, `tile/0/001.p/17`,
//! `tile/entries/000`, ...), so any static web server, CDN or object store
//! can serve the log's reads. One flow ([`Mirror`]) decides what is written
//! and in which order; a [`Sink`] writes it: into a directory
//! ([`sink::DirSink`], `--publish-dir`) or an S3-compatible bucket
//! ([`object::ObjectSink`], `--publish-url s3://...`).
//!
//! *Publish* here means writing the static mirror's files; a checkpoint is
//! made public when [`crate::witnessing`] has collected its cosignatures,
//! and a tenant's statements are submitted, not published.
//!
//! Invariants a reader of the mirror can rely on:
//!
//! - The `checkpoint` is written last, after every tile and entry bundle it
//!   needs is durable, so a reader never sees a checkpoint whose tiles are
//!   missing, even across a crash. It is always one meeting the witness
//!   policy, with its cosignatures.
//! - Every file appears whole (see [`sink`]).
//! - A tile, once there, never changes content: full tiles are immutable and
//!   a partial tile `.p/W` always holds the first W hashes. In a directory,
//!   partial tiles of every checkpointed size stay until the full tile is
//!   published and a checkpoint needing only the full tile is in place;
//!   then they are removed. In a bucket they stay (nothing is deleted).
//!   A bucket's tile that exists with other bytes is never overwritten: the
//!   publisher stops and alarms ([`sink::Conflict`]), the log sequences on.
//!
//! - Beside the tiles, `locator/<tenant>/<YYYY-MM>` and `locator/<tenant>/keys`
//!   ([`crate::locator`]) say where each tenant's statements and key
//!   changes are. A step writes them after its tiles and bundles are
//!   durable and before its checkpoint, each whole, listing only entries
//!   below the size of the checkpoint it publishes. Unlike tiles they
//!   change as days are added.
//!
//! - The auditor's page (`index.html` and its files, [`crate::page`]) is
//!   written at the top when the mirror is opened, so a mirror serves the
//!   same page the log serves at `/`.
//!
//! Publishing is idempotent: after a crash (or on start) the mirror catches
//! up from the checkpoint already in the target, rewriting at most what
//! the interrupted step had written, and refuses a target holding another
//! log's checkpoint or a fork of this one. A directory mirror published
//! before locators existed gets them all once, built aside and renamed into
//! place. Publishing never blocks sequencing: it runs in its own task, and
//! a failing store is retried with exponential backoff while the lag shows
//! in `/metrics` and `/healthz` ([`PublishStatus`]).

pub mod object;
pub mod sink;
mod task;
#[cfg(test)]
mod tests;

pub use task::{spawn, PublishReport, PublishStatus};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};

use crate::audit::statement_key;
use crate::locator::{self, KeyLocator, LocatedDay, MonthLocator};
use crate::note::{Checkpoint, Note, Verifier};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::Store;
use crate::tenant_key::key_change_tenant;
use crate::tiles::{self, TileId, TILE_WIDTH};
use crate::witnessing::{earliest_witnessed_each, WitnessPolicy};

pub use sink::{Class, Conflict, DirSink, Sink};

/// Where a mirror is published: a local directory or an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Dir(PathBuf),
    Bucket(object::S3Url),
}

impl Target {
    /// `s3://BUCKET/PREFIX` is a bucket; anything else a directory path.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        if s.contains("://") {
            Ok(Target::Bucket(s.parse()?))
        } else {
            Ok(Target::Dir(PathBuf::from(s)))
        }
    }

    /// The target as the operator named it.
    pub fn describe(&self) -> String {
        match self {
            Target::Dir(dir) => dir.display().to_string(),
            Target::Bucket(url) => url.to_string(),
        }
    }

    /// Opens the sink (creating a directory; probing a bucket). Blocks on
    /// `handle` for a bucket: call it off the async workers.
    pub fn open(&self, handle: tokio::runtime::Handle) -> anyhow::Result<Arc<dyn Sink>> {
        Ok(match self {
            Target::Dir(dir) => Arc::new(DirSink::open(dir)?),
            Target::Bucket(url) => Arc::new(object::ObjectSink::open(url, handle)?),
        })
    }
}

/// Writes one log's tiles, bundles, locators and checkpoint into a sink.
#[derive(Clone)]
pub struct Mirror {
    store: Store,
    sink: Arc<dyn Sink>,
    /// The log's witness policy: the checkpoints the locators carry meet it,
    /// as the published checkpoint does.
    policy: WitnessPolicy,
}

/// One tenant's month (tenant, `YYYY-MM`) and its (day, index) records.
type MonthRecords = (String, String, Vec<(u8, u64)>);

/// Days whose checkpoints one pass looks up together (bounds the memory of
/// publishing a large log at once).
const LOCATOR_GROUP_DAYS: usize = 1 << 18;
/// Files handed to the sink at once (bounds the memory of a catch-up).
const WRITE_GROUP: usize = 64;

/// The origin, size and root of a signed checkpoint note.
fn parse_checkpoint(bytes: &[u8]) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    Checkpoint::parse(&note.text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// What a mirror holds, against the log's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// No checkpoint yet.
    Nothing,
    /// A checkpoint of this size, whose root is the tree's at that size.
    Within(u64),
    /// A checkpoint of this size, larger than the tree: the log is behind
    /// what it published (see `crate::fork_guard`).
    Ahead(u64),
    /// A checkpoint of this size whose root the tree does not have there.
    Forked(u64),
}

/// Reads the checkpoint in the mirror directory `dir` (which may not
/// exist) and compares it with the log in `store` ([`inspect_sink`]).
pub fn inspect(store: &Store, dir: &Path, log_key: &Verifier) -> anyhow::Result<Published> {
    let path = dir.join("checkpoint");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    compare(store, bytes, &dir.display().to_string(), log_key)
}

/// Reads the checkpoint in `sink` and compares it with the log in `store`:
/// it must be signed by `log_key` (a checkpoint of another log is an
/// error), and is then within, ahead of, or forked from the tree.
pub fn inspect_sink(
    store: &Store,
    sink: &dyn Sink,
    log_key: &Verifier,
) -> anyhow::Result<Published> {
    compare(store, sink.read("checkpoint")?, &sink.describe(), log_key)
}

fn compare(
    store: &Store,
    bytes: Option<Vec<u8>>,
    target: &str,
    log_key: &Verifier,
) -> anyhow::Result<Published> {
    let Some(bytes) = bytes else {
        return Ok(Published::Nothing);
    };
    let published = parse_checkpoint(&bytes)
        .with_context(|| format!("{target}/checkpoint is not a checkpoint"))?;
    let origin = store.origin()?.unwrap_or_default();
    if crate::note::open_checkpoint(&bytes, log_key, Some(&origin)).is_err() {
        return Err(sink::Refused(format!(
            "{target} holds a checkpoint of the log {:?} that this log's key did not sign; it is another log's mirror: use another directory or bucket",
            published.origin
        ))
        .into());
    }
    let size = store.size()?;
    Ok(if published.size > size {
        Published::Ahead(published.size)
    } else if store.frontier_at(published.size)?.root() != published.root {
        Published::Forked(published.size)
    } else {
        Published::Within(published.size)
    })
}

impl Mirror {
    /// Opens the mirror in `sink` for the log in `store`, and checks that
    /// what is already published belongs to this log's tree: signed by
    /// `log_key`, of a size the tree reached, and the root it had there.
    /// `policy` is the log's witness policy (for the locators).
    pub fn open(
        store: Store,
        sink: Arc<dyn Sink>,
        log_key: &Verifier,
        policy: WitnessPolicy,
    ) -> anyhow::Result<Self> {
        let target = sink.describe();
        let refused = match inspect_sink(&store, sink.as_ref(), log_key)? {
            Published::Nothing | Published::Within(_) => None,
            Published::Ahead(size) => Some(format!(
                "{target} holds this log's checkpoint of size {size}, larger than the log's tree ({}): the data directory is older than what was published; restore the missing entries with `rootlog restore --from-mirror <the mirror's directory or web URL>`",
                store.size()?,
            )),
            Published::Forked(size) => Some(format!(
                "{target} holds a checkpoint of size {size} with a root this log's tree does not have: the log signed two trees; keep both as evidence and do not publish over it",
            )),
        };
        if let Some(refused) = refused {
            return Err(sink::Refused(refused).into());
        }
        let mirror = Mirror {
            store,
            sink,
            policy,
        };
        mirror.write_page()?;
        Ok(mirror)
    }

    /// Writes the auditor's page ([`crate::page`]) beside the tiles, so the
    /// mirror serves it as the log does at `/`: each file that is missing
    /// or differs (another version of rootlog wrote it), whole. The page is
    /// not part of the log: it may change between versions (so it is no
    /// immutable object in a bucket), and a binary built without it writes
    /// nothing.
    fn write_page(&self) -> anyhow::Result<()> {
        if !crate::page::built() {
            return Ok(());
        }
        let mut files = Vec::new();
        for asset in crate::page::ASSETS {
            if self.sink.read(asset.name)?.as_deref() != Some(asset.body) {
                files.push((
                    asset.name.to_string(),
                    asset.body.to_vec(),
                    Class::Page(asset.content_type),
                ));
            }
        }
        self.sink.write_all(&files)?;
        self.sink.sync()
    }

    /// The sink's name for messages.
    pub fn target(&self) -> String {
        self.sink.describe()
    }

    /// The checkpoint currently published, if any.
    pub fn published(&self) -> anyhow::Result<Option<Checkpoint>> {
        match self.sink.read("checkpoint")? {
            Some(bytes) => parse_checkpoint(&bytes)
                .map(Some)
                .with_context(|| format!("{}/checkpoint is not a checkpoint", self.target())),
            None => Ok(None),
        }
    }

    /// Publishes the checkpoint `note` of tree size `size`, given that the
    /// checkpoint of size `from` is the one published now (0 if none).
    ///
    /// Writes every tile and bundle that is new or grew since `from`, the
    /// partial tiles of every checkpoint the log signed in between (clients
    /// holding those may ask for them), then the locators of every tenant
    /// and month with a new entry, then the checkpoint, then lets the sink
    /// drop partials made stale by full tiles.
    pub fn publish(&self, from: u64, size: u64, note: &[u8]) -> anyhow::Result<()> {
        if size < from {
            bail!("cannot publish size {size} over the published size {from}: the log does not shrink");
        }
        let mut wanted: BTreeSet<(TileId, u16)> =
            tiles::tiles_between(from, size).into_iter().collect();
        for between in self.store.checkpoint_sizes(from, size)? {
            for (tile, width) in tiles::partial_tiles(between) {
                // A tile full at `size` needs no partials any more.
                if tiles::tile_width(tile, size) < TILE_WIDTH {
                    wanted.insert((tile, width));
                }
            }
        }
        let mut files = Vec::new();
        for &(tile, width) in &wanted {
            let class = if width == TILE_WIDTH {
                Class::Full
            } else {
                Class::Partial
            };
            let first = tile.index * u64::from(TILE_WIDTH);
            let count = u64::from(width);
            let hashes = self.store.node_range(tile.level * 8, first, count)?;
            files.push((tiles::tile_path(tile, width), hashes, class));
            if tile.level == 0 {
                let leaves = self.store.leaf_range(first, count)?;
                let bundle = tiles::encode_bundle(&leaves)?;
                files.push((tiles::entries_path(tile.index, width), bundle, class));
            }
            if files.len() >= WRITE_GROUP {
                self.sink.write_all(&std::mem::take(&mut files))?;
            }
        }
        self.sink.write_all(&files)?;
        self.sink.sync()?;
        // Then where the new entries' tenants find them.
        self.write_locators(locator::DIR, from, size, note)?;
        self.sink.sync()?;
        // Only now, with everything it needs durable, the checkpoint; never
        // over a larger one (another publisher of this log, still running
        // somewhere, got further: two publishers must not take turns).
        if let Some(current) = self.sink.read("checkpoint")? {
            let current = parse_checkpoint(&current)
                .with_context(|| format!("{}/checkpoint is not a checkpoint", self.target()))?;
            if current.size > size {
                return Err(sink::Refused(format!(
                    "{} holds a checkpoint of size {} while this log publishes size {size}: another publisher writes to it; stop one of them",
                    self.target(),
                    current.size
                ))
                .into());
            }
        }
        self.sink
            .write_all(&[("checkpoint".to_string(), note.to_vec(), Class::Checkpoint)])?;
        self.sink.sync()?;
        // The published checkpoint no longer needs the partials of tiles
        // that became full.
        for (tile, width) in tiles::tiles_between(from, size) {
            if width == TILE_WIDTH {
                self.sink.superseded(tile)?;
            }
        }
        Ok(())
    }

    /// Publishes `checkpoint` (the newest one meeting the witness policy,
    /// with its cosignatures) over whatever is published, if it is newer,
    /// then removes stale partials left by an interrupted run. Returns the
    /// published size.
    pub fn catch_up(&self, checkpoint: &SignedCheckpoint) -> anyhow::Result<u64> {
        let published = self.sink.read("checkpoint")?;
        let from = match &published {
            Some(bytes) => {
                parse_checkpoint(bytes)
                    .with_context(|| format!("{}/checkpoint is not a checkpoint", self.target()))?
                    .size
            }
            None => 0,
        };
        if !self.sink.has_locators()? {
            self.first_locators(from, published.as_deref())?;
        }
        let size = checkpoint.size;
        if size > from || published.is_none() {
            self.publish(from, size, checkpoint.note.as_bytes())?;
        }
        let size = size.max(from);
        self.sink.sweep(size)?;
        Ok(size)
    }

    /// Writes the locators of everything published up to `from` (the
    /// published checkpoint's size, `note`) into a target that did not have
    /// them, through the sink's staging ([`Sink::begin_locators`]), so they
    /// appear only once complete.
    fn first_locators(&self, from: u64, note: Option<&[u8]>) -> anyhow::Result<()> {
        let prefix = self.sink.begin_locators()?;
        if let (true, Some(note)) = (from > 0, note) {
            self.write_locators(&prefix, 0, from, note)?;
        }
        self.sink.finish_locators()
    }

    /// Writes, under `root` (a mirror path), the locators the entries in
    /// `[from, size)` change: the month locator of each (tenant, month) with
    /// a new statement, whole (every day of it below `size`), and the
    /// key-change locator of each tenant with a new key change. `note` is
    /// the checkpoint of `size` being published (it meets the witness
    /// policy and covers every listed entry, so it stands in for an entry
    /// whose earliest witnessed checkpoint is not found in the store).
    fn write_locators(&self, root: &str, from: u64, size: u64, note: &[u8]) -> anyhow::Result<()> {
        let mut months: BTreeSet<(String, String)> = BTreeSet::new();
        let mut key_tenants: BTreeSet<String> = BTreeSet::new();
        let mut next = from;
        while next < size {
            let count = (size - next).min(u64::from(TILE_WIDTH));
            for entry in self.store.leaf_range(next, count)? {
                if let Some(tenant) = key_change_tenant(&entry) {
                    key_tenants.insert(tenant);
                } else if let Some((tenant, date)) = statement_key(&entry) {
                    months.insert((tenant, locator::month_of(date)));
                }
            }
            next += count;
        }
        let mut files = Vec::new();
        for tenant in key_tenants {
            if !crate::statement::is_valid_tenant_id(&tenant) {
                continue;
            }
            let key_changes = match self.store.tenant(&tenant)? {
                Some(record) => record
                    .change_indexes()
                    .into_iter()
                    .filter(|&i| i < size)
                    .collect(),
                None => Vec::new(),
            };
            let keys = KeyLocator {
                locator: locator::KEYS_FORMAT.into(),
                tenant: tenant.clone(),
                tree_size: size,
                key_changes,
            };
            files.push((
                format!("{root}/{}", locator::keys_file(&tenant)),
                keys.to_json(),
                Class::Locator,
            ));
            if files.len() >= WRITE_GROUP {
                self.sink.write_all(&std::mem::take(&mut files))?;
            }
        }
        self.sink.write_all(&files)?;
        let fallback = String::from_utf8_lossy(note).into_owned();
        let mut group = Vec::new();
        let mut days = 0;
        for (tenant, month) in months {
            if !locator::valid_name(&tenant, &month) {
                continue;
            }
            let records: Vec<(u8, u64)> = self
                .store
                .month_index(&tenant, &month)?
                .into_iter()
                .filter(|&(_, index)| index < size)
                .collect();
            days += records.len();
            group.push((tenant, month, records));
            if days >= LOCATOR_GROUP_DAYS {
                self.write_months(root, &group, size, &fallback)?;
                group.clear();
                days = 0;
            }
        }
        self.write_months(root, &group, size, &fallback)
    }

    /// Writes the month locators of `group` ((tenant, month, day records)),
    /// each day with the earliest checkpoint covering it that meets the
    /// policy (looked up for all of them in one ascending pass).
    fn write_months(
        &self,
        root: &str,
        group: &[MonthRecords],
        size: u64,
        fallback: &str,
    ) -> anyhow::Result<()> {
        let mut indexes: Vec<u64> = group
            .iter()
            .flat_map(|(_, _, records)| records.iter().map(|&(_, index)| index))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        let earliest = earliest_witnessed_each(&self.store, &self.policy, &indexes, size)?;
        let checkpoint_of = |index: u64| -> String {
            indexes
                .binary_search(&index)
                .ok()
                .and_then(|at| earliest.get(at).cloned().flatten())
                .map_or_else(|| fallback.to_string(), |c| c.note.clone())
        };
        let mut files = Vec::new();
        for (tenant, month, records) in group {
            if records.is_empty() {
                continue;
            }
            let days = records
                .iter()
                .map(|&(day, index)| LocatedDay {
                    date: format!("{month}-{day:02}"),
                    index,
                    checkpoint: checkpoint_of(index),
                })
                .collect();
            let file = MonthLocator {
                locator: locator::MONTH_FORMAT.into(),
                tenant: tenant.clone(),
                month: month.clone(),
                tree_size: size,
                days,
            };
            files.push((
                format!("{root}/{}", locator::month_file(tenant, month)),
                file.to_json(),
                Class::Locator,
            ));
            if files.len() >= WRITE_GROUP {
                self.sink.write_all(&std::mem::take(&mut files))?;
            }
        }
        self.sink.write_all(&files)
    }
}

/// `rootlog publish`: brings the mirror at `to` up to the log in `data`
/// once, with the newest checkpoint that meets `policy` (and its stored
/// cosignatures; without witnesses, the newest checkpoint). sled locks the
/// database, so this needs the server stopped (a running server publishes
/// with `--publish-dir` or `--publish-url`). Returns the published size.
pub fn publish_once(data: &Path, to: &Target, policy: &WitnessPolicy) -> anyhow::Result<u64> {
    if let Target::Dir(dir) = to {
        crate::identity::check_publish_dir(data, dir)?;
    }
    let db = data.join("db");
    if !db.exists() {
        bail!(
            "{} has no log database (is --data the log's data directory?)",
            data.display()
        );
    }
    let log_key = crate::identity::read_signer(data)?.verifier();
    let store = Store::open(&db).with_context(|| {
        format!(
            "cannot open the database in {} (a running `rootlog serve` locks it: stop the server first, or run it with --publish-dir or --publish-url)",
            db.display()
        )
    })?;
    let checkpoint = if policy.witnesses.is_empty() {
        let Some((size, note)) = store.latest_checkpoint()? else {
            bail!("the log has no checkpoint yet; start the server once first");
        };
        let note = String::from_utf8(note).context("the stored checkpoint is not UTF-8")?;
        SignedCheckpoint {
            size,
            root: store.frontier_at(size)?.root(),
            note,
        }
    } else {
        crate::witnessing::load_witnessed(&store, policy)?.with_context(|| {
            format!(
                "no stored checkpoint has cosignatures from {} of the configured witnesses yet; \
                 a mirror publishes only checkpoints meeting the witness policy (give the same --witness \
                 and --witness-quorum as the server, or --config)",
                policy.quorum
            )
        })?
    };
    // The object store's client is async: a runtime of its own for this one run.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let sink = to.open(runtime.handle().clone())?;
    Mirror::open(store, sink, &log_key, policy.clone())?.catch_up(&checkpoint)
}

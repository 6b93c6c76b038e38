//! The static mirror: the log written out as files in exactly the tlog-tiles
//! URL layout (`checkpoint`, `tile/0/000`, `tile/0/001.p/17`,
//! `tile/entries/000`, ...), so any static web server, CDN or object store
//! can serve the log's reads.
//!
//! *Publish* here means writing the static mirror's files; a checkpoint is
//! made public when [`crate::witnessing`] has collected its cosignatures,
//! and a tenant's statements are submitted, not published.
//!
//! Invariants a reader of the directory can rely on:
//!
//! - The `checkpoint` file is written last, after every tile and entry
//!   bundle it needs is durable, so a reader never sees a checkpoint whose
//!   tiles are missing, even across a crash.
//! - Every file appears atomically: it is written under a temporary name in
//!   its own directory, fsynced, renamed, and the directory fsynced.
//! - A file, once there, never changes content: full tiles are immutable and
//!   a partial tile `.p/W` always holds the first W hashes. Partial tiles of
//!   every checkpointed size stay until the full tile is published and a
//!   checkpoint needing only the full tile is in place; then they are removed.
//!
//! - Beside the tiles, `locator/<tenant>/<YYYY-MM>` and `locator/<tenant>/keys`
//!   ([`crate::locator`]) say where each tenant's statements and key
//!   changes are. A step writes them after its tiles and bundles are
//!   durable and before its checkpoint, each whole and atomically, listing
//!   only entries below the size of the checkpoint it publishes. Unlike
//!   tiles they change as days are added.
//!
//! - The auditor's page (`index.html` and its files, [`crate::page`]) is
//!   written at the top when the mirror is opened, so a mirror serves the
//!   same page the log serves at `/`.
//!
//! Publishing is idempotent: after a crash (or on start) the mirror catches
//! up from the checkpoint already in the directory, rewriting at most what
//! the interrupted step had written. A mirror published before locators
//! existed gets them all once, built aside and renamed into place.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::watch;

use crate::audit::statement_key;
use crate::locator::{self, KeyLocator, LocatedDay, MonthLocator};
use crate::note::{Checkpoint, Note, Verifier};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::Store;
use crate::tenant_key::key_change_tenant;
use crate::tiles::{self, TileId, TILE_WIDTH};
use crate::witnessing::{earliest_witnessed_each, WitnessPolicy};

/// Writes one log's tiles, bundles, locators and checkpoint into a directory.
#[derive(Clone)]
pub struct Mirror {
    store: Store,
    dir: PathBuf,
    /// The log's witness policy: the checkpoints the locators carry meet it,
    /// as the published checkpoint does.
    policy: WitnessPolicy,
}

/// One tenant's month (tenant, `YYYY-MM`) and its (day, index) records.
type MonthRecords = (String, String, Vec<(u8, u64)>);

/// The temporary name a first set of locators is built under.
const LOCATOR_TMP: &str = ".locator.tmp";
/// Days whose checkpoints one pass looks up together (bounds the memory of
/// publishing a large log at once).
const LOCATOR_GROUP_DAYS: usize = 1 << 18;

/// The origin, size and root of a signed checkpoint note.
fn parse_checkpoint(bytes: &[u8]) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    Checkpoint::parse(&note.text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// What a mirror directory holds, against the log's tree.
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
/// exist) and compares it with the log in `store`: it must be signed by
/// `log_key` (a checkpoint of another log is an error), and is then within,
/// ahead of, or forked from the tree.
pub fn inspect(store: &Store, dir: &Path, log_key: &Verifier) -> anyhow::Result<Published> {
    let path = dir.join("checkpoint");
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Published::Nothing),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let published = parse_checkpoint(&bytes)
        .with_context(|| format!("{} is not a checkpoint", path.display()))?;
    let origin = store.origin()?.unwrap_or_default();
    if crate::note::open_checkpoint(&bytes, log_key, Some(&origin)).is_err() {
        bail!(
            "{} holds a checkpoint of the log {:?} that this log's key did not sign; it is another log's mirror: use another directory",
            dir.display(),
            published.origin
        );
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
    /// Opens (creating) the mirror directory for the log in `store`, and
    /// checks that what is already published belongs to this log's tree:
    /// signed by `log_key`, of a size the tree reached, and the root it had
    /// there. `policy` is the log's witness policy (for the locators).
    pub fn open(
        store: Store,
        dir: &Path,
        log_key: &Verifier,
        policy: WitnessPolicy,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the publish directory {}", dir.display()))?;
        // Absolute, so every file's ancestors up to it are real directories to fsync.
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        match inspect(&store, &dir, log_key)? {
            Published::Nothing | Published::Within(_) => {}
            Published::Ahead(size) => bail!(
                "{} holds this log's checkpoint of size {size}, larger than the log's tree ({}): the data directory is older than what was published; restore the missing entries with `rootlog restore --from-mirror {}`",
                dir.display(),
                store.size()?,
                dir.display()
            ),
            Published::Forked(size) => bail!(
                "{} holds a checkpoint of size {size} with a root this log's tree does not have: the log signed two trees; keep both as evidence and do not publish over it",
                dir.display()
            ),
        }
        let mirror = Mirror { store, dir, policy };
        mirror.write_page()?;
        Ok(mirror)
    }

    /// Writes the auditor's page ([`crate::page`]) beside the tiles, so the
    /// mirror serves it as the log does at `/`: each file that is missing
    /// or differs (another version of rootlog wrote it), atomically. The
    /// page is not part of the log: it may change between versions, and a
    /// binary built without it writes nothing.
    fn write_page(&self) -> anyhow::Result<()> {
        if !crate::page::built() {
            return Ok(());
        }
        let mut dirs = BTreeSet::new();
        for asset in crate::page::ASSETS {
            if fs::read(self.dir.join(asset.name)).ok().as_deref() != Some(asset.body) {
                self.write(asset.name, asset.body, &mut dirs)?;
            }
        }
        sync_dirs(&dirs)
    }

    /// The checkpoint currently published, if any.
    pub fn published(&self) -> anyhow::Result<Option<Checkpoint>> {
        let path = self.dir.join("checkpoint");
        match fs::read(&path) {
            Ok(bytes) => parse_checkpoint(&bytes)
                .map(Some)
                .with_context(|| format!("{} is not a checkpoint", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Publishes the checkpoint `note` of tree size `size`, given that the
    /// checkpoint of size `from` is the one published now (0 if none).
    ///
    /// Writes every tile and bundle that is new or grew since `from`, the
    /// partial tiles of every checkpoint the log signed in between (clients
    /// holding those may ask for them), then the locators of every tenant
    /// and month with a new entry, then the checkpoint, then removes
    /// partials made stale by full tiles.
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
        let mut dirs = BTreeSet::new();
        for &(tile, width) in &wanted {
            let first = tile.index * u64::from(TILE_WIDTH);
            let count = u64::from(width);
            let hashes = self.store.node_range(tile.level * 8, first, count)?;
            self.write(&tiles::tile_path(tile, width), &hashes, &mut dirs)?;
            if tile.level == 0 {
                let leaves = self.store.leaf_range(first, count)?;
                let bundle = tiles::encode_bundle(&leaves)?;
                self.write(&tiles::entries_path(tile.index, width), &bundle, &mut dirs)?;
            }
        }
        sync_dirs(&dirs)?;
        // Then where the new entries' tenants find them.
        let mut dirs = BTreeSet::new();
        let locators = self.dir.join(locator::DIR);
        self.write_locators(&locators, from, size, note, &mut dirs)?;
        sync_dirs(&dirs)?;
        // Only now, with everything it needs durable, the checkpoint.
        let mut dirs = BTreeSet::new();
        self.write("checkpoint", note, &mut dirs)?;
        sync_dirs(&dirs)?;
        // The published checkpoint no longer needs the partials of tiles
        // that became full.
        for (tile, width) in tiles::tiles_between(from, size) {
            if width == TILE_WIDTH {
                self.remove_partials(tile)?;
            }
        }
        Ok(())
    }

    /// Publishes `checkpoint` (the newest one meeting the witness policy,
    /// with its cosignatures) over whatever is published, if it is newer,
    /// then removes stale partials left by an interrupted run. Returns the
    /// published size.
    pub fn catch_up(&self, checkpoint: &SignedCheckpoint) -> anyhow::Result<u64> {
        let from = self.published()?.map_or(0, |c| c.size);
        if !self.dir.join(locator::DIR).exists() {
            self.first_locators(from)?;
        }
        let size = checkpoint.size;
        if size > from || !self.dir.join("checkpoint").exists() {
            self.publish(from, size, checkpoint.note.as_bytes())?;
        }
        let size = size.max(from);
        self.sweep(size)?;
        Ok(size)
    }

    /// Writes the locators of everything published up to `from` (the
    /// published checkpoint's size) into a directory that did not have
    /// them: built under a temporary name, made durable, then renamed into
    /// place, so `locator/` exists only once it is complete (a crash before
    /// the rename builds it again on the next start).
    fn first_locators(&self, from: u64) -> anyhow::Result<()> {
        let tmp = self.dir.join(LOCATOR_TMP);
        match fs::remove_dir_all(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", tmp.display())),
        }
        fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut dirs = BTreeSet::from([tmp.clone(), self.dir.clone()]);
        if from > 0 {
            let path = self.dir.join("checkpoint");
            let note =
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            self.write_locators(&tmp, 0, from, &note, &mut dirs)?;
        }
        sync_dirs(&dirs)?;
        let target = self.dir.join(locator::DIR);
        fs::rename(&tmp, &target)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
        sync_dirs(&BTreeSet::from([self.dir.clone()]))
    }

    /// Writes, under `root`, the locators the entries in `[from, size)`
    /// change: the month locator of each (tenant, month) with a new
    /// statement, whole (every day of it below `size`), and the key-change
    /// locator of each tenant with a new key change. `note` is the
    /// checkpoint of `size` being published (it meets the witness policy and
    /// covers every listed entry, so it stands in for an entry whose earliest
    /// witnessed checkpoint is not found in the store).
    fn write_locators(
        &self,
        root: &Path,
        from: u64,
        size: u64,
        note: &[u8],
        dirs: &mut BTreeSet<PathBuf>,
    ) -> anyhow::Result<()> {
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
            self.write_in(root, &locator::keys_file(&tenant), &keys.to_json(), dirs)?;
        }
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
                self.write_months(root, &group, size, &fallback, dirs)?;
                group.clear();
                days = 0;
            }
        }
        self.write_months(root, &group, size, &fallback, dirs)
    }

    /// Writes the month locators of `group` ((tenant, month, day records)),
    /// each day with the earliest checkpoint covering it that meets the
    /// policy (looked up for all of them in one ascending pass).
    fn write_months(
        &self,
        root: &Path,
        group: &[MonthRecords],
        size: u64,
        fallback: &str,
        dirs: &mut BTreeSet<PathBuf>,
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
            self.write_in(
                root,
                &locator::month_file(tenant, month),
                &file.to_json(),
                dirs,
            )?;
        }
        Ok(())
    }

    /// Removes the partials of every tile full at `size`: what a crash
    /// between publishing a checkpoint and its clean-up leaves behind.
    fn sweep(&self, size: u64) -> anyhow::Result<()> {
        let kinds = (0u8..8).map(|level| (level, level.to_string()));
        // Entry bundles are level-0 tiles: the same widths, their own directory.
        for (level, kind) in kinds.chain([(0, "entries".to_string())]) {
            let full = tiles::entries_at(level, size) / u64::from(TILE_WIDTH);
            for index in partial_dirs(&self.dir.join("tile"), &kind)? {
                if index < full {
                    self.remove_partials(TileId { level, index })?;
                }
            }
        }
        Ok(())
    }

    /// Removes `tile/<L>/<N>.p/` (and `tile/entries/<N>.p/` at level 0).
    fn remove_partials(&self, tile: TileId) -> anyhow::Result<()> {
        let mut paths = vec![format!("{}.p", tiles::tile_path(tile, TILE_WIDTH))];
        if tile.level == 0 {
            paths.push(format!("{}.p", tiles::entries_path(tile.index, TILE_WIDTH)));
        }
        for rel in paths {
            let path = self.dir.join(&rel);
            match fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
        }
        Ok(())
    }

    /// Writes `rel` atomically (temporary name, fsync, rename); records the
    /// directories whose entries changed so the caller fsyncs them.
    fn write(&self, rel: &str, bytes: &[u8], dirs: &mut BTreeSet<PathBuf>) -> anyhow::Result<()> {
        self.write_in(&self.dir, rel, bytes, dirs)
    }

    /// [`Mirror::write`] of `rel` below `root`, a directory inside the mirror.
    fn write_in(
        &self,
        root: &Path,
        rel: &str,
        bytes: &[u8],
        dirs: &mut BTreeSet<PathBuf>,
    ) -> anyhow::Result<()> {
        let path = root.join(rel);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            bail!("bad mirror path {rel}");
        };
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        // New directories are entries of their parents: fsync them all up to the root.
        let mut dir = parent;
        while dir.starts_with(&self.dir) {
            dirs.insert(dir.to_path_buf());
            match dir.parent() {
                Some(up) if dir != self.dir => dir = up,
                _ => break,
            }
        }
        let tmp = parent.join(format!(".{}.tmp", name.to_string_lossy()));
        let written = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        written.with_context(|| format!("cannot write {}", path.display()))
    }
}

/// fsyncs directories so the renames into them are durable.
fn sync_dirs(dirs: &BTreeSet<PathBuf>) -> anyhow::Result<()> {
    for dir in dirs {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot fsync the directory {}", dir.display()))?;
    }
    Ok(())
}

/// The indexes of the tiles that have a `.p` directory under
/// `<tile_dir>/<kind>` (`kind` is a level or `entries`), found by walking the
/// index directories (`x001/...`); only canonical tile paths count.
fn partial_dirs(tile_dir: &Path, kind: &str) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::new();
    let mut stack = vec![(tile_dir.join(kind), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let rel = format!("{prefix}{name}");
            if let Some(index) = name.strip_suffix(".p") {
                let candidate = format!("{kind}/{prefix}{index}");
                if let Ok(p) = tiles::parse_tile_path(&candidate) {
                    out.push(p.index);
                }
            } else if name.starts_with('x') {
                stack.push((entry.path(), format!("{rel}/")));
            }
        }
    }
    Ok(out)
}

/// Starts the mirror for a running server: checks the directory now, then
/// (in a task) catches up and publishes every new checkpoint from `latest`
/// (the newest checkpoint meeting `policy`, with its cosignatures).
pub fn spawn(
    store: Store,
    dir: PathBuf,
    log_key: &Verifier,
    policy: WitnessPolicy,
    latest: watch::Receiver<Arc<SignedCheckpoint>>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mirror = Mirror::open(store, &dir, log_key, policy)?;
    tracing::info!(dir = %dir.display(), "publishing a static tlog-tiles mirror");
    Ok(tokio::spawn(run(mirror, latest)))
}

/// Runs a blocking mirror step on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("mirror task panicked")?
}

async fn run(mirror: Mirror, mut latest: watch::Receiver<Arc<SignedCheckpoint>>) {
    // Until the first catch-up succeeds, nothing is known to be published.
    let mut published: Option<u64> = None;
    loop {
        let step = match published {
            None => {
                let (m, next) = (mirror.clone(), latest.borrow_and_update().clone());
                blocking(move || m.catch_up(&next)).await
            }
            Some(from) => {
                let next = latest.borrow_and_update().clone();
                if next.size <= from {
                    Ok(from)
                } else {
                    let (m, size) = (mirror.clone(), next.size);
                    blocking(move || m.publish(from, size, next.note.as_bytes()))
                        .await
                        .map(|()| size)
                }
            }
        };
        match step {
            Ok(size) => {
                published = Some(size);
                // Returns at once if a newer checkpoint came during the step.
                // An error means the sequencer is gone: the log is stopping.
                if latest.changed().await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Retry the same step: every step is idempotent.
                tracing::error!(error = %format!("{e:#}"), "publishing the static mirror failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// `rootlog publish`: brings the mirror in `dir` up to the log in `data`
/// once, with the newest checkpoint that meets `policy` (and its stored
/// cosignatures; without witnesses, the newest checkpoint). sled locks the
/// database, so this needs the server stopped (a running server publishes
/// with `--publish-dir`). Returns the published size.
pub fn publish_once(data: &Path, dir: &Path, policy: &WitnessPolicy) -> anyhow::Result<u64> {
    crate::identity::check_publish_dir(data, dir)?;
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
            "cannot open the database in {} (a running `rootlog serve` locks it: stop the server first, or run it with --publish-dir)",
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
    Mirror::open(store, dir, &log_key, policy.clone())?.catch_up(&checkpoint)
}

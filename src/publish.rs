//! The static mirror: the log written out as files in exactly the tlog-tiles
//! URL layout (`checkpoint`, `tile/0/000`, `tile/0/001.p/17`,
//! `tile/entries/000`, ...), so any static web server, CDN or object store
//! can serve the log's reads.
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
//! Publishing is idempotent: after a crash (or on start) the mirror catches
//! up from the checkpoint already in the directory, rewriting at most what
//! the interrupted step had written.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::watch;

use crate::note::{Checkpoint, Note};
use crate::sequencer::SignedCheckpoint;
use crate::storage::Store;
use crate::tiles::{self, TileId, TILE_WIDTH};

/// Writes one log's tiles, bundles and checkpoint into a directory.
#[derive(Clone)]
pub struct Mirror {
    store: Store,
    dir: PathBuf,
}

/// The origin, size and root of a signed checkpoint note.
fn parse_checkpoint(bytes: &[u8]) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    Checkpoint::parse(&note.text).map_err(|e| anyhow::anyhow!("{e}"))
}

impl Mirror {
    /// Opens (creating) the mirror directory for the log in `store`, and
    /// checks that what is already published belongs to this log's tree:
    /// same origin, a size the log reached, and the root it had there.
    pub fn open(store: Store, dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the publish directory {}", dir.display()))?;
        // Absolute, so every file's ancestors up to it are real directories to fsync.
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let mirror = Mirror { store, dir };
        if let Some(published) = mirror.published()? {
            let origin = mirror.store.origin()?.unwrap_or_default();
            if published.origin != origin {
                bail!(
                    "{} holds a checkpoint of the log {:?}, not of this log {origin:?}; use another directory",
                    mirror.dir.display(),
                    published.origin
                );
            }
            let ours = mirror
                .store
                .checkpoint(published.size)?
                .map(|note| parse_checkpoint(&note))
                .transpose()?;
            if ours.map(|c| c.root) != Some(published.root) {
                bail!(
                    "{} holds a checkpoint of size {} that this log never signed (another copy of the log, or a data directory restored from an older backup?); use another directory",
                    mirror.dir.display(),
                    published.size
                );
            }
        }
        Ok(mirror)
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
    /// holding those may ask for them), then the checkpoint, then removes
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

    /// Publishes the log's newest stored checkpoint over whatever is
    /// published, then removes stale partials left by an interrupted run.
    /// Returns the published size.
    pub fn catch_up(&self) -> anyhow::Result<u64> {
        let from = self.published()?.map_or(0, |c| c.size);
        let Some((size, note)) = self.store.latest_checkpoint()? else {
            bail!("the log has no checkpoint yet; start the server once first");
        };
        if size > from || !self.dir.join("checkpoint").exists() {
            self.publish(from, size, &note)?;
        }
        let size = size.max(from);
        self.sweep(size)?;
        Ok(size)
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
        let path = self.dir.join(rel);
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
/// (in a task) catches up and publishes every new checkpoint from `latest`.
pub fn spawn(
    store: Store,
    dir: PathBuf,
    latest: watch::Receiver<Arc<SignedCheckpoint>>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mirror = Mirror::open(store, &dir)?;
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
                let m = mirror.clone();
                blocking(move || m.catch_up()).await
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
/// once. sled locks the database, so this needs the server stopped (a
/// running server publishes with `--publish-dir`). Returns the published size.
pub fn publish_once(data: &Path, dir: &Path) -> anyhow::Result<u64> {
    let db = data.join("db");
    if !db.exists() {
        bail!(
            "{} has no log database (is --data the log's data directory?)",
            data.display()
        );
    }
    let store = Store::open(&db).with_context(|| {
        format!(
            "cannot open the database in {} (a running `rootlog serve` locks it: stop the server first, or run it with --publish-dir)",
            db.display()
        )
    })?;
    Mirror::open(store, dir)?.catch_up()
}

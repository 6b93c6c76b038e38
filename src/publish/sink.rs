//! Where a mirror's files go: the small interface ([`Sink`]) the one
//! publishing flow of [`crate::publish`] writes through, and its directory
//! implementation ([`DirSink`]). The object-store implementation is
//! [`super::object::ObjectSink`].
//!
//! The flow decides *what* is written and in which order (tiles and
//! bundles, then locators, then the checkpoint); a sink decides *how* a
//! file becomes durable and visible. Invariants every sink keeps:
//!
//! - [`Sink::write`] returns only once the file is durable, or (for a
//!   directory) once a following [`Sink::sync`] makes it so; the flow calls
//!   `sync` before anything that depends on what it wrote.
//! - A file appears whole or not at all (temporary name and rename in a
//!   directory; a single PUT in an object store).
//! - An immutable file ([`Class::is_immutable`]) that already exists with
//!   other bytes is an error a sink may report as [`Conflict`]; the flow
//!   then stops rather than publish over it. Same bytes are a success.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};

use crate::tiles::{self, TileId, TILE_WIDTH};

/// What kind of file a mirror path holds: decides whether it may ever
/// change, and the cache headers an object store serves it with (the ones
/// the README recommends for a web server in front of a directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A full hash tile or entry bundle (256 entries): never changes.
    Full,
    /// A partial tile or bundle `.p/W`: always the first W entries, so it
    /// never changes either, but a full tile supersedes it.
    Partial,
    /// A tenant's locator: rewritten as days are added.
    Locator,
    /// The checkpoint: moves with the log.
    Checkpoint,
    /// A file of the auditor's page ([`crate::page`]), of this content
    /// type: rewritten when the log is upgraded.
    Page(&'static str),
}

impl Class {
    /// Whether a file of this class, once written, keeps its bytes forever.
    pub fn is_immutable(self) -> bool {
        matches!(self, Class::Full | Class::Partial)
    }

    /// The `Cache-Control` value to serve this file with.
    pub fn cache_control(self) -> &'static str {
        match self {
            Class::Full => "public, max-age=31536000, immutable",
            Class::Partial => "public, max-age=5",
            Class::Locator | Class::Checkpoint => "no-cache",
            Class::Page(_) => crate::page::CACHE,
        }
    }

    /// The `Content-Type` to serve this file with.
    pub fn content_type(self) -> &'static str {
        match self {
            Class::Full | Class::Partial => "application/octet-stream",
            Class::Locator => "application/json",
            Class::Checkpoint => "text/plain; charset=utf-8",
            Class::Page(content_type) => content_type,
        }
    }
}

/// An immutable mirror file exists with other bytes than the log's: the
/// target holds something this log did not write (or a different tree).
/// Never overwritten; the publisher stops and alarms.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {path} already exists with other bytes than this log's; not overwriting it (publishing stopped: find out who wrote it, keep it as evidence, and publish this log to another place)")]
pub struct Conflict {
    /// The sink, as [`Sink::describe`] names it.
    pub target: String,
    /// The mirror path (tlog-tiles layout) that differs.
    pub path: String,
}

/// Whether `e` is (or wraps) a [`Conflict`].
pub fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<Conflict>().is_some())
}

/// The target holds a checkpoint this log must not publish over (another
/// log's, a fork, or a larger one): retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Whether `e` is (or wraps) a [`Conflict`] or a [`Refused`]: publishing
/// stops instead of retrying.
pub fn is_fatal(e: &anyhow::Error) -> bool {
    is_conflict(e) || e.chain().any(|c| c.downcast_ref::<Refused>().is_some())
}

/// Where the publishing flow writes a mirror's files. Paths are relative,
/// in the tlog-tiles URL layout (`checkpoint`, `tile/0/x001/234`, ...).
/// Methods block; the server calls them on the blocking pool.
pub trait Sink: Send + Sync {
    /// The target as an operator names it (a directory, `s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// The bytes at `rel`, or None if there is no such file.
    fn read(&self, rel: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// Writes these files, each whole (see the module's invariants); in any
    /// order, so a sink may write them concurrently.
    fn write_all(&self, files: &[(String, Vec<u8>, Class)]) -> anyhow::Result<()>;

    /// Makes every file written so far durable.
    fn sync(&self) -> anyhow::Result<()>;

    /// The published checkpoint no longer needs the partials of `tile`
    /// (full now). A directory removes them; an object store keeps them.
    fn superseded(&self, tile: TileId) -> anyhow::Result<()>;

    /// Removes what an interrupted run left that a checkpoint of `size`
    /// no longer needs (stale partials, in a directory).
    fn sweep(&self, size: u64) -> anyhow::Result<()>;

    /// Whether the target has its locators (a directory published before
    /// locators existed has not, and gets them all once).
    fn has_locators(&self) -> anyhow::Result<bool>;

    /// Starts writing a whole first set of locators: returns the prefix
    /// (instead of `locator`) to write them under until
    /// [`Sink::finish_locators`] puts them in place at once.
    fn begin_locators(&self) -> anyhow::Result<String>;

    /// Puts the locators written under [`Sink::begin_locators`]'s prefix
    /// in place.
    fn finish_locators(&self) -> anyhow::Result<()>;
}

/// The temporary name a first set of locators is built under.
const LOCATOR_TMP: &str = ".locator.tmp";

/// A mirror in a local directory: every file written under a temporary dot
/// name, fsynced, renamed into place; the directories whose entries
/// changed are fsynced by [`Sink::sync`].
pub struct DirSink {
    dir: PathBuf,
    /// Directories with new entries since the last sync.
    dirty: Mutex<BTreeSet<PathBuf>>,
}

impl DirSink {
    /// Opens (creating) the mirror directory.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the publish directory {}", dir.display()))?;
        // Absolute, so every file's ancestors up to it are real directories to fsync.
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        Ok(DirSink {
            dir,
            dirty: Mutex::new(BTreeSet::new()),
        })
    }

    fn dirty(&self) -> std::sync::MutexGuard<'_, BTreeSet<PathBuf>> {
        // A panic while holding it leaves only a set of paths: still usable.
        self.dirty.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `rel` atomically (temporary name, fsync, rename) and records
    /// the directories whose entries changed.
    fn write_one(&self, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(rel);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            bail!("bad mirror path {rel}");
        };
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        // New directories are entries of their parents: fsync them all up to the root.
        {
            let mut dirty = self.dirty();
            let mut dir = parent;
            while dir.starts_with(&self.dir) {
                dirty.insert(dir.to_path_buf());
                match dir.parent() {
                    Some(up) if dir != self.dir => dir = up,
                    _ => break,
                }
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
}

impl Sink for DirSink {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn read(&self, rel: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.dir.join(rel);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn write_all(&self, files: &[(String, Vec<u8>, Class)]) -> anyhow::Result<()> {
        for (rel, bytes, _) in files {
            self.write_one(rel, bytes)?;
        }
        Ok(())
    }

    fn sync(&self) -> anyhow::Result<()> {
        let dirs = std::mem::take(&mut *self.dirty());
        sync_dirs(&dirs)
    }

    fn superseded(&self, tile: TileId) -> anyhow::Result<()> {
        self.remove_partials(tile)
    }

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

    fn has_locators(&self) -> anyhow::Result<bool> {
        Ok(self.dir.join(crate::locator::DIR).exists())
    }

    fn begin_locators(&self) -> anyhow::Result<String> {
        let tmp = self.dir.join(LOCATOR_TMP);
        match fs::remove_dir_all(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", tmp.display())),
        }
        fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        self.dirty().extend([tmp, self.dir.clone()]);
        Ok(LOCATOR_TMP.to_string())
    }

    /// Renamed into place only once durable, so `locator/` exists only once
    /// it is complete (a crash before the rename builds it again).
    fn finish_locators(&self) -> anyhow::Result<()> {
        self.sync()?;
        let (tmp, target) = (
            self.dir.join(LOCATOR_TMP),
            self.dir.join(crate::locator::DIR),
        );
        fs::rename(&tmp, &target)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
        sync_dirs(&BTreeSet::from([self.dir.clone()]))
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

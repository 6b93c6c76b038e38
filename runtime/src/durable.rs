//! Making writes durable: the few operations every commit point of the log
//! and the witness relies on before it answers anybody.
//!
//! A write is durable when a power cut cannot take it back. For a file that
//! means its data *and* the metadata needed to read it (its length) reached
//! stable storage: `fdatasync` (or `fsync`). For a file that was created,
//! renamed or removed it also means the directory entry did: an `fsync` of
//! the directory.
//!
//! sled 0.34's `Db::flush` is not enough on its own. On Linux it writes its
//! log with `pwrite` and then calls `sync_file_range`, which writes the data
//! pages but neither commits the file's new length nor flushes the device's
//! write cache; only its background thread calls `fsync`, every 500 ms. A
//! power cut in between loses what sled called flushed. [`SledSync::flush`]
//! is sled's flush followed by a real `fdatasync` of sled's log file, an
//! `fsync` of every blob file sled wrote since the last call, and an
//! `fsync` of the database directory whenever its listing changed (sled
//! creates snapshot files by rename). Callers run it once per group commit,
//! so the cost is shared by the whole batch.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// sled's log file inside its directory.
const SLED_LOG: &str = "db";
/// sled's directory of values too large for its log.
const SLED_BLOBS: &str = "blobs";
/// sled's record of its storage parameters, written when missing.
const SLED_CONF: &str = "conf";

/// fsyncs a directory, so that entries created, renamed or removed in it
/// survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// fsyncs the directory holding `path` (the current directory for a bare name).
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

/// Creates `dir` and any missing ancestors, and fsyncs the parent of each
/// one created, so the new directories survive a power cut.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        sync_parent(created)?;
    }
    Ok(())
}

/// Writes `bytes` to a new file `path` (failing if it exists), with `mode`
/// on Unix, then fsyncs the file and its directory: on return the file is
/// there, whole, after any crash.
pub fn create_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    // The contents, before the name that points at them is made durable.
    file.sync_all()?;
    sync_parent(path)
}

/// Replaces (or creates) `path` with `bytes` atomically and durably: the
/// bytes go to a temporary name in the same directory, are fsynced, renamed
/// over `path`, and the directory is fsynced. A reader, or a crash, sees the
/// old file or the new one, never a torn one.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        // The new contents are durable before the rename exposes them.
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // The rename itself is durable only once the directory is.
    sync_parent(path)
}

/// What sled's directory held at the last flush.
#[derive(Default)]
struct Seen {
    /// Names in the database directory.
    listing: BTreeSet<String>,
    /// Blob files already fsynced.
    blobs: BTreeSet<String>,
}

/// A sled database together with what it takes to make its writes durable.
///
/// Invariant: when [`SledSync::flush`] returns `Ok`, every write sled
/// applied before the call is on stable storage.
pub struct SledSync {
    db: sled::Db,
    dir: PathBuf,
    /// sled's log file, opened by us: `fdatasync` acts on the file, not on
    /// the descriptor, so ours syncs what sled's descriptor wrote.
    log: File,
    seen: Mutex<Seen>,
}

impl SledSync {
    /// Wraps the database sled opened in `dir`, and makes what opening it
    /// created (the directory, its files, a recovered log) durable now.
    pub fn open(db: sled::Db, dir: &Path) -> io::Result<Self> {
        let log = File::open(dir.join(SLED_LOG))?;
        let sync = SledSync {
            db,
            dir: dir.to_path_buf(),
            log,
            seen: Mutex::new(Seen::default()),
        };
        // sled writes `conf` without a sync when it finds none (or an empty
        // one, as a power cut soon after creating it leaves): without this,
        // every cut within the kernel's writeback delay of an open empties
        // it again.
        match File::open(dir.join(SLED_CONF)) {
            Ok(conf) => conf.sync_all()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        sync.flush()?;
        // The database directory is an entry of its parent (created by sled
        // if it was missing).
        sync_parent(dir)?;
        Ok(sync)
    }

    /// The database.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// The database's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sled's flush, then the syncs that make it a real one (module comment).
    pub fn flush(&self) -> io::Result<()> {
        self.db.flush().map_err(io::Error::other)?;
        // The log's data and its length: sled's sync_file_range did neither durably.
        self.log.sync_data()?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Blob files are written without any sync by sled; they are new
        // files, so both the file and its directory entry need one.
        let blob_dir = self.dir.join(SLED_BLOBS);
        let blobs = list(&blob_dir)?;
        let mut new_blob = false;
        for name in blobs.difference(&seen.blobs) {
            File::open(blob_dir.join(name))?.sync_all()?;
            new_blob = true;
        }
        if new_blob || blobs.len() != seen.blobs.len() {
            sync_dir(&blob_dir)?;
        }
        seen.blobs = blobs;
        // Snapshots appear by rename and old ones are removed: sync the
        // directory when its listing moved, so a crash cannot lose the
        // rename while keeping the removal.
        let listing = list(&self.dir)?;
        if listing != seen.listing {
            sync_dir(&self.dir)?;
            seen.listing = listing;
        }
        Ok(())
    }
}

/// The names in `dir` (none if it does not exist).
fn list(dir: &Path) -> io::Result<BTreeSet<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_replace_files() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        create_dir_all(&nested).unwrap();
        assert!(nested.is_dir());
        let file = nested.join("f");
        create_file(&file, b"one", 0o600).unwrap();
        assert!(create_file(&file, b"two", 0o600).is_err());
        replace_file(&file, b"three").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(list(&nested).unwrap().len(), 1);
    }

    #[test]
    fn sled_flush_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = sled::open(&path).unwrap();
        let sync = SledSync::open(db.clone(), &path).unwrap();
        db.insert(b"k", b"v").unwrap();
        // A value large enough to become a sled blob file.
        db.insert(b"big", vec![7u8; 200 * 1024]).unwrap();
        sync.flush().unwrap();
        assert!(!sync.seen.lock().unwrap().blobs.is_empty());
        sync.flush().unwrap();
    }
}

//! The witness's durable state in its data directory:
//! - `db/` — sled, one entry per origin: the checkpoint note last cosigned
//!   (log signatures plus the witness's cosignature), replaced only by
//!   compare-and-swap against the exact bytes that were checked, and made
//!   durable by group commit (`group_commit`) before anyone is told;
//! - `high-water` — per origin, the largest checkpoint durably cosigned,
//!   outside sled (`high_water`); at open, a database behind it (rolled
//!   back, or `db/` restored alone from an older copy) is refused;
//! - `evidence/<id>.json` — evidence of log misbehaviour, one file per
//!   distinct conflict, written atomically and fsynced. Plain files so that
//!   `rootlog-witness evidence` and anyone with a shell can read them while
//!   the server holds the database lock.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::Context;
use rootlog_runtime::durable::SledSync;
use rootlog_tlog::note::Note;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::group_commit::{FlushCounts, GroupCommit};
use crate::high_water::{self, HighWater, Mark, Marks, HIGH_WATER_FILE};
use crate::protocol::Stored;

/// Sub-directory of the data directory holding evidence files.
pub const EVIDENCE_DIR: &str = "evidence";
/// Sub-directory of the data directory holding the sled database.
pub const DB_DIR: &str = "db";

/// One record of log misbehaviour. Both notes carry the log's signature, so
/// anyone holding the log's vkey can check it (see README.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub origin: String,
    /// The checkpoint the witness had cosigned, as stored (log signature and cosignature).
    pub stored_checkpoint: String,
    /// The conflicting checkpoint, with the log signatures that verified.
    pub conflicting_checkpoint: String,
    /// The `old` size of the request.
    pub old: u64,
    /// The consistency proof of the request, base64 hashes (for
    /// `consistency_proof_failed`: the one the witness built from the log's
    /// tiles, which verifies from `prefix_root` to the conflicting root).
    pub proof: Vec<String>,
    /// `same_size_different_root`, or `consistency_proof_failed` (watch mode only).
    pub reason: String,
    /// For `consistency_proof_failed`: base64 root of the first `old` leaves
    /// of the conflicting checkpoint's tree, from the log's tiles; it is not
    /// the stored root. Absent otherwise (and in records written before it
    /// existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_root: Option<String>,
    /// RFC 3339 UTC time the witness saw the conflict.
    pub observed_at: String,
}

impl Evidence {
    /// Identifies the conflict (not the request): the same pair of signed
    /// checkpoint texts for the same reason is stored once, so replaying a
    /// signed checkpoint with ever-new proofs, or after the witness
    /// re-cosigned its own checkpoint, cannot fill the disk.
    pub fn id(&self) -> String {
        // The checkpoint text (signed part) of a note; the whole string if
        // it does not parse (a record written by hand).
        let body = |note: &str| -> String {
            Note::parse(note.as_bytes()).map_or_else(|_| note.to_string(), |n| n.text)
        };
        let mut h = Sha256::new();
        for part in [
            self.origin.clone(),
            body(&self.stored_checkpoint),
            body(&self.conflicting_checkpoint),
            self.reason.clone(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(&h.finalize()[..16])
    }
}

/// Why the store failed; always reported as a 500 and logged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored checkpoint for {origin:?} is corrupt: {why}")]
    Corrupt { origin: String, why: String },
}

/// The value read for an origin: its exact bytes (for the CAS) and their parse.
pub struct Current {
    pub raw: sled::IVec,
    pub stored: Stored,
}

/// A swap applied in memory; [`Store::durable`] waits until it is on disk.
#[derive(Debug, Clone, Copy)]
#[must_use = "a swap is not durable until Store::durable returns"]
pub struct Ticket(u64);

/// The opened state.
pub struct Store {
    db: sled::Db,
    group: GroupCommit,
    evidence_dir: PathBuf,
}

impl Store {
    /// Opens (creating) `<data>/db`, `<data>/high-water` and
    /// `<data>/evidence`. Fails if the database is behind the high-water
    /// mark: that database is older than what this witness cosigned, and
    /// serving from it could cosign a fork.
    pub fn open(data: &Path) -> anyhow::Result<Self> {
        let db_path = data.join(DB_DIR);
        let db = sled::open(&db_path).with_context(|| {
            format!(
                "cannot open the database {} (is another rootlog-witness using this data directory?)",
                db_path.display()
            )
        })?;
        let high_water = open_high_water(&data.join(HIGH_WATER_FILE), &stored_marks(&db)?)?;
        let evidence_dir = data.join(EVIDENCE_DIR);
        rootlog_runtime::durable::create_dir_all(&evidence_dir)
            .with_context(|| format!("cannot create {}", evidence_dir.display()))?;
        let sync = SledSync::open(db.clone(), &db_path)
            .with_context(|| format!("cannot sync the database {}", db_path.display()))?;
        let group = GroupCommit::start(Arc::new(sync), high_water)
            .context("cannot start the flusher thread")?;
        Ok(Store {
            db,
            group,
            evidence_dir,
        })
    }

    /// The checkpoint last cosigned for `origin`, if any.
    pub fn get(&self, origin: &str) -> Result<Option<Current>, StoreError> {
        let Some(raw) = self.db.get(origin.as_bytes())? else {
            return Ok(None);
        };
        let stored = Stored::parse(&raw).map_err(|why| StoreError::Corrupt {
            origin: origin.to_string(),
            why,
        })?;
        Ok(Some(Current { raw, stored }))
    }

    /// Replaces the value for `origin` with `new`, the stored note of a
    /// checkpoint whose size and root are `mark`, only if it still is
    /// `expected` (`None`: absent). Returns `None`, and changes nothing, when
    /// another writer got there first; otherwise the ticket to wait on
    /// before telling anyone the new value is stored (by then `origin`'s
    /// high-water mark is at least `mark`).
    pub fn compare_and_swap(
        &self,
        origin: &str,
        expected: Option<&sled::IVec>,
        new: &[u8],
        mark: Mark,
    ) -> Result<Option<Ticket>, StoreError> {
        let swapped = self
            .db
            .compare_and_swap(origin.as_bytes(), expected, Some(new))?
            .is_ok();
        // The ticket is taken after the swap is applied, so the flush it
        // waits for covers it (see group_commit).
        Ok(swapped.then(|| Ticket(self.group.ticket(origin, mark))))
    }

    /// Waits until the swap of `ticket`, and every write before it, is
    /// durable.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.group.wait(ticket.0).await
    }

    /// Waits until `current` (a state just read for `origin`) is durable:
    /// at once when the durable high-water mark covers its size, else after
    /// a group commit that covers the read. So what is served was never
    /// one a power cut could take back.
    pub async fn durable_state(&self, origin: &str, current: &Current) -> Result<(), StoreError> {
        let size = current.stored.checkpoint.size;
        if self.group.durable_size(origin) >= size {
            return Ok(());
        }
        let mark = crate::high_water::Mark {
            size,
            root: current.stored.checkpoint.root,
        };
        self.group.wait(self.group.ticket(origin, mark)).await
    }

    /// The database flushes made so far.
    pub fn flushes(&self) -> FlushCounts {
        self.group.flushes()
    }

    /// Stores `evidence` durably unless the same conflict is already stored.
    /// Returns true if it was new.
    pub fn record_evidence(&self, evidence: &Evidence) -> Result<bool, StoreError> {
        let path = self.evidence_dir.join(format!("{}.json", evidence.id()));
        if path.exists() {
            return Ok(false);
        }
        let json = serde_json::to_vec_pretty(evidence)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        // Write, fsync, rename, fsync the directory: a crash leaves either no
        // file or the whole file, never a torn one.
        let tmp = self
            .evidence_dir
            .join(format!(".{}.tmp-{}", evidence.id(), std::process::id()));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        fs::File::open(&self.evidence_dir)?.sync_all()?;
        Ok(true)
    }

    /// The number of evidence records stored.
    pub fn evidence_count(&self) -> Result<usize, StoreError> {
        Ok(list_evidence(&self.evidence_dir)?.len())
    }

    /// Every evidence record, oldest first.
    pub fn evidence(&self) -> Result<Vec<Evidence>, StoreError> {
        list_evidence(&self.evidence_dir)
    }
}

/// The size and root of every checkpoint the database stores, by origin.
fn stored_marks(db: &sled::Db) -> anyhow::Result<Marks> {
    let mut marks = Marks::new();
    for row in db.iter() {
        let (key, value) = row.context("cannot read the database")?;
        let origin = String::from_utf8_lossy(&key).into_owned();
        let stored = Stored::parse(&value)
            .map_err(|why| StoreError::Corrupt {
                origin: origin.clone(),
                why,
            })
            .context("cannot read the database")?;
        let mark = Mark {
            size: stored.checkpoint.size,
            root: stored.checkpoint.root,
        };
        marks.insert(origin, mark);
    }
    Ok(marks)
}

/// Opens the high-water mark and checks the database against it: refuses a
/// database behind it; raises it to the database where the database is
/// ahead (a crash between the database sync and the mark write). Without a
/// mark file, creates one from the database (a data directory from before
/// the mark existed, or a new one).
fn open_high_water(path: &Path, stored: &Marks) -> anyhow::Result<HighWater> {
    let opened = HighWater::open(path)
        .with_context(|| format!("cannot read the high-water mark {}", path.display()))?;
    let Some(mut marks) = opened else {
        if !stored.is_empty() {
            tracing::warn!(
                path = %path.display(),
                origins = stored.len(),
                "no high-water mark: creating it from the database (expected once, on the first start of a witness that predates it; otherwise the file was removed, and a database restored from an older copy can no longer be detected)"
            );
        }
        return HighWater::create(path, stored.clone())
            .with_context(|| format!("cannot create the high-water mark {}", path.display()));
    };
    high_water::check_database(marks.marks(), stored).map_err(|why| {
        anyhow::anyhow!(
            "refusing to start: the database is behind the high-water mark {}: {why}",
            path.display()
        )
    })?;
    for (origin, mark) in stored {
        marks.note(origin, *mark);
    }
    marks
        .commit()
        .with_context(|| format!("cannot write the high-water mark {}", path.display()))?;
    Ok(marks)
}

/// Reads the evidence files of a data directory without opening the
/// database (so it works while the server runs), oldest first.
pub fn read_evidence(data: &Path) -> anyhow::Result<Vec<Evidence>> {
    let dir = data.join(EVIDENCE_DIR);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    list_evidence(&dir).with_context(|| format!("cannot read evidence in {}", dir.display()))
}

fn list_evidence(dir: &Path) -> Result<Vec<Evidence>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let is_record = path.extension().is_some_and(|e| e == "json")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !is_record {
            continue;
        }
        let bytes = fs::read(&path)?;
        match serde_json::from_slice::<Evidence>(&bytes) {
            Ok(e) => out.push(e),
            // A file someone else put there is reported, not fatal.
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable evidence file")
            }
        }
    }
    // RFC 3339 UTC strings of one format sort by time.
    out.sort_by(|a, b| {
        a.observed_at
            .cmp(&b.observed_at)
            .then_with(|| a.id().cmp(&b.id()))
    });
    Ok(out)
}

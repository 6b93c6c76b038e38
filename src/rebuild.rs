//! Rebuilding a log's store from its leaves, re-verifying everything: the
//! one path by which a restore writes a data directory, whether the leaves
//! come from a backup stream (`crate::backup`) or from a published
//! tlog-tiles mirror ([`import_mirror`]).
//!
//! Everything but the leaves, the checkpoints and the cosignatures is derived:
//! the hash nodes, the (tenant, date) index and the tenant records are
//! recomputed from the leaves. So a rebuild checks what it is given:
//!
//! - every key-change entry carries the log key's signature and applies to
//!   the tenant record as it stands; every other entry is a well-formed
//!   statement;
//! - every checkpoint carries the log key's signature, names the log's
//!   origin, and signs exactly the root the leaves before it hash to.
//!
//! Nothing is signed here: a rebuilt log holds only checkpoints the log
//! signed before. Leaves are written in chunks with no checkpoint row (the
//! directory is a restore's temporary one, served by nobody); each verified
//! checkpoint is stored with the chunk that reaches its size.

use std::collections::HashMap;

use crate::merkle::{leaf_hash, Frontier, Hash, NodeId};
use crate::note::{open, Checkpoint, Note, OpenCheckpointError, Verifier};
use crate::statement::parse_submission;
use crate::storage::{LeafRows, NewLeaf, Store, StoreError};
use crate::tenant_key::{is_key_change_entry, KeyChange, TenantRecord, Transition};
use crate::tiles::{TileClient, TILE_WIDTH};

/// Leaves written per chunk when no checkpoint comes first.
const CHUNK: usize = 4096;

/// Why a rebuild stopped.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was given does not verify; the message says which entry or
    /// checkpoint and why.
    #[error("{0}")]
    Invalid(String),
}

/// The rows a rebuilt leaf keeps current besides itself.
enum Rows {
    Statement { tenant: String, date: String },
    KeyChange(TenantRecord),
}

/// A store being rebuilt from the start of its log.
pub struct Rebuild<'a> {
    store: &'a Store,
    log_key: Verifier,
    origin: String,
    frontier: Frontier,
    tenants: HashMap<String, TenantRecord>,
    /// Leaves checked but not yet written, and the nodes they complete.
    pending: Vec<(Vec<u8>, Hash, Rows)>,
    nodes: Vec<(NodeId, Hash)>,
    /// The size of the last checkpoint stored.
    last_checkpoint: Option<u64>,
    pub checkpoints: u64,
    pub cosignatures: u64,
}

impl<'a> Rebuild<'a> {
    /// Starts rebuilding into `store`, which must be empty, the log of
    /// `origin` whose checkpoints `log_key` signs.
    pub fn new(store: &'a Store, log_key: Verifier, origin: &str) -> Result<Self, RebuildError> {
        if store.size()? != 0 {
            return Err(RebuildError::Invalid(
                "restore into an empty data directory".into(),
            ));
        }
        Ok(Rebuild {
            store,
            log_key,
            origin: origin.to_string(),
            frontier: Frontier::new(),
            tenants: HashMap::new(),
            pending: Vec::new(),
            nodes: Vec::new(),
            last_checkpoint: None,
            checkpoints: 0,
            cosignatures: 0,
        })
    }

    /// Leaves taken so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the leaves taken so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Takes the next leaf, checking it as the module comment says.
    pub fn leaf(&mut self, bytes: Vec<u8>) -> Result<(), RebuildError> {
        let index = self.frontier.size();
        let rows = self.rows(&bytes, index).map_err(RebuildError::Invalid)?;
        let hash = leaf_hash(&bytes);
        self.frontier
            .append(hash, |id, h| self.nodes.push((id, *h)));
        self.pending.push((bytes, hash, rows));
        if self.pending.len() >= CHUNK {
            self.write(None)?;
        }
        Ok(())
    }

    /// Takes a checkpoint of `size`, which must be the number of leaves taken.
    pub fn checkpoint(&mut self, size: u64, note: &[u8]) -> Result<(), RebuildError> {
        self.verify_checkpoint(size, note)
            .map_err(RebuildError::Invalid)?;
        self.write(Some(note))?;
        self.last_checkpoint = Some(size);
        self.checkpoints += 1;
        Ok(())
    }

    /// Takes a witness's cosignature line for the checkpoint just taken.
    pub fn cosignature(
        &mut self,
        size: u64,
        witness: &str,
        line: &str,
    ) -> Result<(), RebuildError> {
        if self.last_checkpoint != Some(size) {
            return Err(RebuildError::Invalid(format!(
                "a cosignature for size {size} not after its checkpoint"
            )));
        }
        self.store.put_cosignature_unflushed(size, witness, line)?;
        self.cosignatures += 1;
        Ok(())
    }

    /// The size of the last checkpoint taken.
    pub fn last_checkpoint(&self) -> Option<u64> {
        self.last_checkpoint
    }

    /// Ends the rebuild: it must end at a checkpoint; everything is made
    /// durable before this returns.
    pub fn finish(mut self) -> Result<(), RebuildError> {
        if self.last_checkpoint != Some(self.frontier.size()) {
            return Err(RebuildError::Invalid(format!(
                "the log ends after {} leaves without a checkpoint covering them",
                self.frontier.size()
            )));
        }
        self.write(None)?;
        // The restore renames the directory into place after this: its
        // contents must be on disk first.
        self.store.flush()?;
        Ok(())
    }

    /// Writes the pending leaves, with the checkpoint that covers them if any.
    fn write(&mut self, checkpoint: Option<&[u8]>) -> Result<(), StoreError> {
        let size = self.frontier.size();
        if self.pending.is_empty() {
            return match checkpoint {
                Some(note) => self.store.put_checkpoint_unflushed(size, note),
                None => Ok(()),
            };
        }
        let first = size - self.pending.len() as u64;
        let leaves: Vec<NewLeaf<'_>> = self
            .pending
            .iter()
            .enumerate()
            .map(|(k, (bytes, hash, rows))| NewLeaf {
                index: first + k as u64,
                bytes,
                hash: *hash,
                rows: match rows {
                    Rows::KeyChange(record) => LeafRows::KeyChange(record),
                    Rows::Statement { tenant, date } => LeafRows::Statement { tenant, date },
                },
            })
            .collect();
        self.store
            .apply_integration(&leaves, &self.nodes, size, checkpoint)?;
        drop(leaves);
        self.pending.clear();
        self.nodes.clear();
        Ok(())
    }

    /// The rows leaf `index` needs: its (tenant, date) if a statement; the
    /// tenant record it leaves if a key-change entry (which must carry the
    /// log's signature and apply to the record as it stands).
    fn rows(&mut self, bytes: &[u8], index: u64) -> Result<Rows, String> {
        if !is_key_change_entry(bytes) {
            let (_, statement) =
                parse_submission(bytes).map_err(|e| format!("entry {index}: {e}"))?;
            return Ok(Rows::Statement {
                date: statement.date_string(),
                tenant: statement.tenant,
            });
        }
        let note = Note::parse(bytes).map_err(|e| format!("entry {index}: {e}"))?;
        open(&note, std::slice::from_ref(&self.log_key))
            .map_err(|_| format!("key-change entry {index} is not signed by the log key"))?;
        let change =
            KeyChange::parse_text(&note.text).map_err(|e| format!("entry {index}: {e}"))?;
        let current = self.tenants.get(&change.tenant);
        match change
            .apply(current, index, current.is_none())
            .map_err(|e| format!("entry {index}: {e}"))?
        {
            Transition::Append(record) => {
                self.tenants.insert(record.id.clone(), record.clone());
                Ok(Rows::KeyChange(record))
            }
            Transition::AlreadyDone(_) => Err(format!("entry {index} repeats a key change")),
        }
    }

    fn verify_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), String> {
        let cp = open_checkpoint(note, &self.log_key, &self.origin)
            .map_err(|e| format!("checkpoint {size}: {e}"))?;
        if cp.size != size || cp.size != self.frontier.size() {
            return Err(format!(
                "checkpoint {size} is of size {}, after {} leaves",
                cp.size,
                self.frontier.size()
            ));
        }
        if cp.root != self.frontier.root() {
            return Err(format!(
                "checkpoint {size} signs a root the leaves before it do not hash to"
            ));
        }
        Ok(())
    }
}

/// Parses a signed checkpoint note and checks that `log_key` signed it and
/// that it names `origin`.
pub fn open_checkpoint(
    note: &[u8],
    log_key: &Verifier,
    origin: &str,
) -> Result<Checkpoint, String> {
    match crate::note::open_checkpoint(note, log_key, Some(origin)) {
        Ok((_, checkpoint)) => Ok(checkpoint),
        Err(OpenCheckpointError::Signature(_)) => Err("it is not signed by the log key".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A mirror's checkpoint, verified: the note as published, its parse, the
/// log-signed note alone, and its cosignature lines by key name.
pub struct MirrorCheckpoint {
    pub checkpoint: Checkpoint,
    /// The checkpoint text with the log's signature lines only.
    pub log_note: Vec<u8>,
    /// Every other signature line, with the name it carries.
    pub cosignatures: Vec<(String, String)>,
}

impl MirrorCheckpoint {
    /// Verifies a published checkpoint note against the log key and origin,
    /// and splits the log's signature from the witnesses' lines (which the
    /// server re-verifies against its witness policy before serving them).
    pub fn parse(note: &[u8], log_key: &Verifier, origin: &str) -> Result<Self, String> {
        let checkpoint = open_checkpoint(note, log_key, origin)?;
        let parsed = Note::parse(note).map_err(|e| e.to_string())?;
        let mut log_note = Note::new(parsed.text.clone());
        let mut cosignatures = Vec::new();
        let log_cosigner = log_key.as_cosignature();
        for sig in parsed.signatures {
            // The log's signature and its own timestamp stay with the checkpoint.
            if log_key.matches(&sig) || log_cosigner.matches(&sig) {
                log_note.signatures.push(sig);
            } else {
                cosignatures.push((sig.name.clone(), sig.line()));
            }
        }
        Ok(MirrorCheckpoint {
            checkpoint,
            log_note: log_note.to_text().into_bytes(),
            cosignatures,
        })
    }
}

/// Takes every leaf from `rebuild.size()` up to the mirror checkpoint's size
/// from the mirror's entry bundles, then the checkpoint itself (which must
/// sign the root of everything taken, so a mirror whose bundles were altered
/// or cut is refused) and its cosignatures. `progress` hears the size taken
/// after each bundle.
pub async fn import_mirror(
    rebuild: &mut Rebuild<'_>,
    mirror: &TileClient,
    published: &MirrorCheckpoint,
    mut progress: impl FnMut(u64),
) -> Result<(), RebuildError> {
    let size = published.checkpoint.size;
    let width = u64::from(TILE_WIDTH);
    while rebuild.size() < size {
        let at = rebuild.size();
        let bundle = at / width;
        // The bundle's entries the checkpoint covers; those before `at` are taken already.
        let upto = (size - bundle * width).min(width) as u16;
        let entries = mirror
            .entries(bundle, upto)
            .await
            .map_err(|e| RebuildError::Invalid(format!("reading the mirror: {e:#}")))?;
        for bytes in entries.into_iter().skip((at - bundle * width) as usize) {
            rebuild.leaf(bytes)?;
        }
        progress(rebuild.size());
    }
    rebuild.checkpoint(size, &published.log_note).map_err(|e| match e {
        RebuildError::Invalid(why) => RebuildError::Invalid(format!(
            "the mirror's entries do not hash to its checkpoint ({why}): the mirror is damaged or not this log's"
        )),
        other => other,
    })?;
    for (witness, line) in &published.cosignatures {
        rebuild.cosignature(size, witness, line)?;
    }
    Ok(())
}

//! Online backup and restore of a log.
//!
//! A backup is taken from the running server (`GET /v1/admin/backup`) at the
//! newest *durable* checkpoint of size S: every leaf below S, every stored
//! checkpoint of size ≤ S and the witnesses' cosignatures on them. The log
//! only ever appends, so those rows no longer change once S is durable, and
//! reading them while the sequencer appends beyond S gives a consistent copy
//! without stopping anything. Everything else (hash nodes, the indexes, the
//! tenant records) is derived from the leaves, so a restore rebuilds it and
//! so re-verifies the whole backup: every checkpoint must carry the log
//! key's signature and equal the root recomputed from the leaves before it,
//! and every key-change entry must be signed by the log key.
//!
//! The log's private key is not in the backup (it never leaves the data
//! directory); the restore takes it from the operator's own key backup.
//!
//! Stream format (`rootlog-backup/v1`): the line `rootlog-backup/v1`, one
//! line of JSON ([`Header`]), then frames of one kind byte, a u32 big-endian
//! length and that many bytes:
//!
//! | kind | payload |
//! |------|---------|
//! | `L`  | the next leaf's bytes (leaves come in index order) |
//! | `C`  | u64 BE tree size, then the checkpoint note; right after the leaf that completes that size |
//! | `W`  | u64 BE tree size, the witness name, `\n`, its cosignature line; after its checkpoint |
//! | `E`  | u64 BE number of leaves; the last frame, so a cut-off backup is detected |

use std::collections::HashMap;
use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use crate::merkle::{leaf_hash, Frontier, Hash, NodeId};
use crate::note::{open, Checkpoint, Note, Signer, Verifier};
use crate::statement::parse_submission;
use crate::storage::{LeafRows, NewLeaf, Store, StoreError};
use crate::tenant_key::{is_key_change_entry, KeyChange, TenantRecord, Transition};

/// The first line of a backup.
pub const MAGIC: &str = "rootlog-backup/v1";

/// What the backup is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub origin: String,
    pub log_vkey: String,
    /// The size of the newest checkpoint in the backup.
    pub tree_size: u64,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
}

/// One frame of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Leaf(Vec<u8>),
    Checkpoint {
        size: u64,
        note: Vec<u8>,
    },
    Cosignature {
        size: u64,
        witness: String,
        line: String,
    },
    End {
        leaves: u64,
    },
}

/// The largest frame a reader accepts (a leaf is at most 16 KiB; a
/// checkpoint with many cosignatures a few KiB).
const MAX_FRAME: u32 = 1 << 20;

/// Why a backup cannot be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("reading or writing the backup: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not a rootlog backup: {0}")]
    Format(String),
    #[error("the backup does not verify: {0}")]
    Invalid(String),
}

impl Frame {
    /// Appends the frame's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (kind, payload): (u8, Vec<u8>) = match self {
            Frame::Leaf(bytes) => (b'L', bytes.clone()),
            Frame::Checkpoint { size, note } => (b'C', [&size.to_be_bytes()[..], note].concat()),
            Frame::Cosignature {
                size,
                witness,
                line,
            } => (
                b'W',
                [
                    &size.to_be_bytes()[..],
                    witness.as_bytes(),
                    b"\n",
                    line.as_bytes(),
                ]
                .concat(),
            ),
            Frame::End { leaves } => (b'E', leaves.to_be_bytes().to_vec()),
        };
        out.push(kind);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
    }

    /// Reads the next frame; None at a clean end of input.
    pub fn read(r: &mut impl Read) -> Result<Option<Frame>, BackupError> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head[..1]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        r.read_exact(&mut head[1..])?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_FRAME {
            return Err(BackupError::Format(format!("a frame of {len} bytes")));
        }
        let mut payload = vec![0u8; len as usize];
        r.read_exact(&mut payload)?;
        let sized = |payload: &[u8]| -> Result<(u64, Vec<u8>), BackupError> {
            let (size, rest) = payload
                .split_first_chunk::<8>()
                .ok_or_else(|| BackupError::Format("a frame too short for its size".into()))?;
            Ok((u64::from_be_bytes(*size), rest.to_vec()))
        };
        Ok(Some(match head[0] {
            b'L' => Frame::Leaf(payload),
            b'C' => {
                let (size, note) = sized(&payload)?;
                Frame::Checkpoint { size, note }
            }
            b'W' => {
                let (size, rest) = sized(&payload)?;
                let text = String::from_utf8(rest)
                    .map_err(|_| BackupError::Format("a cosignature that is not UTF-8".into()))?;
                let (witness, line) = text.split_once('\n').ok_or_else(|| {
                    BackupError::Format("a cosignature without its witness".into())
                })?;
                Frame::Cosignature {
                    size,
                    witness: witness.to_string(),
                    line: line.to_string(),
                }
            }
            b'E' => {
                let (leaves, rest) = sized(&payload)?;
                if !rest.is_empty() {
                    return Err(BackupError::Format(
                        "an end frame longer than its count".into(),
                    ));
                }
                Frame::End { leaves }
            }
            other => {
                return Err(BackupError::Format(format!(
                    "unknown frame kind {other:#04x}"
                )))
            }
        }))
    }
}

/// The header block: the magic line and the header's JSON line.
pub fn encode_header(header: &Header) -> Vec<u8> {
    let json = serde_json::to_string(header).unwrap_or_default();
    format!("{MAGIC}\n{json}\n").into_bytes()
}

/// Writes the frames of the backup of `store` at its durable checkpoint of
/// `size`, in chunks handed to `emit` (which sends them to the client).
/// Reads only rows that are immutable once `size` is durable.
pub fn write_frames(
    store: &Store,
    size: u64,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), BackupError> {
    const CHUNK: u64 = 1024;
    // Size 0 first: the empty tree's checkpoint, where the log stored one.
    let mut checkpoints = std::iter::once(0u64)
        .chain(store.checkpoint_sizes(0, size)?)
        .peekable();
    let mut out = Vec::new();
    let mut emit_checkpoints_at = |at: u64, out: &mut Vec<u8>| -> Result<(), BackupError> {
        while checkpoints.peek() == Some(&at) {
            checkpoints.next();
            if let Some(note) = store.checkpoint(at)? {
                Frame::Checkpoint { size: at, note }.encode(out);
            }
            for (witness, line) in store.cosignatures(at)? {
                Frame::Cosignature {
                    size: at,
                    witness,
                    line,
                }
                .encode(out);
            }
        }
        Ok(())
    };
    emit_checkpoints_at(0, &mut out)?;
    let mut first = 0;
    while first < size {
        let count = CHUNK.min(size - first);
        for (k, leaf) in store.leaf_range(first, count)?.into_iter().enumerate() {
            Frame::Leaf(leaf).encode(&mut out);
            emit_checkpoints_at(first + k as u64 + 1, &mut out)?;
        }
        first += count;
        if !emit(std::mem::take(&mut out)) {
            return Err(BackupError::Io(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client stopped reading",
            )));
        }
    }
    Frame::End { leaves: size }.encode(&mut out);
    emit(out);
    Ok(())
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub header: Header,
    pub leaves: u64,
    pub checkpoints: u64,
    pub cosignatures: u64,
}

/// The rows a restored leaf keeps current besides itself.
enum Rows {
    Statement { tenant: String, date: String },
    KeyChange(TenantRecord),
}

/// Leaves and their rows waiting for the next checkpoint.
struct Pending {
    leaves: Vec<(Vec<u8>, Hash, Rows)>,
    nodes: Vec<(NodeId, Hash)>,
}

/// Reads the header of a backup.
pub fn read_header(r: &mut impl BufRead) -> Result<Header, BackupError> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    if line != format!("{MAGIC}\n") {
        return Err(BackupError::Format(format!(
            "it does not start with {MAGIC}"
        )));
    }
    line.clear();
    r.read_line(&mut line)?;
    serde_json::from_str(line.trim_end()).map_err(|e| BackupError::Format(format!("header: {e}")))
}

/// Restores a backup into `store` (a new, empty log whose key is `signer`),
/// verifying it as described in the module comment. Flushes once at the end.
pub fn restore(
    r: &mut impl BufRead,
    store: &Store,
    signer: &Signer,
    mut progress: impl FnMut(u64),
) -> Result<Restored, BackupError> {
    let header = read_header(r)?;
    let log_key = signer.verifier();
    if log_key.vkey() != header.log_vkey {
        return Err(BackupError::Invalid(format!(
            "the backup is of the log with key {}, not of the key given ({})",
            header.log_vkey,
            log_key.vkey()
        )));
    }
    if store.size()? != 0 {
        return Err(BackupError::Invalid(
            "restore into an empty data directory".into(),
        ));
    }
    let invalid = |m: String| BackupError::Invalid(m);
    let mut frontier = Frontier::new();
    let mut tenants: HashMap<String, TenantRecord> = HashMap::new();
    let mut pending = Pending {
        leaves: Vec::new(),
        nodes: Vec::new(),
    };
    let mut done = Restored {
        header: header.clone(),
        leaves: 0,
        checkpoints: 0,
        cosignatures: 0,
    };
    let mut last_checkpoint = None;
    loop {
        let Some(frame) = Frame::read(r)? else {
            return Err(invalid(
                "it ends without its end frame: the backup was cut off".into(),
            ));
        };
        match frame {
            Frame::Leaf(bytes) => {
                let index = frontier.size();
                let hash = leaf_hash(&bytes);
                let rows = leaf_rows(&bytes, index, &log_key, &mut tenants).map_err(invalid)?;
                frontier.append(hash, |id, h| pending.nodes.push((id, *h)));
                pending.leaves.push((bytes, hash, rows));
            }
            Frame::Checkpoint { size, note } => {
                check_checkpoint(&note, size, &frontier, &header.origin, &log_key)
                    .map_err(invalid)?;
                apply(store, &mut pending, size, &note)?;
                done.leaves = size;
                done.checkpoints += 1;
                last_checkpoint = Some(size);
                progress(size);
            }
            Frame::Cosignature {
                size,
                witness,
                line,
            } => {
                if last_checkpoint != Some(size) {
                    return Err(invalid(format!(
                        "a cosignature for size {size} not after its checkpoint"
                    )));
                }
                store.put_cosignature_unflushed(size, &witness, &line)?;
                done.cosignatures += 1;
            }
            Frame::End { leaves } => {
                if leaves != frontier.size()
                    || last_checkpoint != Some(header.tree_size)
                    || leaves != header.tree_size
                {
                    return Err(invalid(format!(
                        "it ends after {} leaves and a checkpoint of size {last_checkpoint:?}; the header says {}",
                        frontier.size(),
                        header.tree_size
                    )));
                }
                store.flush()?;
                return Ok(done);
            }
        }
    }
}

/// The rows a restored leaf needs: its (tenant, date) if a statement; the
/// tenant record it leaves if a key-change entry (which must carry the log's
/// signature and apply to the record as it stands).
fn leaf_rows(
    bytes: &[u8],
    index: u64,
    log_key: &Verifier,
    tenants: &mut HashMap<String, TenantRecord>,
) -> Result<Rows, String> {
    if !is_key_change_entry(bytes) {
        let (_, statement) = parse_submission(bytes).map_err(|e| format!("entry {index}: {e}"))?;
        return Ok(Rows::Statement {
            date: statement.date_string(),
            tenant: statement.tenant,
        });
    }
    let note = Note::parse(bytes).map_err(|e| format!("entry {index}: {e}"))?;
    open(&note, std::slice::from_ref(log_key))
        .map_err(|_| format!("key-change entry {index} is not signed by the log key"))?;
    let change = KeyChange::parse_text(&note.text).map_err(|e| format!("entry {index}: {e}"))?;
    let current = tenants.get(&change.tenant);
    match change
        .apply(current, index, current.is_none())
        .map_err(|e| format!("entry {index}: {e}"))?
    {
        Transition::Append(record) => {
            tenants.insert(record.id.clone(), record.clone());
            Ok(Rows::KeyChange(record))
        }
        Transition::AlreadyDone(_) => Err(format!("entry {index} repeats a key change")),
    }
}

fn check_checkpoint(
    note: &[u8],
    size: u64,
    frontier: &Frontier,
    origin: &str,
    log_key: &Verifier,
) -> Result<(), String> {
    let parsed = Note::parse(note).map_err(|e| format!("checkpoint {size}: {e}"))?;
    open(&parsed, std::slice::from_ref(log_key))
        .map_err(|_| format!("checkpoint {size} is not signed by the log key"))?;
    let cp = Checkpoint::parse(&parsed.text).map_err(|e| format!("checkpoint {size}: {e}"))?;
    if cp.origin != origin || cp.size != size || cp.size != frontier.size() {
        return Err(format!(
            "checkpoint {size} is for {} size {}, after {} leaves",
            cp.origin,
            cp.size,
            frontier.size()
        ));
    }
    if cp.root != frontier.root() {
        return Err(format!(
            "checkpoint {size} signs a root the leaves before it do not hash to"
        ));
    }
    Ok(())
}

/// Writes the pending leaves with the checkpoint that covers them (not flushed).
fn apply(store: &Store, pending: &mut Pending, size: u64, note: &[u8]) -> Result<(), StoreError> {
    if pending.leaves.is_empty() {
        return store.put_checkpoint_unflushed(size, note);
    }
    let first = size - pending.leaves.len() as u64;
    let leaves: Vec<NewLeaf<'_>> = pending
        .leaves
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
    store.apply_integration(&leaves, &pending.nodes, size, note)?;
    drop(leaves);
    pending.leaves.clear();
    pending.nodes.clear();
    Ok(())
}

/// Writes a whole backup to `w` (for tests and tools holding a store).
pub fn write_to(store: &Store, header: &Header, w: &mut impl Write) -> Result<(), BackupError> {
    w.write_all(&encode_header(header))?;
    let mut failed = None;
    write_frames(store, header.tree_size, |chunk| match w.write_all(&chunk) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_have_one_encoding() {
        let frames = [
            Frame::Leaf(b"entry".to_vec()),
            Frame::Checkpoint {
                size: 7,
                note: b"cp\n".to_vec(),
            },
            Frame::Cosignature {
                size: 7,
                witness: "w.example".into(),
                line: "- w.example abc".into(),
            },
            Frame::End { leaves: 7 },
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            f.encode(&mut bytes);
        }
        let mut r = io::Cursor::new(bytes);
        for f in &frames {
            assert_eq!(Frame::read(&mut r).unwrap().as_ref(), Some(f));
        }
        assert!(Frame::read(&mut r).unwrap().is_none());
        // An end frame with bytes after its count is not one (found by fuzzing).
        let mut r =
            io::Cursor::new(b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x07\x00".to_vec());
        assert!(Frame::read(&mut r).is_err());
        let mut r = io::Cursor::new(b"C\x00\x00\x00\x02ab".to_vec());
        assert!(Frame::read(&mut r).is_err());
        let mut r = io::Cursor::new(b"L\xff\xff\xff\xff".to_vec());
        assert!(Frame::read(&mut r).is_err());
    }
}

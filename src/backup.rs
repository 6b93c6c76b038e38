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

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use crate::note::{Signer, Verifier};
use crate::rebuild::{Rebuild, RebuildError};
use crate::storage::{Store, StoreError};

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
    /// The stream ends before its end frame.
    #[error("{0}")]
    Truncated(String),
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

/// What a backup stream held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub header: Header,
    pub leaves: u64,
}

impl From<RebuildError> for BackupError {
    fn from(e: RebuildError) -> Self {
        match e {
            RebuildError::Store(e) => BackupError::Store(e),
            RebuildError::Invalid(why) => BackupError::Invalid(why),
        }
    }
}

/// A backup that ends early: the file was cut off (a copy or download that
/// did not finish), which is worth saying in those words.
fn truncated(at: u64) -> BackupError {
    BackupError::Truncated(format!(
        "backup truncated: it ends after {at} entries, before its end frame (an interrupted copy or download?)"
    ))
}

/// Feeds the frames of a backup whose header (`header`, already read and
/// checked against the log key) is behind `r` into `rebuild`, which
/// re-verifies every leaf and checkpoint. Does not finish the rebuild, so a
/// restore can go on from a mirror; `progress` hears each checkpoint's size.
pub fn read_frames(
    r: &mut impl BufRead,
    header: &Header,
    rebuild: &mut Rebuild<'_>,
    mut progress: impl FnMut(u64),
) -> Result<Restored, BackupError> {
    loop {
        let frame = match Frame::read(r) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(truncated(rebuild.size())),
            Err(BackupError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(truncated(rebuild.size()))
            }
            Err(e) => return Err(e),
        };
        match frame {
            Frame::Leaf(bytes) => rebuild.leaf(bytes)?,
            Frame::Checkpoint { size, note } => {
                rebuild.checkpoint(size, &note)?;
                progress(size);
            }
            Frame::Cosignature {
                size,
                witness,
                line,
            } => rebuild.cosignature(size, &witness, &line)?,
            Frame::End { leaves } => {
                if leaves != rebuild.size()
                    || rebuild.last_checkpoint() != Some(header.tree_size)
                    || leaves != header.tree_size
                {
                    return Err(BackupError::Invalid(format!(
                        "it ends after {} leaves and a checkpoint of size {:?}; the header says {}",
                        rebuild.size(),
                        rebuild.last_checkpoint(),
                        header.tree_size
                    )));
                }
                return Ok(Restored {
                    header: header.clone(),
                    leaves,
                });
            }
        }
    }
}

/// Checks that a backup's header names the log whose key is `log_key`.
pub fn check_header(header: &Header, log_key: &Verifier) -> Result<(), BackupError> {
    if log_key.vkey() != header.log_vkey {
        return Err(BackupError::Invalid(format!(
            "the backup is of the log with key {}, not of the key given ({})",
            header.log_vkey,
            log_key.vkey()
        )));
    }
    Ok(())
}

/// Restores a whole backup into `store` (a new, empty log whose key is
/// `signer`), verifying it as described in the module comment, and makes
/// it durable.
pub fn restore(
    r: &mut impl BufRead,
    store: &Store,
    signer: &Signer,
    progress: impl FnMut(u64),
) -> Result<Restored, BackupError> {
    let header = read_header(r)?;
    let log_key = signer.verifier();
    check_header(&header, &log_key)?;
    let mut rebuild = Rebuild::new(store, log_key, &header.origin)?;
    let done = read_frames(r, &header, &mut rebuild, progress)?;
    rebuild.finish()?;
    Ok(done)
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

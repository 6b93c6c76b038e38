//! Opening a log's signed checkpoint: the note parses, carries a valid
//! signature by the log key, its text is a checkpoint, and (when one is
//! expected) it names the log's origin. Each step's failure is its own
//! variant, so callers word it for their audience.

use super::checkpoint::{Checkpoint, CheckpointError};
use super::key::Verifier;
use super::signed::{open, Note, NoteError};

/// Why a note is not a checkpoint of the expected log.
#[derive(Debug, thiserror::Error)]
pub enum OpenCheckpointError {
    /// The bytes are not a signed note.
    #[error("{0}")]
    Note(NoteError),
    /// No valid signature by the log key.
    #[error("{0}")]
    Signature(NoteError),
    /// The note's text is not a checkpoint.
    #[error("{0}")]
    Body(CheckpointError),
    /// The checkpoint names another origin.
    #[error("it is a checkpoint of {found:?}, not of {expected:?}")]
    Origin { expected: String, found: String },
}

/// Opens `note` as a checkpoint signed by `log_key` and, if `origin` is
/// given, naming it. Returns the parsed note with its body.
pub fn open_checkpoint(
    note: &[u8],
    log_key: &Verifier,
    origin: Option<&str>,
) -> Result<(Note, Checkpoint), OpenCheckpointError> {
    let parsed = Note::parse(note).map_err(OpenCheckpointError::Note)?;
    open(&parsed, std::slice::from_ref(log_key)).map_err(OpenCheckpointError::Signature)?;
    let checkpoint = Checkpoint::parse(&parsed.text).map_err(OpenCheckpointError::Body)?;
    if let Some(expected) = origin {
        if checkpoint.origin != expected {
            return Err(OpenCheckpointError::Origin {
                expected: expected.to_string(),
                found: checkpoint.origin,
            });
        }
    }
    Ok((parsed, checkpoint))
}

//! c2sp.org/tlog-checkpoint note text: origin, tree size, base64 root, and
//! optional extension lines (which this log never emits).

use crate::merkle::Hash;

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines of other logs' checkpoints (each non-empty). Ours are empty.
    pub extensions: Vec<String>,
}

/// Why checkpoint text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses note text (each line ending in '\n').
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let _ = text;
        todo!()
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        todo!()
    }
}

//! A checkpoint the log has signed and made durable: its size, root and
//! whole signed note, as it travels from the sequencer to the HTTP layer,
//! the witnessing rounds and the mirror.

use crate::merkle::Hash;
use crate::note::{Checkpoint, Note, Signer};

/// A signed checkpoint the log has made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The whole signed note.
    pub note: String,
}

impl SignedCheckpoint {
    /// Signs the checkpoint of a tree of `size` with `root`, and timestamps
    /// it with the log's own `cosignature/v1` line (the same key in its
    /// cosignature form): the log's claim of when it integrated what the
    /// checkpoint covers, which verifiers without a witness policy report
    /// as such (`crate::timebound`). Verifiers of the log's 0x01 key ignore
    /// the line (another key ID), as signed-note rules say.
    pub fn sign(signer: &Signer, origin: &str, size: u64, root: Hash) -> Self {
        let mut note = Note::new(Checkpoint::new(origin, size, root).to_text());
        note.signatures.push(signer.sign(note.text.as_bytes()));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        note.signatures
            .push(signer.cosign(note.text.as_bytes(), now));
        SignedCheckpoint {
            size,
            root,
            note: note.to_text(),
        }
    }
}

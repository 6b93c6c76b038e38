//! The signed-note container: text, a blank line, signature lines
//! `— <name> <base64(key ID || signature)>`.

use super::Verifier;

/// Notes with more signature lines than this are refused (Go `note.Open` caps at 100).
pub const MAX_SIGNATURES: usize = 100;

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the 4-byte key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— <name> <base64(key ID || signature)>\n`
    pub fn line(&self) -> String {
        todo!()
    }

    /// Parses one signature line (without its trailing newline).
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let _ = line;
        todo!()
    }
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("note has no signature by a known key")]
    UnverifiedNote,
    #[error("signature by {name} (key ID {key_id:08x}) does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("two signatures by {name} (key ID {key_id:08x})")]
    DuplicateSignature { name: String, key_id: u32 },
}

impl Note {
    /// Parses a note: valid UTF-8; no control characters but '\n'; the text
    /// ends at the last "\n\n"; at least one signature line, at most
    /// `MAX_SIGNATURES`; every line well formed and ending in '\n'.
    pub fn parse(msg: &[u8]) -> Result<Self, NoteError> {
        let _ = msg;
        todo!()
    }

    /// A note with the given text and no signatures yet.
    pub fn new(text: String) -> Self {
        Note {
            text,
            signatures: Vec::new(),
        }
    }

    /// The serialized note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        todo!()
    }
}

/// Verifies a note by signed-note rules: signatures whose (name, key ID) no
/// verifier knows are ignored; a known one that fails rejects the note; at
/// least one must verify. Returns the indexes of the verified signatures.
pub fn open(note: &Note, verifiers: &[Verifier]) -> Result<Vec<usize>, NoteError> {
    let _ = (note, verifiers);
    todo!()
}

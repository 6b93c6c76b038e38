//! c2sp.org/tlog-checkpoint note text: origin, tree size, base64 root, and
//! optional extension lines (which this log never emits).
//!
//! This file owns only the text of a checkpoint; signing and verifying it is
//! the signed-note layer's job.

use super::encoding::{decode_hash_b64, encode_b64, parse_decimal_u64};
use crate::merkle::Hash;

/// A checkpoint body.
///
/// Invariant of parsed values: `origin` and every extension line are
/// non-empty and free of control characters, so `to_text` re-parses to the
/// same value.
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
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("checkpoint text does not end in a newline"))?;
        // Note::parse already refuses these, but a checkpoint may also come
        // from elsewhere (e.g. a witness request body).
        if body.chars().any(|c| c != '\n' && c.is_control()) {
            return Err(malformed("checkpoint contains a control character"));
        }
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("checkpoint has fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        let size = parse_decimal_u64(size)
            .ok_or_else(|| malformed(&format!("tree size {size:?} is not a canonical decimal")))?;
        let root = decode_hash_b64(root).ok_or_else(|| {
            malformed(&format!(
                "root {root:?} is not canonical base64 of 32 bytes"
            ))
        })?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(malformed("empty extension line"));
            }
            extensions.push(line.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_b64(&self.root)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn malformed(why: &str) -> CheckpointError {
    CheckpointError::Malformed(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn round_trip() {
        let text = format!("example.com/behind-the-sofa\n20852163\n{ROOT}\n");
        let cp = Checkpoint::parse(&text).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert!(cp.extensions.is_empty());
        assert_eq!(cp.to_text(), text);
        assert_eq!(Checkpoint::new(&cp.origin, cp.size, cp.root), cp);
    }

    #[test]
    fn refusals() {
        for bad in [
            String::new(),
            format!("o\n1\n{ROOT}"),
            format!("\n1\n{ROOT}\n"),
            format!("o\n1\n{ROOT}\n\n"),
            format!("o\r\n1\n{ROOT}\n"),
            format!("o\t\n1\n{ROOT}\n"),
            format!("o\n1\n{ROOT}\next\t\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }
}

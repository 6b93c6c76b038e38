//! The signed-note container: text, a blank line, signature lines
//! `— <name> <base64(key ID || signature)>`.
//!
//! This file owns the container syntax (c2sp.org/signed-note) and the
//! verification rules of `open`; what a signature means is the key's business.

use super::encoding::{decode_base64_canonical, encode_b64};
use super::{is_valid_key_name, Verifier};

/// U+2014 EM DASH and a space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

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
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, encode_b64(&bytes))
    }

    /// Parses one signature line (without its trailing newline).
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| malformed("signature line does not start with \"\u{2014} \""))?;
        // Names contain no spaces, so the first space ends the name; a space
        // in the base64 makes it fail to decode.
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("signature line has no space after the key name"))?;
        if !is_valid_key_name(name) {
            return Err(malformed(&format!("invalid key name {name:?}")));
        }
        let bytes = decode_base64_canonical(b64)
            .ok_or_else(|| malformed(&format!("signature by {name} is not canonical base64")))?;
        // A key ID and at least one byte of signature.
        if bytes.len() <= 4 {
            return Err(malformed(&format!("signature by {name} is too short")));
        }
        let key_id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(NoteSignature {
            name: name.to_string(),
            key_id,
            signature: bytes[4..].to_vec(),
        })
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
        let msg = std::str::from_utf8(msg).map_err(|_| malformed("note is not valid UTF-8"))?;
        // `is_control` is Unicode Cc: C0 (CR, TAB, NUL, ...), DEL and C1.
        if let Some(c) = msg.chars().find(|&c| c != '\n' && c.is_control()) {
            return Err(malformed(&format!(
                "note contains control character U+{:04X}",
                u32::from(c)
            )));
        }
        // Go: bytes.LastIndex(msg, "\n\n"); the text keeps its final newline.
        let split = msg
            .rfind("\n\n")
            .ok_or_else(|| malformed("note has no blank line before its signatures"))?;
        let text = &msg[..split + 1];
        let sigs = &msg[split + 2..];
        if sigs.is_empty() {
            return Err(malformed("note has no signatures"));
        }
        let Some(body) = sigs.strip_suffix('\n') else {
            return Err(malformed("note does not end in a newline"));
        };
        // Count before parsing so an oversized note costs no base64 work.
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
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
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.line());
        }
        out
    }
}

/// The part of a note's bytes that is signed: everything up to and
/// including the newline before the last blank line (the whole input if
/// there is none). Identical retries compare this, so a retry that carries
/// an extra unknown signature is still the same statement.
pub fn signed_text(note: &[u8]) -> &[u8] {
    match note.windows(2).rposition(|w| w == b"\n\n") {
        Some(split) => &note[..split + 1],
        None => note,
    }
}

/// Verifies a note by signed-note rules: signatures whose (name, key ID) no
/// verifier knows are ignored; a known one that fails rejects the note; at
/// least one must verify. Returns the indexes of the verified signatures.
pub fn open(note: &Note, verifiers: &[Verifier]) -> Result<Vec<usize>, NoteError> {
    let mut verified = Vec::new();
    for (i, sig) in note.signatures.iter().enumerate() {
        // Identity is the (name, key ID) pair: a name or an ID alone is not enough.
        let Some(verifier) = verifiers.iter().find(|v| v.matches(sig)) else {
            continue;
        };
        if !verifier.verify(note.text.as_bytes(), &sig.signature) {
            return Err(NoteError::InvalidSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
            });
        }
        verified.push(i);
    }
    if verified.is_empty() {
        return Err(NoteError::UnverifiedNote);
    }
    Ok(verified)
}

fn malformed(why: &str) -> NoteError {
    NoteError::Malformed(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;

    fn signer() -> Signer {
        Signer::from_skey(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap()
    }

    #[test]
    fn signed_text_stops_at_last_blank_line() {
        assert_eq!(signed_text(b"a\nb\n\n- sig\n"), b"a\nb\n");
        assert_eq!(signed_text(b"a\n\nb\n\n- sig\n"), b"a\n\nb\n");
        assert_eq!(signed_text(b"no blank line"), b"no blank line");
    }

    #[test]
    fn text_keeps_its_final_newline_and_last_blank_line_splits() {
        let s = signer();
        let mut note = Note::new("a\n\nb\n".to_string());
        note.signatures.push(s.sign(note.text.as_bytes()));
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(open(&parsed, &[s.verifier()]).unwrap(), vec![0]);
    }

    #[test]
    fn signature_line_rules() {
        let sig = signer().sign(b"x\n");
        let line = sig.line();
        assert!(line.starts_with("\u{2014} PeterNeumann "));
        assert!(line.ends_with('\n'));
        assert_eq!(
            NoteSignature::parse_line(line.trim_end_matches('\n')).unwrap(),
            sig
        );
        for bad in [
            "- PeterNeumann AAAAAAA=",
            "\u{2014}PeterNeumann AAAAAAA=",
            "\u{2014} PeterNeumann",
            "\u{2014}  AAAAAAA=",
            "\u{2014} a+b AAAAAAA=",
            "\u{2014} name AAAAAA==",  // exactly 4 bytes: no signature
            "\u{2014} name AAAAAAA",   // missing padding
            "\u{2014} name AAAAAAA= ", // trailing space
        ] {
            assert!(
                matches!(NoteSignature::parse_line(bad), Err(NoteError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn c1_controls_and_del_are_refused() {
        let line = signer().sign(b"x\n").line();
        for ctrl in ["\u{7f}", "\u{85}", "\u{9f}", "\u{b}", "\u{c}"] {
            let msg = format!("x{ctrl}\n\n{line}");
            assert!(
                matches!(Note::parse(msg.as_bytes()), Err(NoteError::Malformed(_))),
                "{ctrl:?}"
            );
        }
    }
}

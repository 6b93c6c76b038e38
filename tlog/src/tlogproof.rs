//! c2sp.org/tlog-proof@v1: a self-contained inclusion proof file.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <decimal>
//! <base64 hash>            (0..63 lines, leaf sibling first)
//!
//! <checkpoint signed note, with log signature and cosignatures>
//! ```
//!
//! Pure parsing and formatting; what the proof proves is checked by `verify`.

use crate::merkle::{Hash, MAX_PROOF_HASHES};
use crate::note::{decode_base64_canonical, decode_hash_b64, encode_b64, parse_decimal_u64, Note};

/// The first line of every tlog-proof file.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub inclusion_proof: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed tlog-proof: {0}")]
pub struct TlogProofError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TlogProofError> {
    Err(TlogProofError(msg.into()))
}

impl TlogProof {
    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", encode_b64(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.inclusion_proof {
            out.push_str(&encode_b64(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof file strictly; the checkpoint must be a well-formed note.
    pub fn parse(bytes: &[u8]) -> Result<Self, TlogProofError> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return err("not UTF-8");
        };
        let Some(rest) = text.strip_prefix(HEADER).and_then(|r| r.strip_prefix('\n')) else {
            return err(format!("the first line must be {HEADER}"));
        };
        let Some(blank) = rest.find("\n\n") else {
            return err("no blank line before the checkpoint");
        };
        let (head, checkpoint) = (&rest[..blank], &rest[blank + 2..]);
        let mut lines = head.split('\n').peekable();
        let extra = match lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            Some(b64) => {
                let decoded = decode_base64_canonical(b64)
                    .ok_or_else(|| TlogProofError("extra is not canonical base64".into()))?;
                lines.next();
                Some(decoded)
            }
            None => None,
        };
        let index = match lines.next().and_then(|l| l.strip_prefix("index ")) {
            Some(n) => parse_decimal_u64(n)
                .ok_or_else(|| TlogProofError(format!("index {n:?} is not a decimal")))?,
            None => return err("expected an index line"),
        };
        let mut inclusion_proof = Vec::new();
        for line in lines {
            if inclusion_proof.len() == MAX_PROOF_HASHES {
                return err(format!("more than {MAX_PROOF_HASHES} proof hashes"));
            }
            inclusion_proof.push(
                decode_hash_b64(line).ok_or_else(|| {
                    TlogProofError(format!("{line:?} is not a base64 32-byte hash"))
                })?,
            );
        }
        Note::parse(checkpoint.as_bytes())
            .map_err(|e| TlogProofError(format!("checkpoint: {e}")))?;
        Ok(TlogProof {
            extra,
            index,
            inclusion_proof,
            checkpoint: checkpoint.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TlogProof {
        TlogProof {
            extra: None,
            index: 3,
            inclusion_proof: vec![[1u8; 32], [2u8; 32]],
            checkpoint: "example.com/log\n4\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n— example.com/log AAAAAAAA\n".into(),
        }
    }

    #[test]
    fn round_trips() {
        let p = sample();
        assert_eq!(TlogProof::parse(p.to_text().as_bytes()).unwrap(), p);
        let with_extra = TlogProof {
            extra: Some(b"hi".to_vec()),
            ..sample()
        };
        assert_eq!(
            TlogProof::parse(with_extra.to_text().as_bytes()).unwrap(),
            with_extra
        );
        let empty_path = TlogProof {
            inclusion_proof: vec![],
            index: 0,
            ..sample()
        };
        assert_eq!(
            TlogProof::parse(empty_path.to_text().as_bytes()).unwrap(),
            empty_path
        );
    }

    #[test]
    fn refuses_malformed() {
        let good = sample().to_text();
        for bad in [
            good.replace(HEADER, "c2sp.org/tlog-proof@v2"),
            good.replace("index 3", "index 03"),
            good.replace("index 3\n", ""),
            good.replacen(
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nAgIC",
                "AQEB\nAgIC",
                1,
            ),
            good.replace("\n\nexample.com", "\nexample.com"),
            good.replace("— example.com/log AAAAAAAA\n", ""),
            String::new(),
        ] {
            assert!(
                TlogProof::parse(bad.as_bytes()).is_err(),
                "accepted {bad:?}"
            );
        }
        let too_long = TlogProof {
            inclusion_proof: vec![[0u8; 32]; 64],
            ..sample()
        };
        assert!(TlogProof::parse(too_long.to_text().as_bytes()).is_err());
    }
}

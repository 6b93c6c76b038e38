//! Receipts: one file per statement that proves it offline, years later,
//! with nothing but keys — no log, no mirror.
//!
//! A receipt (`rootlog-receipt/v1`, JSON, `docs/receipts.md`) holds:
//!
//! - `statement`: the signed daily-root statement exactly as logged;
//! - `proof`: a `c2sp.org/tlog-proof@v1` file proving it into the earliest
//!   checkpoint covering it that met the log's witness policy, with that
//!   checkpoint's cosignatures (whose times bound when it was logged);
//! - `key_history`: every key-change entry of the tenant below that
//!   checkpoint's size, each with its inclusion proof into the same
//!   checkpoint, so the tenant-key rule is applied offline as the online
//!   audit applies it.
//!
//! Verification ([`Receipt::judge`]) is [`crate::verify::judge_statement`]
//! with the key history replayed from the receipt's own entries, each proven
//! included and signed by the log key. What a receipt cannot show is what
//! the log published after its checkpoint (a later revocation of the key,
//! say): the online audit sees that.

use serde::{Deserialize, Serialize};

use crate::merkle::Hash;
use crate::note::{decode_hash_b64, encode_b64, Checkpoint, Note};
use crate::tenant_key::replay;
use crate::timebound::MaxDelay;
use crate::tlogproof::TlogProof;
use crate::verdict::{Check, StatementReport};
use crate::verify::{check_key_change, judge_statement, StatementEvidence, Trust};

/// The `receipt` field of every receipt of this format.
pub const FORMAT: &str = "rootlog-receipt/v1";

/// A receipt file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`FORMAT`].
    pub receipt: String,
    /// The signed statement note, exactly as logged.
    pub statement: String,
    /// The tlog-proof file of the statement (index, inclusion proof, checkpoint).
    pub proof: String,
    /// The tenant's key-change entries below the proof's checkpoint size.
    pub key_history: Vec<KeyChangeProof>,
}

/// One key-change entry with its inclusion proof into the receipt's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyChangeProof {
    pub index: u64,
    /// The `tenant-key/v1` note, exactly as logged.
    pub entry: String,
    /// Base64 hashes, leaf side first.
    pub inclusion_proof: Vec<String>,
}

impl Receipt {
    /// Assembles a receipt from its parts.
    pub fn new(statement: &[u8], proof: &TlogProof, key_history: Vec<KeyChangeProof>) -> Self {
        Receipt {
            receipt: FORMAT.into(),
            statement: String::from_utf8_lossy(statement).into_owned(),
            proof: proof.to_text(),
            key_history,
        }
    }

    /// Parses a receipt file.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let receipt: Receipt =
            serde_json::from_slice(bytes).map_err(|e| format!("not a receipt: {e}"))?;
        if receipt.receipt != FORMAT {
            return Err(format!(
                "a receipt of format {:?}, not {FORMAT}",
                receipt.receipt
            ));
        }
        Ok(receipt)
    }

    /// The receipt as a JSON file.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Verifies the receipt offline under `trust` (the one rule of
    /// `judge_statement`, with the key history from the receipt).
    pub fn judge(&self, trust: &Trust<'_>, max_delay: MaxDelay) -> StatementReport {
        let proof = match TlogProof::parse(self.proof.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                let mut report = StatementReport::new("", "");
                report.checks.push(Check::fail("proof", e.to_string()));
                return report;
            }
        };
        let tenant = crate::statement::parse_submission(self.statement.as_bytes())
            .map(|(_, s)| s.tenant)
            .unwrap_or_default();
        let history =
            replay_key_history(&self.key_history, &proof.checkpoint, trust.log_key, &tenant);
        let evidence = StatementEvidence {
            entry: self.statement.as_bytes(),
            index: proof.index,
            checkpoint: &proof.checkpoint,
            inclusion_proof: &proof.inclusion_proof,
            expected: None,
            key_history: history.as_ref().ok(),
        };
        let (mut report, _) = judge_statement(&evidence, trust, max_delay);
        if let Err(why) = history {
            // The key rule was not applied; say why instead of "not at hand".
            report.checks.retain(|c| c.check != "tenant_keys");
            report.checks.push(Check::fail("tenant_keys", why));
        }
        report
    }
}

/// The tenant record that `entries` (key-change entries of `tenant` with
/// their inclusion proofs) leave, each proven included under the signed
/// checkpoint `checkpoint_note` and signed by the log key. Receipts carry
/// such a history; the browser page reads the same from the log's tiles.
pub fn replay_key_history(
    entries: &[KeyChangeProof],
    checkpoint_note: &str,
    log_key: &crate::note::Verifier,
    tenant: &str,
) -> Result<crate::tenant_key::TenantRecord, String> {
    let note = Note::parse(checkpoint_note.as_bytes()).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
    let mut changes = Vec::with_capacity(entries.len());
    for k in entries {
        let hashes = decode_proof(&k.inclusion_proof).ok_or_else(|| {
            format!(
                "key-change entry {}: a proof hash is not base64 of 32 bytes",
                k.index
            )
        })?;
        let change = check_key_change(
            k.entry.as_bytes(),
            k.index,
            &hashes,
            &checkpoint,
            log_key,
            tenant,
        )
        .map_err(|e| e.to_string())?;
        changes.push((k.index, change));
    }
    changes.sort_by_key(|(i, _)| *i);
    replay(changes.iter().map(|(i, c)| (*i, c)))
        .map_err(|e| format!("the receipt's key history: {e}"))?
        .ok_or_else(|| format!("the receipt holds no key-change entry of tenant {tenant}"))
}

/// Base64 proof hashes (as receipts hold them) decoded; None if any is not
/// base64 of 32 bytes.
pub fn decode_proof(hashes: &[String]) -> Option<Vec<Hash>> {
    hashes.iter().map(|h| decode_hash_b64(h)).collect()
}

/// Base64 proof hashes, as receipts hold them.
pub fn encode_proof(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| encode_b64(h)).collect()
}

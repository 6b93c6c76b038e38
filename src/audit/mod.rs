//! Online auditing, the pure half: what an auditor checks about a log's
//! answers once they are fetched. No I/O here; `client::Auditor` fetches
//! (over the log's API or a static tlog-tiles mirror) and calls these.
//!
//! *Audit* here means checking a log's live answers, and its consistency
//! with what this auditor saw before; *verify* ([`crate::verify`],
//! `rootlog verify`) is the offline check of one statement from files and
//! keys alone, and [`export`] checks an archive's manifest against the log.
//!
//! What an audit establishes, in order:
//!
//! 1. The checkpoint is signed by the log key, has the expected origin, and
//!    carries a quorum of trusted witness cosignatures
//!    ([`crate::verify::verify_checkpoint_note`]).
//! 2. It is consistent with the last checkpoint this auditor verified for
//!    the same log ([`consistency_step`], [`check_consistency_proof`]): the
//!    tree never shrinks and never forks. This is what makes the log
//!    append-only *for this auditor*; witnesses extend it to everyone.
//! 3. The entry bytes at the claimed index are the tenant's statement for
//!    the date, and they are included under that checkpoint
//!    ([`check_entry`]). The index itself is never trusted: it only says
//!    where to look.
//! 4. A key that signed it could sign there: the tenant's key-change
//!    entries, each included and signed by the log, added it before the
//!    statement and did not retire or revoke it before, nor revoke it with
//!    effect on or before the statement's date ([`check_key_change`],
//!    [`check_statement_keys`]).
//!
//! [`export`] checks an archive's export manifest against statements.

pub use rootlog_tlog::export;

use sha2::{Digest, Sha256};

use crate::merkle::{
    growth_step, leaf_hash, verify_consistency, verify_inclusion, GrowthError, Hash,
};
use crate::note::{Checkpoint, Note, Verifier};
use crate::statement::{format_date, parse_submission, verify_tenant_signatures, Statement};
use crate::tenant_key::{KeyChange, TenantRecord};
use crate::verify::{KeyCheckFailure, VerifiedCheckpoint, VerifyFailure};

/// Why an audit failed, in words an auditor can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditFailure {
    #[error("{0}")]
    Checkpoint(#[from] VerifyFailure),
    #[error("the saved checkpoint in the state file does not verify with the log key: {0}")]
    SavedCheckpoint(String),
    #[error(
        "THE LOG SHRANK: it now serves a tree of {new_size} entries, but it earlier signed one of {old_size}. \
         A log never shrinks; keep both checkpoints as evidence.\n\
         --- checkpoint verified earlier (state file) ---\n{old_note}\
         --- checkpoint served now ---\n{new_note}"
    )]
    Shrunk {
        old_size: u64,
        new_size: u64,
        old_note: String,
        new_note: String,
    },
    #[error(
        "THE LOG FORKED: the checkpoint of size {new_size} is not an extension of the one of size {old_size} verified earlier ({reason}). \
         The log signed two incompatible histories; keep both checkpoints as evidence.\n\
         --- checkpoint verified earlier (state file) ---\n{old_note}\
         --- checkpoint served now ---\n{new_note}"
    )]
    Fork {
        old_size: u64,
        new_size: u64,
        reason: String,
        old_note: String,
        new_note: String,
    },
    #[error("no statement for tenant {tenant} on {date} in the log (tree size {size})")]
    NotFound {
        tenant: String,
        date: String,
        size: u64,
    },
    #[error(
        "the statement is at index {index}, which the verified checkpoint (size {size}) does not cover yet; retry once the log has a newer witnessed checkpoint"
    )]
    NotYetCovered { index: u64, size: u64 },
    #[error("entry {index} of the log is not the statement asked for: {reason}")]
    WrongEntry { index: u64, reason: String },
    #[error("entry {index} is not a valid daily-root statement: {reason}")]
    Statement { index: u64, reason: String },
    #[error("the statement's signature does not verify with the tenant key: {0}")]
    TenantSignature(String),
    #[error(
        "entry {index} is not included in the checkpoint of size {size} (proof built from tiles): {reason}"
    )]
    Inclusion {
        index: u64,
        size: u64,
        reason: String,
    },
    #[error("the statement's root is {found}, not the expected {expected}")]
    ExpectedRoot { expected: String, found: String },
    #[error(
        "the log holds two statements for tenant {tenant} on {date}, at indexes {first} and {second}; a log keeps one per tenant and day"
    )]
    Duplicate {
        tenant: String,
        date: String,
        first: u64,
        second: u64,
    },
    #[error("key-change entry {index} does not verify: {reason}")]
    KeyChange { index: u64, reason: String },
    #[error("tenant keys: {0}")]
    TenantKeys(String),
    #[error("cannot fetch from the log: {0}")]
    Fetch(String),
}

/// The core crate's key-rule failures, in the same words.
impl From<KeyCheckFailure> for AuditFailure {
    fn from(e: KeyCheckFailure) -> Self {
        match e {
            KeyCheckFailure::Inclusion {
                index,
                size,
                reason,
            } => AuditFailure::Inclusion {
                index,
                size,
                reason,
            },
            KeyCheckFailure::KeyChange { index, reason } => {
                AuditFailure::KeyChange { index, reason }
            }
            KeyCheckFailure::TenantKeys(why) => AuditFailure::TenantKeys(why),
        }
    }
}

/// How the checkpoint relates to the one verified before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consistency {
    /// Nothing was saved for this log: this checkpoint is the first seen.
    FirstSeen,
    /// The same tree as before (same size and root).
    Unchanged,
    /// Verified to extend the saved tree of `old_size` entries.
    Extended { old_size: u64 },
}

/// The file name of the audit state of the log with `origin`:
/// `audit-<hex SHA-256 of the origin>.state`, so one directory can hold the
/// state of many logs and a name never needs escaping.
pub fn state_file_name(origin: &str) -> String {
    format!(
        "audit-{}.state",
        hex::encode(Sha256::digest(origin.as_bytes()))
    )
}

/// Decides what consistency check `new` needs against the `old` checkpoint
/// verified earlier. `Ok(None)`: none (first tree, or the very same tree);
/// `Ok(Some((old, new)))`: a consistency proof between those sizes must
/// verify ([`check_consistency_proof`]). A smaller tree, a different root at
/// the same size, or a non-empty root for size 0 is refused here.
pub fn consistency_step(
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
) -> Result<Option<(u64, u64)>, AuditFailure> {
    let (o, n) = (&old.checkpoint, &new.checkpoint);
    growth_step(o.size, &o.root, n.size, &n.root).map_err(|e| match e {
        GrowthError::Shrunk { .. } => AuditFailure::Shrunk {
            old_size: o.size,
            new_size: n.size,
            old_note: old.note.clone(),
            new_note: new.note.clone(),
        },
        other => AuditFailure::Fork {
            old_size: o.size,
            new_size: n.size,
            reason: match other {
                GrowthError::BadEmptyRoot => "the saved empty tree has a non-empty root".into(),
                other => other.to_string(),
            },
            old_note: old.note.clone(),
            new_note: new.note.clone(),
        },
    })
}

/// Verifies the consistency proof (built by the auditor from tiles) between
/// the old and new checkpoints; a proof that does not verify is a fork.
pub fn check_consistency_proof(
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
    proof: &[Hash],
) -> Result<(), AuditFailure> {
    let (o, n) = (&old.checkpoint, &new.checkpoint);
    verify_consistency(o.size, n.size, &o.root, &n.root, proof).map_err(|e| AuditFailure::Fork {
        old_size: o.size,
        new_size: n.size,
        reason: format!("consistency proof from the tiles: {e}"),
        old_note: old.note.clone(),
        new_note: new.note.clone(),
    })
}

/// Checks that `entry` (bytes read from an entry bundle) at `index` is a
/// valid statement of `tenant` for `date`, signed by `tenant_key` if given,
/// and included under `checkpoint` with `proof` (built from hash tiles).
///
/// Invariant on success: the returned statement is exactly what the log
/// committed to at `index` under the verified checkpoint.
pub fn check_entry(
    entry: &[u8],
    index: u64,
    proof: &[Hash],
    checkpoint: &Checkpoint,
    tenant: &str,
    date: time::Date,
    tenant_key: Option<&Verifier>,
) -> Result<Statement, AuditFailure> {
    if index >= checkpoint.size {
        return Err(AuditFailure::NotYetCovered {
            index,
            size: checkpoint.size,
        });
    }
    // Inclusion first: a statement that is not in the tree is not the log's
    // word at all, whatever it says.
    check_included(entry, index, proof, checkpoint)?;
    let (note, statement) = parse_submission(entry).map_err(|e| AuditFailure::Statement {
        index,
        reason: e.to_string(),
    })?;
    if statement.tenant != tenant || statement.date != date {
        return Err(AuditFailure::WrongEntry {
            index,
            reason: format!(
                "it is tenant {}'s statement for {}, not tenant {tenant}'s for {}",
                statement.tenant,
                statement.date_string(),
                format_date(date)
            ),
        });
    }
    if let Some(key) = tenant_key {
        verify_tenant_signatures(&note, tenant, std::slice::from_ref(key))
            .map_err(|e| AuditFailure::TenantSignature(e.to_string()))?;
    }
    Ok(statement)
}

/// The entry at `index` is included under `checkpoint` by `proof`.
fn check_included(
    entry: &[u8],
    index: u64,
    proof: &[Hash],
    checkpoint: &Checkpoint,
) -> Result<(), AuditFailure> {
    verify_inclusion(
        index,
        checkpoint.size,
        &leaf_hash(entry),
        proof,
        &checkpoint.root,
    )
    .map_err(|e| AuditFailure::Inclusion {
        index,
        size: checkpoint.size,
        reason: e.to_string(),
    })
}

/// Checks a key-change entry fetched from the log: included at `index` under
/// `checkpoint`, signed by the log's key, about `tenant`. The rule is the
/// core crate's ([`crate::verify::check_key_change`]), shared with receipts
/// and the browser page.
pub fn check_key_change(
    entry: &[u8],
    index: u64,
    proof: &[Hash],
    checkpoint: &Checkpoint,
    log_key: &Verifier,
    tenant: &str,
) -> Result<KeyChange, AuditFailure> {
    crate::verify::check_key_change(entry, index, proof, checkpoint, log_key, tenant)
        .map_err(AuditFailure::from)
}

/// How a statement's signature stands against the tenant's key history.
pub use crate::verify::KeyVerdict;

/// The tenant-key rule for the statement at `index`
/// ([`crate::verify::check_statement_keys`]): a key whose signature on
/// `note` verifies must have been added before `index` and not retired or
/// revoked before it, and must not have been revoked with effect on or
/// before the statement's date. `record` is the tenant as its key-change
/// entries up to the checkpoint leave it.
pub fn check_statement_keys(
    note: &Note,
    statement: &Statement,
    index: u64,
    record: &TenantRecord,
) -> Result<KeyVerdict, AuditFailure> {
    crate::verify::check_statement_keys(note, statement, index, record).map_err(AuditFailure::from)
}

/// The tenant and date of an entry, if it is a well-formed statement (used
/// when scanning entry bundles; scanned entries are checked in full later).
pub fn statement_key(entry: &[u8]) -> Option<(String, time::Date)> {
    parse_submission(entry)
        .ok()
        .map(|(_, s)| (s.tenant, s.date))
}

/// Parses a 32-byte hash given as 64 hex digits (either case) or canonical
/// standard base64, ignoring surrounding whitespace. The one parser of every
/// hash a user types: `rootlog root`'s input lines, `--root`, `--chain`,
/// `--expect-root`. (The two spellings cannot be confused: 64 characters
/// against 44.)
pub fn parse_hash(text: &str) -> Option<Hash> {
    let text = text.trim();
    if text.len() == 64 {
        if let Ok(bytes) = hex::decode(text) {
            return bytes.try_into().ok();
        }
    }
    crate::note::decode_hash_b64(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::EMPTY_ROOT;
    use crate::merkle::{inclusion_plan, Frontier};
    use crate::note::encode_b64;
    use crate::note::{Note, Signer};

    fn signed(signer: &Signer, size: u64, root: Hash) -> VerifiedCheckpoint {
        let checkpoint = Checkpoint::new("example.org/log", size, root);
        let mut note = Note::new(checkpoint.to_text());
        note.signatures.push(signer.sign(note.text.as_bytes()));
        VerifiedCheckpoint {
            checkpoint,
            note: note.to_text(),
            cosigners: Vec::new(),
        }
    }

    #[test]
    fn consistency_steps() {
        let s = Signer::generate("example.org/log").unwrap();
        let mut tree = Frontier::new();
        let empty = signed(&s, 0, EMPTY_ROOT);
        tree.append(leaf_hash(b"a"), |_, _| {});
        let one = signed(&s, 1, tree.root());
        tree.append(leaf_hash(b"b"), |_, _| {});
        let two = signed(&s, 2, tree.root());
        assert_eq!(consistency_step(&empty, &two), Ok(None));
        assert_eq!(consistency_step(&two, &two), Ok(None));
        assert_eq!(consistency_step(&one, &two), Ok(Some((1, 2))));
        let shrunk = consistency_step(&two, &one).unwrap_err();
        assert!(matches!(shrunk, AuditFailure::Shrunk { .. }));
        // Both checkpoints are in the message, so the evidence is printed.
        assert!(shrunk.to_string().contains(&two.note));
        assert!(shrunk.to_string().contains(&one.note));
        let forked = signed(&s, 2, leaf_hash(b"other"));
        let fork = consistency_step(&forked, &two).unwrap_err();
        assert!(fork.to_string().contains("FORKED"), "{fork}");
        let bad_empty = signed(&s, 0, leaf_hash(b"x"));
        assert!(consistency_step(&bad_empty, &two).is_err());
        assert!(check_consistency_proof(&one, &two, &[leaf_hash(b"b")]).is_ok());
        assert!(check_consistency_proof(&one, &two, &[leaf_hash(b"c")]).is_err());
    }

    #[test]
    fn entries_are_checked_against_what_was_asked() {
        let tenant = Signer::generate("acme").unwrap();
        let date = crate::statement::parse_date("2026-11-24").unwrap();
        let text = Statement {
            tenant: "acme".into(),
            date,
            records: 0,
            root: EMPTY_ROOT,
            chain: None,
        }
        .to_text();
        let mut note = Note::new(text);
        note.signatures.push(tenant.sign(note.text.as_bytes()));
        let entry = note.to_text().into_bytes();
        let mut tree = Frontier::new();
        tree.append(leaf_hash(b"first"), |_, _| {});
        tree.append(leaf_hash(&entry), |_, _| {});
        let checkpoint = Checkpoint::new("example.org/log", 2, tree.root());
        let plan = inclusion_plan(1, 2).unwrap();
        let proof = plan.assemble(&[leaf_hash(b"first")]).unwrap();
        let key = tenant.verifier();
        assert!(check_entry(&entry, 1, &proof, &checkpoint, "acme", date, Some(&key)).is_ok());
        let other_day = crate::statement::parse_date("2026-11-23").unwrap();
        assert!(matches!(
            check_entry(&entry, 1, &proof, &checkpoint, "acme", other_day, None),
            Err(AuditFailure::WrongEntry { .. })
        ));
        assert!(matches!(
            check_entry(&entry, 0, &proof, &checkpoint, "acme", date, None),
            Err(AuditFailure::Inclusion { .. })
        ));
        assert!(matches!(
            check_entry(&entry, 2, &proof, &checkpoint, "acme", date, None),
            Err(AuditFailure::NotYetCovered { .. })
        ));
        let stranger = Signer::generate("acme").unwrap().verifier();
        assert!(matches!(
            check_entry(
                &entry,
                1,
                &proof,
                &checkpoint,
                "acme",
                date,
                Some(&stranger)
            ),
            Err(AuditFailure::TenantSignature(_))
        ));
    }

    #[test]
    fn hashes_in_hex_or_base64() {
        let h = leaf_hash(b"x");
        assert_eq!(parse_hash(&hex::encode(h)), Some(h));
        assert_eq!(parse_hash(&encode_b64(&h)), Some(h));
        assert_eq!(parse_hash("zz"), None);
        assert_eq!(
            state_file_name("example.org/log").len(),
            "audit-".len() + 64 + ".state".len()
        );
    }
}

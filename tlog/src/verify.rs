//! Offline verification of a daily-root statement with its tlog-proof file:
//! what an auditor runs years later, trusting only keys.
//!
//! Order of checks: the statement parses (and, given the tenant's key, its
//! signature verifies); the checkpoint carries a valid log signature and the
//! expected origin; enough of the trusted witnesses cosigned it; the
//! statement's leaf hash is included at the stated index under its root.
//! Pure logic: the caller reads the files.
//!
//! The tenant-key rule as applied to evidence ([`check_key_change`],
//! [`check_statement_keys`]) lives here too, so the CLI's online audit, its
//! receipts and the browser page apply one rule by one code path.
//!
//! *Verify* here means the offline check of one statement from files and
//! keys alone; *audit* (`rootlog::audit`, `rootlog audit`) is the online
//! check against a log or its mirror, remembering the last checkpoint seen.

use crate::merkle::{leaf_hash, verify_inclusion, Hash};
use crate::note::{open_checkpoint, Checkpoint, Note, OpenCheckpointError, Verifier};
use crate::statement::{parse_submission, verify_tenant_signatures, Statement};
use crate::tenant_key::{may_sign_at, revoked_for_date, KeyChange, TenantRecord};
use crate::tlogproof::TlogProof;

/// What to check a statement and proof against.
pub struct Trust<'a> {
    pub log_key: &'a Verifier,
    /// The log's origin; defaults to the log key's name (rootlog names its key after its origin).
    pub origin: Option<&'a str>,
    /// Trusted witnesses' cosignature verifiers.
    pub witnesses: &'a [Verifier],
    /// Distinct trusted witnesses that must have cosigned.
    pub quorum: usize,
    /// The tenant's key, to check the statement's signature too.
    pub tenant_key: Option<&'a Verifier>,
}

/// Everything that was verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub statement: Statement,
    pub index: u64,
    pub checkpoint: Checkpoint,
    /// Names of the trusted witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
    pub tenant_signature_checked: bool,
}

/// What failed, in words an auditor can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    #[error("the statement is not a valid daily-root statement: {0}")]
    Statement(String),
    #[error("the statement's signature does not verify with the tenant key: {0}")]
    TenantSignature(String),
    #[error("the checkpoint is not signed by the log key: {0}")]
    LogSignature(String),
    #[error("the checkpoint is for origin {found:?}, not {expected:?}")]
    Origin { expected: String, found: String },
    #[error("the cosignature of witness {0} does not verify")]
    Cosignature(String),
    #[error(
        "witness quorum not met: {got} of the trusted witnesses cosigned ({names}), {need} needed"
    )]
    Quorum {
        got: usize,
        need: usize,
        names: String,
    },
    #[error(
        "the statement is not included at index {index} in the checkpoint of size {size}: {reason}"
    )]
    Inclusion {
        index: u64,
        size: u64,
        reason: String,
    },
}

/// A checkpoint whose log signature, origin and witness quorum verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The signed note exactly as received (log signature and cosignatures).
    pub note: String,
    /// Names of the trusted witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
}

/// Verifies a signed checkpoint note under `trust` (the tenant key is not
/// used): the log key signed it, its origin is the expected one, and at
/// least `trust.quorum` distinct trusted witnesses cosigned it. A trusted
/// witness's cosignature that is present but does not verify is an error,
/// not merely uncounted, because it means someone altered the note.
pub fn verify_checkpoint_note(
    note_text: &str,
    trust: &Trust<'_>,
) -> Result<VerifiedCheckpoint, VerifyFailure> {
    let expected = trust.origin.unwrap_or(trust.log_key.name());
    let (cp_note, checkpoint) =
        open_checkpoint(note_text.as_bytes(), trust.log_key, Some(expected)).map_err(
            |e| match e {
                OpenCheckpointError::Origin { expected, found } => {
                    VerifyFailure::Origin { expected, found }
                }
                e => VerifyFailure::LogSignature(e.to_string()),
            },
        )?;

    let mut cosigners = Vec::new();
    for witness in trust.witnesses {
        let Some(sig) = cp_note.signatures.iter().find(|s| witness.matches(s)) else {
            continue;
        };
        if !witness.verify(cp_note.text.as_bytes(), &sig.signature) {
            return Err(VerifyFailure::Cosignature(witness.name().to_string()));
        }
        if !cosigners.iter().any(|n| n == witness.name()) {
            cosigners.push(witness.name().to_string());
        }
    }
    if cosigners.len() < trust.quorum {
        return Err(VerifyFailure::Quorum {
            got: cosigners.len(),
            need: trust.quorum,
            names: if cosigners.is_empty() {
                "none".into()
            } else {
                cosigners.join(", ")
            },
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: note_text.to_string(),
        cosigners,
    })
}

/// Verifies `statement` (the exact note bytes) with `proof` under `trust`.
pub fn verify_statement(
    statement: &[u8],
    proof: &TlogProof,
    trust: &Trust<'_>,
) -> Result<Verified, VerifyFailure> {
    let (note, parsed) =
        parse_submission(statement).map_err(|e| VerifyFailure::Statement(e.to_string()))?;
    if let Some(key) = trust.tenant_key {
        verify_tenant_signatures(&note, &parsed.tenant, std::slice::from_ref(key))
            .map_err(|e| VerifyFailure::TenantSignature(e.to_string()))?;
    }

    let VerifiedCheckpoint {
        checkpoint,
        cosigners,
        ..
    } = verify_checkpoint_note(&proof.checkpoint, trust)?;

    verify_inclusion(
        proof.index,
        checkpoint.size,
        &leaf_hash(statement),
        &proof.inclusion_proof,
        &checkpoint.root,
    )
    .map_err(|e| VerifyFailure::Inclusion {
        index: proof.index,
        size: checkpoint.size,
        reason: e.to_string(),
    })?;
    Ok(Verified {
        statement: parsed,
        index: proof.index,
        checkpoint,
        cosigners,
        tenant_signature_checked: trust.tenant_key.is_some(),
    })
}

/// What a verifier holds about one statement, whether it came from a proof
/// file, a receipt, or the log's tiles: the entry bytes, where they are, the
/// checkpoint they are proven into, and what is known of the tenant's keys.
pub struct StatementEvidence<'a> {
    /// The entry exactly as logged (the signed statement note).
    pub entry: &'a [u8],
    pub index: u64,
    /// The signed checkpoint note (with cosignatures) it is proven into.
    pub checkpoint: &'a str,
    pub inclusion_proof: &'a [crate::merkle::Hash],
    /// The tenant and day asked for (audit, export): the entry must be theirs.
    pub expected: Option<(&'a str, time::Date)>,
    /// The tenant as its key-change entries, verified under the same log,
    /// leave it; None when the key history is not at hand.
    pub key_history: Option<&'a crate::tenant_key::TenantRecord>,
}

/// A statement with its `c2sp.org/tlog-proof@v1` file, judged by
/// [`judge_statement`] as `rootlog verify --statement --proof` and the
/// page's `verifyStatement` do (no expected tenant or day, no key
/// history); Err when the proof file does not parse, for the caller's
/// `proof` check.
pub fn judge_with_proof_file(
    statement: &[u8],
    proof: &[u8],
    trust: &Trust<'_>,
    max_delay: crate::timebound::MaxDelay,
) -> Result<crate::verdict::StatementReport, crate::tlogproof::TlogProofError> {
    let parsed = TlogProof::parse(proof)?;
    let evidence = StatementEvidence {
        entry: statement,
        index: parsed.index,
        checkpoint: &parsed.checkpoint,
        inclusion_proof: &parsed.inclusion_proof,
        expected: None,
        key_history: None,
    };
    Ok(judge_statement(&evidence, trust, max_delay).0)
}

/// The one rule every verifier applies to a statement, as checks of a
/// [`StatementReport`]: the entry is a statement (the one asked for); the
/// checkpoint is the log's and meets the witness quorum; the entry is
/// included under it; a key that could sign at its index signed it (by the
/// key history, and by `trust.tenant_key` as a cross-check when given); and
/// when it was logged, judged against `max_delay`. Returns the report and
/// the statement when it parsed.
pub fn judge_statement(
    evidence: &StatementEvidence<'_>,
    trust: &Trust<'_>,
    max_delay: crate::timebound::MaxDelay,
) -> (crate::verdict::StatementReport, Option<Statement>) {
    use crate::verdict::{Check, StatementReport};
    let (tenant, date) = evidence
        .expected
        .map(|(t, d)| (t.to_string(), crate::statement::format_date(d)))
        .unwrap_or_default();
    let mut report = StatementReport::new(&tenant, &date);
    report.index = Some(evidence.index);
    let (note, statement) = match parse_submission(evidence.entry) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.checks.push(Check::fail(
                "statement",
                format!(
                    "entry {} is not a daily-root statement: {e}",
                    evidence.index
                ),
            ));
            return (report, None);
        }
    };
    report.tenant = statement.tenant.clone();
    report.date = statement.date_string();
    report.records = Some(statement.records);
    report.root = Some(crate::note::encode_b64(&statement.root));
    report.chain = statement
        .chain
        .as_ref()
        .map(|c| format!("{} {}", c.seq, crate::note::encode_b64(&c.hash)));
    if let Some((t, d)) = evidence.expected {
        if statement.tenant != t || statement.date != d {
            report.checks.push(Check::fail(
                "statement",
                format!(
                    "entry {} is tenant {}'s statement for {}, not tenant {t}'s for {}",
                    evidence.index,
                    statement.tenant,
                    statement.date_string(),
                    crate::statement::format_date(d)
                ),
            ));
            return (report, Some(statement));
        }
    }
    let checkpoint = match verify_checkpoint_note(evidence.checkpoint, trust) {
        Ok(verified) => verified,
        Err(e) => {
            report.checks.push(Check::fail("checkpoint", e.to_string()));
            return (report, Some(statement));
        }
    };
    let cp = &checkpoint.checkpoint;
    report.checks.push(Check::pass(
        "checkpoint",
        if trust.witnesses.is_empty() {
            format!("the log's checkpoint of size {} (no witnesses required)", cp.size)
        } else {
            format!(
                "the log's checkpoint of size {}, cosigned by {} of {} trusted witnesses ({}); quorum {} met",
                cp.size,
                checkpoint.cosigners.len(),
                trust.witnesses.len(),
                checkpoint.cosigners.join(", "),
                trust.quorum
            )
        },
    ));
    match verify_inclusion(
        evidence.index,
        cp.size,
        &leaf_hash(evidence.entry),
        evidence.inclusion_proof,
        &cp.root,
    ) {
        Ok(()) => report.checks.push(Check::pass(
            "inclusion",
            format!("entry {} is included under it", evidence.index),
        )),
        Err(e) => {
            report.checks.push(Check::fail(
                "inclusion",
                format!(
                    "the statement is not included at index {} in the checkpoint of size {}: {e}",
                    evidence.index, cp.size
                ),
            ));
            return (report, Some(statement));
        }
    }
    match evidence.key_history {
        Some(record) => report.checks.push(
            match check_statement_keys(&note, &statement, evidence.index, record) {
                Ok(v) => Check::pass(
                    "tenant_keys",
                    format!(
                        "signed by {}, added at entry {} and able to sign at entry {}",
                        v.vkey, v.added_index, evidence.index
                    ),
                ),
                Err(e) => Check::fail("tenant_keys", e.to_string()),
            },
        ),
        None if trust.tenant_key.is_none() => report.checks.push(Check::unknown(
            "tenant_keys",
            "the tenant's key history is not at hand: give --tenant-key, or verify a receipt (which carries it) or against the log",
        )),
        None => {}
    }
    if let Some(key) = trust.tenant_key {
        report.checks.push(
            match verify_tenant_signatures(&note, &statement.tenant, std::slice::from_ref(key)) {
                Ok(_) => Check::pass(
                    "tenant_signature",
                    format!("signed by the tenant key {}", key.vkey()),
                ),
                Err(e) => Check::fail(
                    "tenant_signature",
                    format!(
                        "the statement's signature does not verify with the tenant key {} (--tenant-key): {e}",
                        key.vkey()
                    ),
                ),
            },
        );
    }
    let bound = Note::parse(evidence.checkpoint.as_bytes())
        .ok()
        .and_then(|n| {
            crate::timebound::logged_by(&n, trust.witnesses, trust.quorum, trust.log_key)
        });
    report.judge_time(statement.date, bound, max_delay);
    (report, Some(statement))
}

/// Why a key-change entry or a statement's keys failed the tenant-key rule.
/// The words are those of `rootlog::audit::AuditFailure`, which converts
/// from this, so the CLI and the page say the same thing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyCheckFailure {
    #[error(
        "entry {index} is not included in the checkpoint of size {size} (proof built from tiles): {reason}"
    )]
    Inclusion {
        index: u64,
        size: u64,
        reason: String,
    },
    #[error("key-change entry {index} does not verify: {reason}")]
    KeyChange { index: u64, reason: String },
    #[error("tenant keys: {0}")]
    TenantKeys(String),
}

/// Checks a key-change entry: included at `index` under `checkpoint`,
/// signed by the log's key, about `tenant`.
pub fn check_key_change(
    entry: &[u8],
    index: u64,
    proof: &[Hash],
    checkpoint: &Checkpoint,
    log_key: &Verifier,
    tenant: &str,
) -> Result<KeyChange, KeyCheckFailure> {
    let bad = |reason: String| KeyCheckFailure::KeyChange { index, reason };
    verify_inclusion(
        index,
        checkpoint.size,
        &leaf_hash(entry),
        proof,
        &checkpoint.root,
    )
    .map_err(|e| KeyCheckFailure::Inclusion {
        index,
        size: checkpoint.size,
        reason: e.to_string(),
    })?;
    let note = Note::parse(entry).map_err(|e| bad(e.to_string()))?;
    crate::note::open(&note, std::slice::from_ref(log_key))
        .map_err(|_| bad("it is not signed by the log's key".into()))?;
    let change = KeyChange::parse_text(&note.text).map_err(|e| bad(e.to_string()))?;
    if change.tenant != tenant {
        return Err(bad(format!(
            "it is about tenant {}, not {tenant}",
            change.tenant
        )));
    }
    Ok(change)
}

/// How a statement's signature stands against the tenant's key history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVerdict {
    /// The key that may sign at the statement's index and signed it.
    pub vkey: String,
    /// The index of the entry that added it.
    pub added_index: u64,
}

/// The tenant-key rule for the statement at `index`: a key whose signature
/// on `note` verifies must have been added before `index` and not retired or
/// revoked before it, and must not have been revoked with effect on or before
/// the statement's date (a compromised key's statements are not relied on,
/// wherever they stand). `record` is the tenant as its key-change entries up
/// to the checkpoint leave it.
pub fn check_statement_keys(
    note: &Note,
    statement: &Statement,
    index: u64,
    record: &TenantRecord,
) -> Result<KeyVerdict, KeyCheckFailure> {
    let mut why = Vec::new();
    let mut revoked = Vec::new();
    for key in &record.keys {
        let Ok(verifier) = Verifier::from_vkey(&key.vkey) else {
            continue;
        };
        if verify_tenant_signatures(note, &statement.tenant, std::slice::from_ref(&verifier))
            .is_err()
        {
            continue;
        }
        if let Err(e) = may_sign_at(record, &key.vkey, index) {
            why.push(e.to_string());
            continue;
        }
        if let Some(at) = revoked_for_date(record, &key.vkey, statement.date) {
            revoked.push(format!(
                "{} was revoked with effect from {at} (entry {}), on or before the statement's date",
                key.vkey,
                key.changed_index.unwrap_or_default()
            ));
            continue;
        }
        return Ok(KeyVerdict {
            vkey: key.vkey.clone(),
            added_index: key.added_index,
        });
    }
    let mut reasons = revoked;
    reasons.extend(why);
    if reasons.is_empty() {
        reasons.push(format!(
            "no key the log ever published for tenant {} signed it",
            statement.tenant
        ));
    }
    Err(KeyCheckFailure::TenantKeys(format!(
        "the statement at index {index} is signed by no key that could sign it there: {}",
        reasons.join("; ")
    )))
}

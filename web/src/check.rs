//! The page's checks as plain Rust, tested natively: a receipt, a statement
//! with its proof file, and one day of the calendar. Each builds the same
//! `rootlog_tlog::verdict::Report` the CLI builds, from the same functions
//! (`Receipt::judge`, `judge_statement`), and prints it as the same
//! `rootlog-verdict/v1` document. Err is the page's bad usage (malformed
//! trust settings or evidence JSON), never a verdict.

use rootlog_tlog::export::verdict::{judge_from_receipts, manifest_checks};
use rootlog_tlog::export::{check_manifest_json, LoadError};
use rootlog_tlog::merkle::check_growth;
use rootlog_tlog::note::{encode_b64, Verifier};
use rootlog_tlog::receipt::{decode_proof, replay_key_history, KeyChangeProof, Receipt};
use rootlog_tlog::statement::parse_date;
use rootlog_tlog::tlogproof::TlogProof;
use rootlog_tlog::verdict::{Check, CheckpointReport, Outcome, Report, StatementReport, Verdict};
use rootlog_tlog::verify::{
    judge_statement, judge_with_proof_file, verify_checkpoint_note, StatementEvidence, Trust,
    VerifiedCheckpoint,
};
use serde::{Deserialize, Serialize};

use crate::settings::Keys;

/// `rootlog verify --receipt FILE --json`, with the receipt's text.
pub fn verify_receipt(receipt: &str, trust: &str) -> Result<String, String> {
    let keys = Keys::from_json(trust)?;
    let mut report = Report::new("verify", keys.max_delay);
    match Receipt::parse(receipt.as_bytes()) {
        Ok(r) => report
            .statements
            .push(r.judge(&keys.trust(), keys.max_delay)),
        Err(e) => report
            .checks
            .push(Check::fail("receipt", format!("the receipt: {e}"))),
    }
    Ok(report.finish().json())
}

/// `rootlog verify --statement FILE --proof FILE --json`, with the texts.
pub fn verify_statement(statement: &str, proof: &str, trust: &str) -> Result<String, String> {
    let keys = Keys::from_json(trust)?;
    let mut report = Report::new("verify", keys.max_delay);
    match judge_with_proof_file(
        statement.as_bytes(),
        proof.as_bytes(),
        &keys.trust(),
        keys.max_delay,
    ) {
        Ok(judged) => report.statements.push(judged),
        Err(e) => report
            .checks
            .push(Check::fail("proof", format!("the proof file: {e}"))),
    }
    Ok(report.finish().json())
}

/// A file dropped on the page: its name (for the report) and its text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DroppedFile {
    pub name: String,
    pub text: String,
}

/// `rootlog verify-export MANIFEST --receipts DIR --json`, with the
/// manifest's text and the receipts dropped beside it (a JSON array of
/// [`DroppedFile`]; files that are not receipts are ignored, as in a
/// directory): the manifest's chain, and every day from its receipt,
/// offline.
pub fn verify_export(manifest: &str, receipts: &str, trust: &str) -> Result<String, String> {
    let keys = Keys::from_json(trust)?;
    let files: Vec<DroppedFile> =
        serde_json::from_str(receipts).map_err(|e| format!("receipt files: {e}"))?;
    Ok(export_report(manifest, files, &keys).json())
}

/// [`verify_export`]'s finished report.
fn export_report(manifest: &str, files: Vec<DroppedFile>, keys: &Keys) -> Report {
    let mut report = Report::new("verify-export", keys.max_delay);
    let (header, check) = match check_manifest_json(manifest.as_bytes(), 1) {
        Ok(read) => read,
        Err(LoadError::Json(e)) => {
            report.checks.push(Check::fail(
                "export_manifest",
                format!("the file is not an export manifest: {e}"),
            ));
            return report.finish();
        }
        Err(LoadError::Manifest(e)) => {
            report
                .checks
                .push(Check::fail("export_manifest", e.to_string()));
            return report.finish();
        }
    };
    manifest_checks(&header, &check, None, &mut report);
    let parsed = files
        .into_iter()
        .filter_map(|f| Some((f.name, Receipt::parse(f.text.as_bytes()).ok()?)))
        .collect();
    judge_from_receipts(
        &check,
        parsed,
        "the files given",
        &keys.trust(),
        keys.max_delay,
        &mut report,
    );
    report.finish()
}

/// The files dropped on the page, checked with no network at all
/// (`rootlog-web-files/v1`): with an export manifest among them, the
/// export from its receipts ([`verify_export`]); otherwise every receipt,
/// as `rootlog verify --receipt` judges one. `data_verdict` is the page's
/// word for the whole, each of `days` its word for one statement.
pub fn verify_files(files: &str, trust: &str) -> Result<String, String> {
    let keys = Keys::from_json(trust)?;
    let files: Vec<DroppedFile> = serde_json::from_str(files).map_err(|e| format!("files: {e}"))?;
    if files.is_empty() {
        return Err("no files given".into());
    }
    let is_manifest = |f: &DroppedFile| {
        serde_json::from_str::<serde_json::Value>(&f.text)
            .is_ok_and(|v| v.get("schema_version").is_some() && v.get("records").is_some())
    };
    if files.iter().filter(|f| is_manifest(f)).count() > 1 {
        return Err("more than one export manifest given: check one export at a time".into());
    }
    let (kind, report) = match files.iter().position(is_manifest) {
        Some(at) => {
            let mut files = files;
            let manifest = files.remove(at);
            ("export", export_report(&manifest.text, files, &keys))
        }
        None => {
            let mut report = Report::new("verify", keys.max_delay);
            for file in &files {
                match Receipt::parse(file.text.as_bytes()) {
                    Ok(r) => report
                        .statements
                        .push(r.judge(&keys.trust(), keys.max_delay)),
                    Err(e) => report.checks.push(Check::fail(
                        "receipt",
                        format!("{}: not a receipt or an export manifest: {e}", file.name),
                    )),
                }
            }
            ("receipts", report.finish())
        }
    };
    let days: Vec<serde_json::Value> = report
        .statements
        .iter()
        .map(|s| {
            serde_json::json!({
                "tenant": s.tenant,
                "date": s.date,
                "data_verdict": statement_verdict(s),
                "failed": s.checks.iter().filter(|c| c.result == Outcome::Fail).map(|c| c.check).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "schema": "rootlog-web-files/v1",
        "kind": kind,
        "data_verdict": data_verdict(&report),
        "days": days,
        "report": report,
    }))
    .map_err(|e| format!("cannot encode the result: {e}"))
}

/// The page's word for one judged statement: `not-verified` when a check
/// other than the time bound failed, `late` when only that did, else
/// `unchecked` when a check could not be made, else `verified`.
pub fn statement_verdict(s: &StatementReport) -> &'static str {
    let failed = |c: &&Check| c.result == Outcome::Fail;
    if s.checks
        .iter()
        .filter(failed)
        .any(|c| c.check != "time_bound")
    {
        "not-verified"
    } else if s.is_late() {
        "late"
    } else if s.checks.iter().any(|c| c.result == Outcome::Unknown) {
        "unchecked"
    } else {
        "verified"
    }
}

/// What the page fetched (from the log or a mirror) for one tenant's day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayEvidence {
    /// The tenant and day looked up: the statement must be theirs.
    pub tenant: String,
    pub date: String,
    /// The statement note exactly as logged, at `index`.
    pub statement: String,
    pub index: u64,
    /// Base64 hashes, leaf side first, into `checkpoint`.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note (with cosignatures) it is proven into:
    /// best the earliest witnessed one covering it, whose times bound when
    /// it was logged most tightly.
    pub checkpoint: String,
    /// The tenant's key-change entries below the checkpoint's size, each
    /// with its inclusion proof into `checkpoint`; absent when not fetched
    /// (the key rule is then "could not check").
    #[serde(default)]
    pub key_history: Option<Vec<KeyChangeProof>>,
    /// The last checkpoint this browser verified for the log, with a
    /// consistency proof between it and `checkpoint` (from the smaller tree
    /// to the larger).
    #[serde(default)]
    pub previous: Option<Previous>,
}

/// A checkpoint verified before, remembered by the browser.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    pub checkpoint: String,
    #[serde(default)]
    pub consistency_proof: Vec<String>,
}

/// The answer for one day (`rootlog-web-day/v1`).
#[derive(Debug, Clone, Serialize)]
pub struct DayResult {
    pub schema: &'static str,
    pub tenant: String,
    pub date: String,
    /// The page's `data-verdict` for the day (DESIGN.md §7a): `verified`,
    /// `late`, `not-verified` or `unchecked` (`missing` is the page's own:
    /// it has no statement to give here).
    pub data_verdict: &'static str,
    /// The checkpoint note the browser should remember as the last it
    /// verified (the larger of `checkpoint` and `previous`), when the
    /// checkpoint and consistency checks passed; None otherwise.
    pub remember: Option<String>,
    /// The names of the checks that failed (`inclusion`, `tenant_keys`,
    /// ...), for the page to name them.
    pub failed: Vec<&'static str>,
    /// The verdict document, as `rootlog verify --json` prints it.
    pub report: Report,
}

/// One day of the calendar: the statement judged by the CLI's rule (the
/// tenant's for that day, the log's checkpoint with its witness quorum,
/// included, signed under the key history, on time), and the checkpoint
/// consistent with the one this browser verified before.
pub fn check_day(evidence: &str, trust: &str) -> Result<String, String> {
    let keys = Keys::from_json(trust)?;
    let day: DayEvidence =
        serde_json::from_str(evidence).map_err(|e| format!("day evidence: {e}"))?;
    let result = judge_day(&day, &keys)?;
    serde_json::to_string_pretty(&result).map_err(|e| format!("cannot encode the result: {e}"))
}

/// [`check_day`] on parsed input.
pub fn judge_day(day: &DayEvidence, keys: &Keys) -> Result<DayResult, String> {
    let date =
        parse_date(&day.date).ok_or_else(|| format!("date {:?}: not YYYY-MM-DD", day.date))?;
    let trust = keys.trust();
    let mut report = Report::new("page", keys.max_delay);

    let current = verify_checkpoint_note(&day.checkpoint, &trust).ok();
    if let Some(cp) = &current {
        report.checkpoint = Some(CheckpointReport {
            origin: cp.checkpoint.origin.clone(),
            size: cp.checkpoint.size,
            root: encode_b64(&cp.checkpoint.root),
            cosigners: cp.cosigners.clone(),
        });
    }
    // A checkpoint that does not verify is reported by the judged statement;
    // one that does is remembered once it is consistent with the last one.
    let mut remember = None;
    if let Some(cp) = &current {
        let (check, keep) = consistency(cp, day.previous.as_ref(), &keys.log_key);
        report.checks.push(check);
        remember = keep;
    }

    let inclusion_proof = decode_proof(&day.inclusion_proof);
    let history = day
        .key_history
        .as_ref()
        .map(|entries| replay_key_history(entries, &day.checkpoint, &keys.log_key, &day.tenant));
    let evidence = StatementEvidence {
        entry: day.statement.as_bytes(),
        index: day.index,
        checkpoint: &day.checkpoint,
        inclusion_proof: inclusion_proof.as_deref().unwrap_or(&[]),
        expected: Some((&day.tenant, date)),
        key_history: history.as_ref().and_then(|h| h.as_ref().ok()),
    };
    let (mut judged, _) = judge_statement(&evidence, &trust, keys.max_delay);
    if inclusion_proof.is_none() {
        judged.checks.retain(|c| c.check != "inclusion");
        judged.checks.push(Check::fail(
            "inclusion",
            "a hash of the inclusion proof is not base64 of 32 bytes",
        ));
    }
    if let Some(Err(why)) = history {
        // The key rule was not applied; say why instead of "not at hand".
        judged.checks.retain(|c| c.check != "tenant_keys");
        judged.checks.push(Check::fail("tenant_keys", why));
    }
    report.statements.push(judged);
    let report = report.finish();
    let data_verdict = data_verdict(&report);
    let failed = report
        .checks
        .iter()
        .chain(report.statements.iter().flat_map(|s| s.checks.iter()))
        .filter(|c| c.result == Outcome::Fail)
        .map(|c| c.check)
        .collect();
    Ok(DayResult {
        schema: "rootlog-web-day/v1",
        tenant: day.tenant.clone(),
        date: day.date.clone(),
        data_verdict,
        remember,
        failed,
        report,
    })
}

/// The page's `data-verdict` for a finished report: `late` when the only
/// failures are late statements, else the verdict in the page's words.
/// A late statement accepted with max delay `none` is `verified`, as the
/// CLI's exit code 0 says (its `logged.late` still tells the page).
pub fn data_verdict(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Verified => "verified",
        Verdict::CouldNotCheck => "unchecked",
        Verdict::NotVerified => {
            let only_late = report.checks.iter().all(|c| c.result != Outcome::Fail)
                && report.statements.iter().any(|s| s.is_late())
                && report.statements.iter().all(|s| {
                    s.checks
                        .iter()
                        .all(|c| c.result != Outcome::Fail || c.check == "time_bound")
                });
            if only_late {
                "late"
            } else {
                "not-verified"
            }
        }
    }
}

/// The `consistency` check of `current` against the checkpoint this browser
/// verified before, and the note to remember if it passed. The earlier
/// checkpoint is verified again with the log key only (the witness policy
/// may have changed since; its signature is what ties it to this log).
fn consistency(
    current: &VerifiedCheckpoint,
    previous: Option<&Previous>,
    log_key: &Verifier,
) -> (Check, Option<String>) {
    let Some(previous) = previous else {
        return (
            Check::pass(
                "consistency",
                "no earlier checkpoint of this log was verified in this browser: this one is the first remembered",
            ),
            Some(current.note.clone()),
        );
    };
    let log_only = Trust {
        log_key,
        origin: Some(&current.checkpoint.origin),
        witnesses: &[],
        quorum: 0,
        tenant_key: None,
    };
    let before = match verify_checkpoint_note(&previous.checkpoint, &log_only) {
        Ok(b) => b,
        Err(e) => {
            return (
                Check::unknown(
                    "consistency",
                    format!("the checkpoint remembered by this browser does not verify ({e}); forget it to start again"),
                ),
                None,
            )
        }
    };
    let Some(proof) = decode_proof(&previous.consistency_proof) else {
        return (
            Check::fail(
                "consistency",
                "a hash of the consistency proof is not base64 of 32 bytes",
            ),
            None,
        );
    };
    let (old, new) = if before.checkpoint.size <= current.checkpoint.size {
        (&before, current)
    } else {
        (current, &before)
    };
    match check_growth(
        old.checkpoint.size,
        &old.checkpoint.root,
        new.checkpoint.size,
        &new.checkpoint.root,
        &proof,
    ) {
        Ok(()) => (
            Check::pass(
                "consistency",
                format!(
                    "the tree of size {} extends the one of size {} (one verified earlier in this browser)",
                    new.checkpoint.size, old.checkpoint.size
                ),
            ),
            Some(new.note.clone()),
        ),
        Err(why) => (
            Check::fail(
                "consistency",
                format!(
                    "the log's trees of sizes {} and {} are not one append-only history: {why}",
                    old.checkpoint.size, new.checkpoint.size
                ),
            ),
            None,
        ),
    }
}

/// A `c2sp.org/tlog-proof@v1` file as the parts [`DayEvidence`] takes:
/// `{"index", "inclusion_proof" (base64), "checkpoint"}`.
pub fn parse_proof(proof: &str) -> Result<String, String> {
    let parsed = TlogProof::parse(proof.as_bytes()).map_err(|e| format!("the proof file: {e}"))?;
    let hashes: Vec<String> = parsed
        .inclusion_proof
        .iter()
        .map(|h| encode_b64(h))
        .collect();
    Ok(serde_json::json!({
        "index": parsed.index,
        "inclusion_proof": hashes,
        "checkpoint": parsed.checkpoint,
    })
    .to_string())
}

/// The indexes of a tenant's key-change entries below `size`, from the
/// tenant record the log serves (`GET /v1/tenants/{id}`), as a JSON array:
/// the entries the page fetches, with their inclusion proofs, for the key
/// history. The record only says where to look; each entry is verified.
pub fn key_change_indexes(record: &str, size: u64) -> Result<String, String> {
    let record: rootlog_tlog::tenant_key::TenantRecord =
        serde_json::from_str(record).map_err(|e| format!("tenant record: {e}"))?;
    let indexes: Vec<u64> = record
        .change_indexes()
        .into_iter()
        .filter(|&i| i < size)
        .collect();
    serde_json::to_string(&indexes).map_err(|e| e.to_string())
}

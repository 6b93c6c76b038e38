//! `rootlog audit` (one tenant's statement for one day, online, with
//! consistency against the last checkpoint this auditor verified) and
//! `rootlog verify-export` (an archive's export manifest against the log,
//! or offline against the export's receipts).
//!
//! Both are audits: they check the log (or a mirror) as it answers now.
//! `rootlog verify`, the offline check of one statement with its proof
//! file (`rootlog::verify`), is not an audit; a witness, which cosigns
//! checkpoints, is the `witness/` crate.
//!
//! Both read the log only through its tlog-tiles read path (so a static
//! mirror works), keep the last verified checkpoint per log in a small state
//! file, and write that file only after everything verified. Every statement
//! is judged by the one rule of `rootlog::verify::judge_statement` (the
//! tenant's key history included), and the outcome is a
//! `rootlog::verdict::Report`: text or `--json`, exit 0 verified, 1 not
//! verified (late included), 3 could not check; exit 2 when the command
//! cannot be attempted (unreadable file, malformed key or argument).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use rootlog::audit::export::verdict::{compare, judge_from_receipts, manifest_checks};
use rootlog::audit::export::{check_manifest_json, LoadError, ManifestHeader};
use rootlog::audit::{parse_hash, state_file_name, AuditFailure, Consistency};
use rootlog::client::{Auditor, CheckpointAudit, Earliest, Lookup, StatementIndex};
use rootlog::note::encode_b64;
use rootlog::receipt::Receipt;
use rootlog::statement::{format_date, is_valid_tenant_id, parse_date, Statement};
use rootlog::tenant_key::TenantRecord;
use rootlog::timebound::MaxDelay;
use rootlog::verdict::{Check, CheckpointReport, Report, StatementReport};
use rootlog::verify::{judge_statement, StatementEvidence, Trust};

use super::keys::{emit, KeyArgs, Keys, VerdictArgs};
use super::runtime;

/// How `--lookup` finds a statement's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LookupArg {
    /// The log API if it answers; else (a static mirror) its locators, and
    /// a scan of the entry bundles for a day they do not find.
    Auto,
    /// Only the log API (GET /v1/roots/{tenant}/{date}).
    Api,
    /// Only the entry bundles (tile/entries/...), as a static mirror offers.
    Scan,
}

impl From<LookupArg> for Lookup {
    fn from(l: LookupArg) -> Lookup {
        match l {
            LookupArg::Auto => Lookup::Auto,
            LookupArg::Api => Lookup::Api,
            LookupArg::Scan => Lookup::Scan,
        }
    }
}

/// The log `audit` reads when neither `--log` nor `ROOTLOG_URL` names one.
const DEFAULT_LOG: &str = "http://127.0.0.1:8080";

/// What to trust a log with (shared by audit and verify-export).
#[derive(Args, Debug)]
pub struct LogTrustArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The file keeping the last checkpoint verified for this log
    /// [default: ~/.rootlog/audit-<hex SHA-256 of the origin>.state].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// How to find a statement's index: the log API, scanning the entry
    /// bundles, or auto (the API, else a mirror's locators, else a scan).
    #[arg(long, value_enum, default_value = "auto")]
    pub lookup: LookupArg,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The log's base URL, or a static tlog-tiles mirror of it.
    #[arg(long, default_value = DEFAULT_LOG, env = "ROOTLOG_URL")]
    pub log: String,
    #[command(flatten)]
    pub trust: LogTrustArgs,
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// The root the statement must carry (base64 or hex), e.g. from the archive's export.
    #[arg(long)]
    pub expect_root: Option<String>,
    #[command(flatten)]
    pub verdict: VerdictArgs,
}

#[derive(Args, Debug)]
pub struct VerifyExportArgs {
    /// The export manifest (JSON, schema_version "1.0"; see docs/export-manifest.md).
    pub manifest: PathBuf,
    /// The log's base URL, or a static tlog-tiles mirror of it [default: the
    /// manifest's chain_proof.published_to (the tlog-tiles URL prefix the
    /// archive published to), else http://127.0.0.1:8080].
    #[arg(long, env = "ROOTLOG_URL")]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: LogTrustArgs,
    /// Verify offline from the export's receipts in this directory (one
    /// `rootlog-receipt/v1` file per day, any name): no log or mirror is read.
    #[arg(long, value_name = "DIR")]
    pub receipts: Option<PathBuf>,
    #[command(flatten)]
    pub verdict: VerdictArgs,
}

/// Exit code 2: the command cannot even be attempted.
fn usage(command: &str, message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    rootlog::errln!("rootlog {command}: {message}");
    Ok(ExitCode::from(2))
}

/// The state file: `--state`, or `~/.rootlog/audit-<hex sha256 origin>.state`.
fn state_path(args: &LogTrustArgs, origin: &str) -> Result<PathBuf, String> {
    if let Some(path) = &args.state {
        return Ok(path.clone());
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or("HOME is not set: give --state FILE")?;
    Ok(PathBuf::from(home)
        .join(".rootlog")
        .join(state_file_name(origin)))
}

/// The saved checkpoint note, `None` when this log was never audited here.
fn read_state(path: &Path) -> Result<Option<String>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read the state file {}: {e}",
            path.display()
        )),
    }
}

/// Replaces the state file atomically and durably (`durable::replace_file`),
/// so a crash leaves the old checkpoint or the new one, never a torn file,
/// and never forgets a checkpoint this audit reported as verified.
fn write_state(path: &Path, note: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        rootlog::durable::create_dir_all(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    rootlog::durable::replace_file(path, note.as_bytes())
        .with_context(|| format!("cannot replace {}", path.display()))
}

/// What both commands share before their own checks: keys, time rule, state.
struct Prepared {
    keys: Keys,
    max_delay: MaxDelay,
    state: PathBuf,
    saved: Option<String>,
}

fn prepare(
    command: &str,
    args: &LogTrustArgs,
    verdict: &VerdictArgs,
) -> Result<Prepared, ExitCode> {
    let fail = |m: String| {
        rootlog::errln!("rootlog {command}: {m}");
        ExitCode::from(2)
    };
    let keys = Keys::parse(&args.keys).map_err(fail)?;
    let max_delay = verdict.max_delay().map_err(fail)?;
    let origin = args
        .keys
        .origin
        .clone()
        .unwrap_or_else(|| keys.log_key.name().to_string());
    let state = state_path(args, &origin).map_err(fail)?;
    let saved = read_state(&state).map_err(fail)?;
    Ok(Prepared {
        keys,
        max_delay,
        state,
        saved,
    })
}

/// A failure of the auditor's reads as a check: what could not be fetched
/// (or is not covered yet) is unknown, anything else failed.
fn failure_check(check: &'static str, e: &AuditFailure) -> Check {
    match e {
        AuditFailure::Fetch(_) | AuditFailure::NotYetCovered { .. } => {
            Check::unknown(check, e.to_string())
        }
        _ => Check::fail(check, e.to_string()),
    }
}

/// Verifies the log's checkpoint and its consistency with the state file
/// into `report`; the checkpoint, if it verified.
fn audit_checkpoint(
    rt: &tokio::runtime::Runtime,
    auditor: &Auditor,
    trust: &Trust<'_>,
    p: &Prepared,
    report: &mut Report,
) -> Option<CheckpointAudit> {
    let audited = match rt.block_on(auditor.checkpoint(trust, p.saved.as_deref())) {
        Ok(a) => a,
        Err(e) => {
            let check = match e {
                AuditFailure::Shrunk { .. } | AuditFailure::Fork { .. } => "consistency",
                AuditFailure::Fetch(_) => "log",
                _ => "checkpoint",
            };
            report.checks.push(failure_check(check, &e));
            return None;
        }
    };
    let cp = &audited.verified.checkpoint;
    report.checkpoint = Some(CheckpointReport {
        origin: cp.origin.clone(),
        size: cp.size,
        root: encode_b64(&cp.root),
        cosigners: audited.verified.cosigners.clone(),
    });
    report.checks.push(Check::pass(
        "checkpoint",
        if p.keys.witnesses.is_empty() {
            format!(
                "signed by the log key {}; no witnesses required",
                p.keys.log_key.vkey()
            )
        } else {
            format!(
                "signed by the log key {}; cosigned by {} of {} trusted witnesses ({}), quorum {} met",
                p.keys.log_key.vkey(),
                audited.verified.cosigners.len(),
                p.keys.witnesses.len(),
                audited.verified.cosigners.join(", "),
                p.keys.quorum
            )
        },
    ));
    report.checks.push(Check::pass(
        "consistency",
        match audited.consistency {
            Consistency::FirstSeen => format!(
                "first audit of this log here: no earlier checkpoint in {}",
                p.state.display()
            ),
            Consistency::Unchanged => format!(
                "the same tree as the checkpoint verified earlier ({})",
                p.state.display()
            ),
            Consistency::Extended { old_size } => format!(
                "consistent with the checkpoint of size {old_size} verified earlier ({}); proof built from tiles",
                p.state.display()
            ),
        },
    ));
    Some(audited)
}

/// The tenant's key history as of the checkpoint (reported as a
/// `key_history` check), or the check saying why there is none.
fn key_history(
    rt: &tokio::runtime::Runtime,
    auditor: &Auditor,
    audited: &CheckpointAudit,
    tenant: &str,
    keys: &Keys,
    report: &mut Report,
) -> Result<TenantRecord, Check> {
    match rt.block_on(auditor.key_history(&audited.verified.checkpoint, tenant, &keys.log_key)) {
        Ok((record, changes, found_by)) => {
            report.checks.push(Check::pass(
                "key_history",
                format!(
                    "{} key-change entr{} of tenant {tenant} (found by {found_by}: {}), each included and signed by the log key",
                    changes.len(),
                    if changes.len() == 1 { "y" } else { "ies" },
                    changes.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
            ));
            Ok(record)
        }
        Err(e) => Err(failure_check("tenant_keys", &e)),
    }
}

/// Replaces the checks named like `check` with it.
fn put_check(report: &mut StatementReport, check: Check) {
    report.checks.retain(|c| c.check != check.check);
    report.checks.push(check);
}

/// One tenant's day, online: found from the log (or `scanned`), proven
/// into the earliest witnessed checkpoint the log names (or, failing that,
/// the latest one, whose time bound is later but valid), and judged by the
/// one rule with the key history.
#[allow(clippy::too_many_arguments)]
fn judge_day(
    rt: &tokio::runtime::Runtime,
    auditor: &Auditor,
    audited: &CheckpointAudit,
    trust: &Trust<'_>,
    history: &Result<TenantRecord, Check>,
    tenant: &str,
    date: time::Date,
    max_delay: MaxDelay,
    scanned: Option<&StatementIndex>,
) -> (StatementReport, Option<Statement>) {
    let latest = &audited.verified;
    let found =
        match rt.block_on(auditor.statement(&latest.checkpoint, tenant, date, None, scanned)) {
            Ok(found) => found,
            Err(e) => {
                let mut report = StatementReport::new(tenant, &format_date(date));
                report.checks.push(failure_check("statement", &e));
                return (report, None);
            }
        };
    let earliest =
        match rt.block_on(auditor.earliest_witnessed(tenant, date, found.index, latest, trust)) {
            Ok(earliest) => earliest,
            Err(e) => {
                let mut report = StatementReport::new(tenant, &format_date(date));
                report.index = Some(found.index);
                report.checks.push(failure_check("consistency", &e));
                return (report, Some(found.statement));
            }
        };
    let (note, proof) = match &earliest {
        Earliest::Found {
            checkpoint, proof, ..
        } => (checkpoint.note.as_str(), proof.as_slice()),
        _ => (latest.note.as_str(), found.proof.as_slice()),
    };
    let evidence = StatementEvidence {
        entry: &found.entry,
        index: found.index,
        checkpoint: note,
        inclusion_proof: proof,
        expected: Some((tenant, date)),
        key_history: history.as_ref().ok(),
    };
    let (mut report, statement) = judge_statement(&evidence, trust, max_delay);
    let hint = found
        .ignored_hint
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    let named = match &earliest {
        Earliest::Found { named_by, .. } => format!(
            "; proven into the earliest witnessed checkpoint, named by {named_by} and verified"
        ),
        _ => String::new(),
    };
    report.checks.insert(
        0,
        Check::pass(
            "statement",
            format!(
                "entry {} (found by {}{hint}) read from its entry bundle; proofs built from tiles{named}",
                found.index, found.located_by
            ),
        ),
    );
    if let Err(check) = history {
        put_check(&mut report, check.clone());
    }
    match &earliest {
        Earliest::Found { .. } => {}
        Earliest::NotNamed => report.checks.push(Check::pass(
            "earliest_checkpoint",
            "no earlier witnessed checkpoint was named (a static mirror without a locator for this day, or --lookup scan): the time is bounded by the latest checkpoint, later than the statement's own",
        )),
        Earliest::Unusable { named_by, why } => report.checks.push(Check::pass(
            "earliest_checkpoint",
            format!(
                "the checkpoint {named_by} named as the earliest was not used ({why}): the time is bounded by the latest checkpoint, later than the statement's own"
            ),
        )),
    }
    (report, statement)
}

pub fn audit(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    if !is_valid_tenant_id(&args.tenant) {
        return usage(
            "audit",
            format!("--tenant {:?} is not a tenant id", args.tenant),
        );
    }
    let Some(date) = parse_date(&args.date) else {
        return usage(
            "audit",
            format!("--date {:?} is not a date YYYY-MM-DD", args.date),
        );
    };
    let expect_root = match args.expect_root.as_deref().map(parse_hash) {
        None => None,
        Some(Some(root)) => Some(root),
        Some(None) => {
            return usage(
                "audit",
                "--expect-root must be a 32-byte hash in base64 or hex",
            )
        }
    };
    let p = match prepare("audit", &args.trust, &args.verdict) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let trust = p.keys.trust(args.trust.keys.origin.as_deref());
    let auditor = Auditor::new(&args.log, args.trust.lookup.into())?;
    let rt = runtime()?;
    let mut report = Report::new("audit", p.max_delay);
    let Some(audited) = audit_checkpoint(&rt, &auditor, &trust, &p, &mut report) else {
        return Ok(emit(report, args.verdict.json));
    };
    let history = key_history(&rt, &auditor, &audited, &args.tenant, &p.keys, &mut report);
    let (mut day, statement) = judge_day(
        &rt,
        &auditor,
        &audited,
        &trust,
        &history,
        &args.tenant,
        date,
        p.max_delay,
        None,
    );
    if let (Some(expected), Some(s)) = (expect_root, &statement) {
        day.checks.push(if expected == s.root {
            Check::pass("expected_root", "the root equals --expect-root")
        } else {
            Check::fail(
                "expected_root",
                AuditFailure::ExpectedRoot {
                    expected: encode_b64(&expected),
                    found: encode_b64(&s.root),
                }
                .to_string(),
            )
        });
    }
    report.statements.push(day);
    let verified = report.clone().finish().exit_code == 0;
    if verified {
        write_state(&p.state, &audited.verified.note)?;
    }
    Ok(emit(report, args.verdict.json))
}

/// The log `verify-export` reads: `--log` (or `ROOTLOG_URL`), else the
/// manifest's `chain_proof.published_to`, else the default.
fn export_log(args: &VerifyExportArgs, manifest: &ManifestHeader) -> String {
    args.log
        .clone()
        .or_else(|| {
            manifest
                .chain_proof
                .as_ref()
                .and_then(|c| c.published_to.clone())
        })
        .unwrap_or_else(|| DEFAULT_LOG.to_string())
}

pub fn verify_export(args: &VerifyExportArgs) -> anyhow::Result<ExitCode> {
    // Mapped, not copied: a manifest can be gigabytes (`rootlog::mapped`).
    let bytes = match rootlog::mapped::FileBytes::open(&args.manifest) {
        Ok(b) => b,
        Err(e) => {
            return usage(
                "verify-export",
                format!("cannot read {}: {e}", args.manifest.display()),
            )
        }
    };
    let p = match prepare("verify-export", &args.trust, &args.verdict) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let mut report = Report::new("verify-export", p.max_delay);
    // Every core reads and hashes: the days, and the runs of records, are independent.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (manifest, check) = match check_manifest_json(&bytes, threads) {
        Ok(read) => read,
        Err(LoadError::Json(e)) => {
            report.checks.push(Check::fail(
                "export_manifest",
                format!("{} is not an export manifest: {e}", args.manifest.display()),
            ));
            return Ok(emit(report, args.verdict.json));
        }
        Err(LoadError::Manifest(e)) => {
            report.checks.push(Check::fail(
                "export_manifest",
                format!("{}: {e}", args.manifest.display()),
            ));
            return Ok(emit(report, args.verdict.json));
        }
    };
    drop(bytes);
    let log = export_log(args, &manifest);
    let online = args.receipts.is_none().then_some(log.as_str());
    manifest_checks(&manifest, &check, online, &mut report);
    let trust = p.keys.trust(args.trust.keys.origin.as_deref());
    if let Some(dir) = &args.receipts {
        return verify_export_offline(dir, &check, &trust, &p, report, args.verdict.json);
    }

    let auditor = Auditor::new(&log, args.trust.lookup.into())?;
    let rt = runtime()?;
    let Some(audited) = audit_checkpoint(&rt, &auditor, &trust, &p, &mut report) else {
        return Ok(emit(report, args.verdict.json));
    };
    // With --lookup scan, scan the entry bundles once for the whole export.
    // In auto mode a static mirror's locators find each day, and a day they
    // do not find is looked up in one scan that the auditor keeps.
    let scanned = if args.trust.lookup == LookupArg::Scan {
        // Kept by the auditor: the key history reuses it.
        match rt.block_on(auditor.scan_once(audited.verified.checkpoint.size)) {
            Ok(s) => Some(s),
            Err(e) => {
                report.checks.push(failure_check("log", &e));
                return Ok(emit(report, args.verdict.json));
            }
        }
    } else {
        None
    };
    let history = key_history(&rt, &auditor, &audited, &check.tenant, &p.keys, &mut report);
    for day in &check.days {
        let (mut day_report, statement) = judge_day(
            &rt,
            &auditor,
            &audited,
            &trust,
            &history,
            &check.tenant,
            day.date,
            p.max_delay,
            scanned.as_deref(),
        );
        compare(day, statement.as_ref(), &mut day_report);
        report.statements.push(day_report);
    }
    if report.clone().finish().exit_code == 0 {
        write_state(&p.state, &audited.verified.note)?;
    }
    Ok(emit(report, args.verdict.json))
}

/// `verify-export --receipts DIR`: every day from the export's receipts,
/// offline. Each receipt is judged by the same rule as online
/// (`Receipt::judge`), and its statement compared with the manifest's day.
fn verify_export_offline(
    dir: &Path,
    check: &rootlog::audit::export::ManifestCheck,
    trust: &Trust<'_>,
    p: &Prepared,
    mut report: Report,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return usage(
                "verify-export",
                format!("cannot read {}: {e}", dir.display()),
            )
        }
    };
    let mut receipts = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        // Other files may sit beside the receipts.
        if let Ok(receipt) = Receipt::parse(&bytes) {
            receipts.push((path.display().to_string(), receipt));
        }
    }
    judge_from_receipts(
        check,
        receipts,
        &dir.display().to_string(),
        trust,
        p.max_delay,
        &mut report,
    );
    Ok(emit(report, json))
}

//! `rootlog audit` (one tenant's statement for one day, online, with
//! consistency against the last checkpoint this auditor verified) and
//! `rootlog verify-export` (an archive's export manifest against the log).
//!
//! Both read the log only through its tlog-tiles read path (so a static
//! mirror works), keep the last verified checkpoint per log in a small state
//! file, and write that file only after everything verified. Output follows
//! `rootlog verify`: plain lines of what was checked, then `VERIFIED` (exit
//! 0) or `NOT VERIFIED: ...` (exit 1); exit 2 when the command cannot be
//! attempted (unreadable file, malformed key or argument).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use rootlog::audit::export::{check_manifest, compare_day, to_hex, Manifest};
use rootlog::audit::{parse_hash, state_file_name, AuditFailure, Consistency};
use rootlog::client::{Auditor, CheckpointAudit, Located, Lookup};
use rootlog::note::encode_b64;
use rootlog::statement::{format_date, is_valid_tenant_id, parse_date};

use super::keys::{KeyArgs, Keys};
use super::runtime;

/// How `--lookup` finds a statement's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LookupArg {
    /// The log API if it answers, else scan the entry bundles (a static mirror).
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

/// The log to read and what to trust it with (shared by audit and verify-export).
#[derive(Args, Debug)]
pub struct LogTrustArgs {
    /// The log's base URL, or a static tlog-tiles mirror of it.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "ROOTLOG_URL")]
    pub log: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The file keeping the last checkpoint verified for this log
    /// [default: ~/.rootlog/audit-<hex SHA-256 of the origin>.state].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// How to find a statement's index: the log API, scanning the entry bundles, or auto.
    #[arg(long, value_enum, default_value = "auto")]
    pub lookup: LookupArg,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
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
}

#[derive(Args, Debug)]
pub struct VerifyExportArgs {
    /// The export manifest (JSON, schema_version "1.0"; see docs/export-manifest.md).
    pub manifest: PathBuf,
    #[command(flatten)]
    pub trust: LogTrustArgs,
}

/// Exit code 2: the command cannot even be attempted.
fn usage(command: &str, message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("rootlog {command}: {message}");
    Ok(ExitCode::from(2))
}

fn not_verified(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    println!("NOT VERIFIED: {message}");
    Ok(ExitCode::from(1))
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

/// Prints what the checkpoint audit established.
fn print_checkpoint(audit: &CheckpointAudit, keys: &Keys, state: &Path) {
    let cp = &audit.verified.checkpoint;
    println!(
        "checkpoint: log {}, tree size {}, root {}",
        cp.origin,
        cp.size,
        encode_b64(&cp.root)
    );
    println!("  signed by the log key {}", keys.log_key.vkey());
    if keys.witnesses.is_empty() {
        println!("  no witnesses required");
    } else {
        println!(
            "  cosigned by {} of {} trusted witnesses ({}); quorum {} met",
            audit.verified.cosigners.len(),
            keys.witnesses.len(),
            audit.verified.cosigners.join(", "),
            keys.quorum
        );
    }
    match audit.consistency {
        Consistency::FirstSeen => println!(
            "  first audit of this log here: no earlier checkpoint in {}",
            state.display()
        ),
        Consistency::Unchanged => println!(
            "  the same tree as the checkpoint verified earlier ({})",
            state.display()
        ),
        Consistency::Extended { old_size } => println!(
            "  consistent with the checkpoint of size {old_size} verified earlier ({}); proof built from tiles",
            state.display()
        ),
    }
}

/// What both commands share before their own checks: keys, state, checkpoint.
struct Prepared {
    keys: Keys,
    state: PathBuf,
    saved: Option<String>,
}

fn prepare(command: &str, args: &LogTrustArgs) -> Result<Prepared, ExitCode> {
    let fail = |m: String| {
        eprintln!("rootlog {command}: {m}");
        ExitCode::from(2)
    };
    let keys = Keys::parse(&args.keys).map_err(fail)?;
    let origin = args
        .keys
        .origin
        .clone()
        .unwrap_or_else(|| keys.log_key.name().to_string());
    let state = state_path(args, &origin).map_err(fail)?;
    let saved = read_state(&state).map_err(fail)?;
    Ok(Prepared { keys, state, saved })
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
    let p = match prepare("audit", &args.trust) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let trust = p.keys.trust(args.trust.keys.origin.as_deref());
    let auditor = Auditor::new(&args.trust.log, args.trust.lookup.into())?;
    let rt = runtime()?;

    let checkpoint = match rt.block_on(auditor.checkpoint(&trust, p.saved.as_deref())) {
        Ok(c) => c,
        Err(e) => return not_verified(e),
    };
    print_checkpoint(&checkpoint, &p.keys, &p.state);
    let cp = &checkpoint.verified.checkpoint;
    let found = match rt.block_on(auditor.statement(
        cp,
        &args.tenant,
        date,
        p.keys.tenant_key.as_ref(),
        None,
    )) {
        Ok(f) => f,
        Err(e) => return not_verified(e),
    };
    let s = &found.statement;
    println!(
        "statement: tenant {}, date {}, {} records, root {}",
        s.tenant,
        s.date_string(),
        s.records,
        encode_b64(&s.root)
    );
    if let Some(chain) = &s.chain {
        println!(
            "  chain head seq {} hash {}",
            chain.seq,
            encode_b64(&chain.hash)
        );
    }
    println!(
        "  entry {} (found by {}) read from its entry bundle and included under the checkpoint; proof built from tiles",
        found.index, found.located_by
    );
    if let Some(k) = &p.keys.tenant_key {
        println!("  signed by the tenant key {}", k.vkey());
    }
    let (record, changes, changes_by) =
        match rt.block_on(auditor.key_history(cp, &args.tenant, &p.keys.log_key)) {
            Ok(history) => history,
            Err(e) => return not_verified(e),
        };
    println!(
        "tenant keys: {} key-change entr{} of tenant {} (found by {}: {}), each included and signed by the log key",
        changes.len(),
        if changes.len() == 1 { "y" } else { "ies" },
        args.tenant,
        changes_by,
        changes.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    );
    let verdict = match rootlog::statement::parse_submission(&found.entry)
        .map_err(|e| AuditFailure::Statement {
            index: found.index,
            reason: e.to_string(),
        })
        .and_then(|(note, statement)| {
            rootlog::audit::check_statement_keys(&note, &statement, found.index, &record)
        }) {
        Ok(v) => v,
        Err(e) => return not_verified(e),
    };
    println!(
        "  signed by {}, added at entry {} and able to sign at entry {}",
        verdict.vkey, verdict.added_index, found.index
    );
    if let Some(expected) = expect_root {
        if expected != s.root {
            return not_verified(AuditFailure::ExpectedRoot {
                expected: encode_b64(&expected),
                found: encode_b64(&s.root),
            });
        }
        println!("  root equals --expect-root");
    }
    write_state(&p.state, &checkpoint.verified.note)?;
    println!("VERIFIED");
    Ok(ExitCode::SUCCESS)
}

pub fn verify_export(args: &VerifyExportArgs) -> anyhow::Result<ExitCode> {
    let bytes = match fs::read(&args.manifest) {
        Ok(b) => b,
        Err(e) => {
            return usage(
                "verify-export",
                format!("cannot read {}: {e}", args.manifest.display()),
            )
        }
    };
    let p = match prepare("verify-export", &args.trust) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            return not_verified(format!(
                "{} is not an export manifest: {e}",
                args.manifest.display()
            ))
        }
    };
    let check = match check_manifest(&manifest) {
        Ok(c) => c,
        Err(e) => return not_verified(format!("{}: {e}", args.manifest.display())),
    };
    let records = manifest.records.len();
    println!(
        "export: tenant {}, {}..{} ({} days), {records} records{}",
        check.tenant,
        format_date(check.from),
        format_date(check.to),
        check.days.len(),
        match (manifest.records.first(), manifest.records.last()) {
            (Some(a), Some(b)) => format!(", seq {}..{}", a.seq, b.seq),
            _ => String::new(),
        }
    );
    if let Some(to) = manifest
        .chain_proof
        .as_ref()
        .and_then(|c| c.published_to.as_deref())
    {
        println!("  published to {to}");
    }
    let mut problems = check.problems.clone();

    let trust = p.keys.trust(args.trust.keys.origin.as_deref());
    let auditor = Auditor::new(&args.trust.log, args.trust.lookup.into())?;
    let rt = runtime()?;
    let checkpoint = match rt.block_on(auditor.checkpoint(&trust, p.saved.as_deref())) {
        Ok(c) => c,
        Err(e) => {
            for problem in &problems {
                println!("  PROBLEM: {problem}");
            }
            return not_verified(e);
        }
    };
    print_checkpoint(&checkpoint, &p.keys, &p.state);
    let cp = &checkpoint.verified.checkpoint;

    // Scan the entry bundles once for the whole export when the index cannot
    // come from the API (asked for, or a static mirror answers).
    let scan = match args.trust.lookup {
        LookupArg::Scan => true,
        LookupArg::Api => false,
        LookupArg::Auto => matches!(
            rt.block_on(
                auditor
                    .api()
                    .locate(&check.tenant, &format_date(check.from))
            ),
            Ok(Located::NoApi)
        ),
    };
    let scanned = if scan {
        match rt.block_on(auditor.scan(cp.size)) {
            Ok(s) => Some(s),
            Err(e) => return not_verified(e),
        }
    } else {
        None
    };

    for day in &check.days {
        let date = format_date(day.date);
        match rt.block_on(auditor.statement(
            cp,
            &check.tenant,
            day.date,
            p.keys.tenant_key.as_ref(),
            scanned.as_ref(),
        )) {
            Ok(found) => {
                let disagreements = compare_day(day, &found.statement);
                if disagreements.is_empty() {
                    println!(
                        "  {date}: {} records, root {}{} = the statement at index {}{}",
                        day.records,
                        encode_b64(&day.root),
                        day.head
                            .map(|h| format!(", chain head seq {}", h.seq))
                            .unwrap_or_default(),
                        found.index,
                        if p.keys.tenant_key.is_some() {
                            ", signed by the tenant key"
                        } else {
                            ""
                        }
                    );
                }
                problems.extend(disagreements);
            }
            Err(AuditFailure::NotFound { tenant, .. }) => problems.push(format!(
                "{date}: no statement for tenant {tenant} in the log"
            )),
            Err(e) => problems.push(format!("{date}: {e}")),
        }
    }
    if p.keys.tenant_key.is_none() {
        println!("  tenant signatures not checked (give --tenant-key to check them)");
    }
    if let Some(last) = check.days.last().and_then(|d| d.head) {
        println!(
            "  chain head at the end of the range: seq {} sha256 {}",
            last.seq,
            to_hex(&last.hash)
        );
    }
    if !problems.is_empty() {
        for problem in &problems {
            println!("  PROBLEM: {problem}");
        }
        return not_verified(format!(
            "{} problem{} found (listed above)",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ));
    }
    write_state(&p.state, &checkpoint.verified.note)?;
    println!("VERIFIED");
    Ok(ExitCode::SUCCESS)
}

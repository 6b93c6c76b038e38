//! `rootlog verify` and `rootlog receipt`: checking a receipt or a
//! statement with its proof file offline, and fetching a receipt from the
//! log, each judged by `rootlog::verify::judge_statement`.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use rootlog::client::{ClientError, LogClient, RetryPolicy};
use rootlog::receipt::Receipt;
use rootlog::verdict::{Check, Report};
use rootlog::verify::judge_with_proof_file;

use super::{keys, runtime};

/// Exit code 2: the command cannot even be attempted (unreadable file, malformed key).
fn usage(command: &str, message: String) -> anyhow::Result<ExitCode> {
    rootlog::errln!("rootlog {command}: {message}");
    Ok(ExitCode::from(2))
}

/// `rootlog verify`: a receipt, or a statement with its proof file, offline,
/// by the one rule every verifier applies (`rootlog::verify::judge_statement`).
pub fn verify(args: &crate::VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = match keys::Keys::parse(&args.keys) {
        Ok(k) => k,
        Err(e) => return usage("verify", e),
    };
    let max_delay = match args.verdict.max_delay() {
        Ok(d) => d,
        Err(e) => return usage("verify", e),
    };
    let trust = keys.trust(args.keys.origin.as_deref());
    let mut report = Report::new("verify", max_delay);
    let read =
        |path: &Path| fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    match (&args.receipt, &args.statement, &args.proof) {
        (Some(path), _, _) => {
            let bytes = match read(path) {
                Ok(b) => b,
                Err(e) => return usage("verify", e),
            };
            match Receipt::parse(&bytes) {
                Ok(receipt) => report.statements.push(receipt.judge(&trust, max_delay)),
                Err(e) => report
                    .checks
                    .push(Check::fail("receipt", format!("{}: {e}", path.display()))),
            }
        }
        (None, Some(statement), Some(proof)) => {
            let (statement, proof_bytes) = match (read(statement), read(proof)) {
                (Ok(s), Ok(p)) => (s, p),
                (Err(e), _) | (_, Err(e)) => return usage("verify", e),
            };
            match judge_with_proof_file(&statement, &proof_bytes, &trust, max_delay) {
                Ok(judged) => report.statements.push(judged),
                Err(e) => report.checks.push(Check::fail(
                    "proof",
                    format!("the proof file {}: {e}", proof.display()),
                )),
            }
        }
        _ => {
            return usage(
                "verify",
                "give --receipt FILE, or --statement FILE and --proof FILE".into(),
            )
        }
    }
    Ok(keys::emit(report, args.verdict.json))
}

/// `rootlog receipt`: fetches a logged statement's receipt, verifies it
/// like `rootlog verify --receipt` would, and saves it only if it verified.
pub fn receipt(args: &crate::ReceiptArgs) -> anyhow::Result<ExitCode> {
    let keys = match keys::Keys::parse(&args.keys) {
        Ok(k) => k,
        Err(e) => return usage("receipt", e),
    };
    let max_delay = match args.verdict.max_delay() {
        Ok(d) => d,
        Err(e) => return usage("receipt", e),
    };
    let trust = keys.trust(args.keys.origin.as_deref());
    let mut report = Report::new("receipt", max_delay);
    let client = LogClient::new(&args.log).with_retry(RetryPolicy::for_duration(args.retry_for));
    let fetched = runtime()?.block_on(client.receipt(&args.tenant, &args.date));
    match fetched {
        Ok(receipt) => {
            let judged = receipt.judge(&trust, max_delay);
            let verified = judged.verdict() == rootlog::verdict::Verdict::Verified;
            report.statements.push(judged);
            if verified {
                save_receipt(&args.out, &receipt)?;
                report.checks.push(Check::pass(
                    "receipt",
                    format!("saved to {}", args.out.display()),
                ));
            }
        }
        Err(e) => report.checks.push(client_check("receipt", &e)),
    }
    Ok(keys::emit(report, args.verdict.json))
}

/// A client error as a check: the log unreachable or not ready is unknown
/// (exit 3); an answer that is wrong failed.
fn client_check(check: &'static str, e: &ClientError) -> Check {
    match e {
        _ if e.is_transient() => Check::unknown(check, e.to_string()),
        ClientError::Http(_) => Check::unknown(check, e.to_string()),
        ClientError::Api { status, .. } if *status == 404 || *status >= 500 => {
            Check::unknown(check, e.to_string())
        }
        _ => Check::fail(check, e.to_string()),
    }
}

/// Writes a receipt durably (temporary name, fsync, rename, directory fsync):
/// it is the archive's proof, kept for years.
pub(super) fn save_receipt(path: &Path, receipt: &Receipt) -> anyhow::Result<()> {
    rootlog::durable::replace_file(path, receipt.to_json().as_bytes())
        .with_context(|| format!("cannot write the receipt {}", path.display()))
}

//! `rootlog statement` and `rootlog submit`: building and signing a
//! daily-root statement from flags, and submitting it to the log with the
//! exit code that says whether trying again can help.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use rootlog::audit::parse_hash;
use rootlog::client::{ClientError, LogClient, RetryPolicy};
use rootlog::note::{parse_decimal_u64, Note, Signer, Verifier};
use rootlog::statement::{parse_date, ChainHead, Statement};

use crate::{StatementArgs, SubmitArgs};

use super::verify::save_receipt;
use super::{runtime, value_or_file, WaitFor};

fn read_signer(path: &Path) -> anyhow::Result<Signer> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    Signer::from_skey(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `--chain "<seq> <hash>"`: the hash in hex or base64, like every hash
/// the CLI takes (`rootlog::audit::parse_hash`).
fn parse_chain(chain: &str) -> anyhow::Result<ChainHead> {
    let (seq, hash) = chain
        .trim()
        .split_once(' ')
        .context("--chain must be \"<seq> <hash>\" (the hash in hex or base64)")?;
    let seq = parse_decimal_u64(seq).context("--chain sequence number must be a decimal")?;
    let hash =
        parse_hash(hash).context("--chain hash must be 32 bytes in hex (64 digits) or base64")?;
    Ok(ChainHead { seq, hash })
}

/// Builds and signs a statement from flags.
fn build_statement(args: &StatementArgs) -> anyhow::Result<Vec<u8>> {
    let signer = read_signer(&args.key)?;
    let tenant = args
        .tenant
        .clone()
        .unwrap_or_else(|| signer.name().to_string());
    if tenant != signer.name() {
        bail!("the key is named {:?} but the tenant is {tenant:?}: a tenant's key name must equal its id", signer.name());
    }
    let date = parse_date(&args.date)
        .with_context(|| format!("--date {:?} is not a calendar date YYYY-MM-DD", args.date))?;
    let root = parse_hash(&args.root)
        .context("--root must be 32 bytes in hex (64 digits) or base64 (see `rootlog root`)")?;
    let chain = args.chain.as_deref().map(parse_chain).transpose()?;
    let statement = Statement {
        tenant,
        date,
        records: args.records,
        root,
        chain,
    };
    let text = statement.to_text();
    Statement::parse_text(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut note = Note::new(text);
    note.signatures.push(signer.sign(note.text.as_bytes()));
    Ok(note.to_text().into_bytes())
}

pub fn statement(args: &StatementArgs) -> anyhow::Result<ExitCode> {
    rootlog::out!("{}", String::from_utf8_lossy(&build_statement(args)?));
    Ok(ExitCode::SUCCESS)
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let note = match (&args.statement, &args.key) {
        (Some(path), _) => {
            fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, Some(key)) => build_statement(&StatementArgs {
            key: key.clone(),
            tenant: args.tenant.clone(),
            date: args.date.clone().unwrap_or_default(),
            records: args.records.unwrap_or_default(),
            root: args.root.clone().unwrap_or_default(),
            chain: args.chain.clone(),
        })?,
        (None, None) => bail!("give --statement FILE, or --key with --date, --records and --root"),
    };
    let witnessed = args.wait == WaitFor::Witnessed || args.receipt.is_some();
    let client = LogClient::new(&args.log).with_retry(RetryPolicy::for_duration(args.retry_for));
    let rt = runtime()?;
    let (status, entry) = match rt.block_on(client.submit_waiting(&note, witnessed)) {
        Ok(answer) => answer,
        Err(e) => return Ok(submit_failed(&args.log, "submitting the statement", &e)),
    };
    if let Some(vkey) = &args.log_key {
        let log_key = Verifier::from_vkey(&value_or_file(vkey)?)
            .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
        let checkpoint = entry
            .verify(&log_key, Some(&note))
            .map_err(|e| anyhow::anyhow!("the log's answer does not verify: {e}"))?;
        rootlog::errln!(
            "verified: entry {} is in the log's signed checkpoint of size {}",
            entry.index,
            checkpoint.size
        );
        if let Some(path) = &args.receipt {
            let (_, statement) = rootlog::statement::parse_submission(&note)
                .map_err(|e| anyhow::anyhow!("the statement: {e}"))?;
            let receipt =
                match rt.block_on(client.receipt(&statement.tenant, &statement.date_string())) {
                    Ok(receipt) => receipt,
                    Err(e) => {
                        rootlog::errln!("the statement is logged at index {}", entry.index);
                        return Ok(submit_failed(&args.log, "fetching the receipt", &e));
                    }
                };
            // Checked with the log key alone (the log's witness policy was
            // met when the proof's checkpoint was chosen); a receipt that
            // does not verify is not kept.
            let trust = rootlog::verify::Trust {
                log_key: &log_key,
                origin: None,
                witnesses: &[],
                quorum: 0,
                tenant_key: None,
            };
            let judged = receipt.judge(&trust, rootlog::timebound::MaxDelay::None);
            let failed: Vec<&str> = judged
                .checks
                .iter()
                .filter(|c| c.result == rootlog::verdict::Outcome::Fail)
                .map(|c| c.detail.as_str())
                .collect();
            if !failed.is_empty() {
                bail!("the log's receipt does not verify: {}", failed.join("; "));
            }
            save_receipt(path, &receipt)?;
            rootlog::errln!("saved the receipt to {}", path.display());
        }
    }
    rootlog::errln!(
        "{}",
        if status == 201 {
            "appended"
        } else {
            "already in the log (identical statement)"
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&entry)?);
    Ok(ExitCode::SUCCESS)
}

/// Says why `rootlog submit` did not get its answer, and returns the exit
/// code: 3 when the log could not be reached or stayed unavailable (nothing
/// wrong with the statement: running the same command again is safe), 1
/// when the log refused the statement or answered something unusable.
fn submit_failed(log: &str, doing: &str, e: &ClientError) -> ExitCode {
    rootlog::errln!("rootlog submit: {doing} at {log}: {e}");
    let last = match e {
        ClientError::GaveUp { last, .. } => last.as_ref(),
        other => other,
    };
    if let ClientError::Api { code, body, .. } = last {
        match code.as_str() {
            "not_witnessed_yet" => rootlog::errln!(
                "the statement is logged (index {}), but no checkpoint meeting the log's witness policy covered it in time; fetch the receipt later with `rootlog receipt`",
                body["index"]
            ),
            "conflict" => rootlog::errln!(
                "a different statement for this tenant and day is already logged (index {}): it can never be replaced. Do not \"fix\" it; find out how two statements for one day came to be signed",
                body["existing"]["index"]
            ),
            _ => {}
        }
    }
    if e.is_transient() {
        rootlog::errln!("the log could not take the statement now, which says nothing against it: running the same command again is safe (an identical statement is answered with the entry already logged); --retry-for sets how long to keep trying");
        ExitCode::from(3)
    } else {
        ExitCode::from(1)
    }
}

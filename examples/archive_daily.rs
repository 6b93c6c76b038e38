//! What an archive's daily job does for one tenant and one UTC day, with
//! the Rust client (`docs/integrating.md` walks through it):
//!
//! ```sh
//! cargo run --example archive_daily -- --log http://127.0.0.1:8080 \
//!     --key keys/acme-securities.skey --log-key "$(rootlog vkey)" \
//!     --date 2026-11-24 --records records.txt --receipt acme-2026-11-24.receipt
//! ```
//!
//! `--records` holds the day's record hashes in order, one per line (hex or
//! base64), and may be empty: a day without records is still published.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use rootlog::client::{ClientError, LogClient, RetryPolicy};
use rootlog::merkle::{leaf_hash, Frontier, Hash};
use rootlog::note::{Note, Signer, Verifier};
use rootlog::receipt::Receipt;
use rootlog::statement::{ChainHead, Statement};
use rootlog::timebound::MaxDelay;
use rootlog::verdict::Verdict;
use rootlog::verify::Trust;

#[derive(Parser)]
struct Args {
    /// The log's base URL.
    #[arg(long)]
    log: String,
    /// The tenant's skey file (the key name is the tenant id).
    #[arg(long)]
    key: PathBuf,
    /// The log's vkey.
    #[arg(long)]
    log_key: String,
    /// The log's witnesses' vkeys the archive trusts (repeat); all must have cosigned.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// The UTC day, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// The day's record hashes, one per line, in order.
    #[arg(long)]
    records: PathBuf,
    /// Where to keep the receipt.
    #[arg(long)]
    receipt: PathBuf,
}

/// Publishes one day: builds and signs the statement, submits it (retrying
/// a log that is down or busy), checks the answer, and fetches and checks
/// the receipt to keep. `chain` is the archive's hash-chain head at the end
/// of the day, if it keeps one.
async fn publish_day(
    client: &LogClient,
    tenant_key: &Signer,
    trust: &Trust<'_>,
    date: time::Date,
    record_hashes: &[Hash],
    chain: Option<ChainHead>,
) -> anyhow::Result<Receipt> {
    // The day's root: RFC 6962 over the records' hashes, in order. No
    // records is records 0 with the empty-tree root, and is still published.
    let mut tree = Frontier::new();
    for h in record_hashes {
        tree.append(leaf_hash(h), |_, _| {});
    }
    let statement = Statement {
        tenant: tenant_key.name().to_string(),
        date,
        records: tree.size(),
        root: tree.root(),
        chain,
    };
    let mut note = Note::new(statement.to_text());
    note.signatures.push(tenant_key.sign(note.text.as_bytes()));
    let note = note.to_text().into_bytes();

    // 201: appended; 200: this very statement was already logged (say, by a
    // run whose answer was lost). Both are success.
    let entry = match client.submit_waiting(&note, true).await {
        Ok((_, entry)) => entry,
        Err(ClientError::Api {
            status: 409, body, ..
        }) => bail!(
            "CONFLICT: a different statement for {} {} is already logged at index {}; never try to replace it: find out how two roots for one day were signed",
            statement.tenant,
            statement.date_string(),
            body["existing"]["index"]
        ),
        Err(e) if e.is_transient() => {
            bail!("the log is unavailable; run again later (it is safe): {e}")
        }
        Err(e) => bail!("the log refused the statement: {e}"),
    };
    entry
        .verify(trust.log_key, Some(&note))
        .context("the log's answer does not verify")?;

    // The receipt proves the statement offline for years: keep it.
    let receipt = client
        .receipt(&statement.tenant, &statement.date_string())
        .await?;
    let report = receipt.judge(trust, MaxDelay::DEFAULT);
    if report.verdict() != Verdict::Verified {
        bail!("the receipt does not verify: {:?}", report.checks);
    }
    Ok(receipt)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let tenant_key = Signer::from_skey(std::fs::read_to_string(&args.key)?.trim())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.key.display()))?;
    let log_key =
        Verifier::from_vkey(&args.log_key).map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| Verifier::cosignature_from_vkey(w).map_err(|e| anyhow::anyhow!("--witness: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let trust = Trust {
        log_key: &log_key,
        origin: None,
        witnesses: &witnesses,
        quorum: witnesses.len(),
        tenant_key: None,
    };
    let date = rootlog::statement::parse_date(&args.date).context("--date is YYYY-MM-DD")?;
    let text = std::fs::read_to_string(&args.records)?;
    let hashes = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| rootlog::audit::parse_hash(l).with_context(|| format!("{l:?} is not a hash")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The default policy retries for two minutes; a daily job can afford more.
    let client = LogClient::new(&args.log)
        .with_retry(RetryPolicy::for_duration(Duration::from_secs(30 * 60)));
    let receipt = publish_day(&client, &tenant_key, &trust, date, &hashes, None).await?;
    rootlog::durable::replace_file(&args.receipt, receipt.to_json().as_bytes())?;
    eprintln!("published; receipt in {}", args.receipt.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("archive_daily: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("archive_daily: {e:#}");
            ExitCode::from(1)
        }
    }
}

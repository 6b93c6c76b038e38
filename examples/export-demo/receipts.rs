//! The export's receipts: one `rootlog-receipt/v1` file per day of the
//! export, fetched from the log (`LogClient::receipt`) and verified before it
//! is written, into a `receipts/` directory beside the manifest (see
//! docs/export-manifest.md). `rootlog verify-export MANIFEST --receipts DIR`
//! verifies the export offline from them. Included by examples/export-demo
//! and by tests/verify_export.rs, so the test checks what the demo writes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rootlog::client::{ClientError, LogClient};
use rootlog::note::Verifier;
use rootlog::receipt::Receipt;
use rootlog::timebound::MaxDelay;
use rootlog::verdict::Outcome;
use rootlog::verify::Trust;

/// How long a day's receipt is waited for while the log says its entry is
/// not covered by a witnessed checkpoint yet (503 `not_witnessed_yet`).
const WITNESS_WAIT: Duration = Duration::from_secs(30);

/// Fetches tenant's receipt for each of `dates`, verifies it under
/// `log_key` (the log's signature, the inclusion of the statement and of
/// every key-change entry, the key rule; lateness is accepted, as the demo
/// publishes history at once), and writes it to `<dir>/<date>.receipt`.
/// Nothing is written for a receipt that does not verify.
pub async fn write_receipts(
    client: &LogClient,
    tenant: &str,
    dates: &[String],
    log_key: &Verifier,
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let trust = Trust {
        log_key,
        origin: None,
        witnesses: &[],
        quorum: 0,
        tenant_key: None,
    };
    for date in dates {
        let receipt = fetch(client, tenant, date).await?;
        let report = receipt.judge(&trust, MaxDelay::None);
        if let Some(bad) = report.checks.iter().find(|c| c.result != Outcome::Pass) {
            bail!(
                "the receipt for {date} does not verify ({}: {}); not written",
                bad.check,
                bad.detail
            );
        }
        let path = dir.join(format!("{date}.receipt"));
        std::fs::write(&path, receipt.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The receipt of one day, waiting while the log has no witnessed
/// checkpoint covering it yet.
async fn fetch(client: &LogClient, tenant: &str, date: &str) -> anyhow::Result<Receipt> {
    let deadline = Instant::now() + WITNESS_WAIT;
    loop {
        match client.receipt(tenant, date).await {
            Ok(receipt) => return Ok(receipt),
            Err(ClientError::Api { status: 503, .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("the receipt for {date}")),
        }
    }
}

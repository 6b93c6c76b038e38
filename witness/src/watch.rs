//! Watch mode: poll a tlog-tiles log's checkpoint, build the consistency
//! proof from its tiles, and hand it to the same check-and-store step as
//! `POST /add-checkpoint` (so cosigning, storage and evidence are identical).
//!
//! Tiles are authenticated by the proof: before submitting, the proof must
//! verify between the stored (cosigned) checkpoint and the new signed one.
//! If it does not, and the tiles do not even reproduce the new signed root,
//! the tiles are wrong (corrupt or tampered in transit): that is an error,
//! not evidence, and nothing is cosigned. If the tiles do reproduce the new
//! root but the old one is not a prefix, the log's own signed tree forked,
//! and the check-and-store step records the evidence.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use rootlog::merkle::verify_consistency;
use rootlog::note::{Checkpoint, Note};

use crate::protocol::{verify_log_signatures, AddCheckpoint};
use crate::witness::Witness;
use rootlog::tiles::TileClient;

/// Starts polling `url` for `origin` every `interval`, forever.
pub fn spawn(
    witness: Arc<Witness>,
    origin: String,
    url: String,
    interval: Duration,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let client =
        TileClient::with_user_agent(&url, concat!("rootlog-witness/", env!("CARGO_PKG_VERSION")))?;
    tracing::info!(%origin, %url, ?interval, "watching log");
    Ok(tokio::spawn(async move {
        loop {
            match poll_once(&witness, &client, &origin).await {
                Ok(()) => witness.metrics.poll(true),
                Err(e) => {
                    witness.metrics.poll(false);
                    tracing::warn!(%origin, %url, error = %format!("{e:#}"), "watch poll failed");
                }
            }
            tokio::time::sleep(interval).await;
        }
    }))
}

/// One poll: fetch, verify, and submit the checkpoint if it is news.
pub async fn poll_once(
    witness: &Arc<Witness>,
    client: &TileClient,
    origin: &str,
) -> anyhow::Result<()> {
    let log = witness
        .logs()
        .get(origin)
        .ok_or_else(|| anyhow!("origin {origin:?} is not configured"))?
        .clone();
    let bytes = client.checkpoint().await?;
    let note = Note::parse(&bytes).map_err(|e| anyhow!("checkpoint: {e}"))?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| anyhow!("checkpoint: {e}"))?;
    if checkpoint.origin != origin {
        bail!(
            "checkpoint origin {:?} is not the configured {origin:?}",
            checkpoint.origin
        );
    }
    verify_log_signatures(&log, &note).map_err(|r| anyhow!("{}", r.reason))?;

    let stored = witness.stored(origin)?;
    let (old, proof) = match &stored {
        None => (0, Vec::new()),
        Some(s) if s.checkpoint.size == 0 => (0, Vec::new()),
        Some(s) if checkpoint.size < s.checkpoint.size => {
            // Stale (a cache, or a mirror behind): nothing to say without a proof.
            tracing::debug!(%origin, size = checkpoint.size, stored = s.checkpoint.size, "log checkpoint older than the cosigned one");
            return Ok(());
        }
        Some(s) if checkpoint.size == s.checkpoint.size => {
            if checkpoint.root == s.checkpoint.root {
                return Ok(());
            }
            // A fork at the same size: let the check record it.
            (s.checkpoint.size, Vec::new())
        }
        Some(s) => {
            let proof = client
                .consistency_proof(s.checkpoint.size, checkpoint.size)
                .await?;
            let ok = verify_consistency(
                s.checkpoint.size,
                checkpoint.size,
                &s.checkpoint.root,
                &checkpoint.root,
                &proof,
            )
            .is_ok();
            if !ok {
                let root = client.root(checkpoint.size).await?;
                if root != checkpoint.root {
                    bail!(
                        "the log's tiles do not hash to its signed root at size {}: tiles not trusted, not cosigning",
                        checkpoint.size
                    );
                }
            }
            (s.checkpoint.size, proof)
        }
    };
    let req = AddCheckpoint {
        old,
        proof,
        note,
        checkpoint,
    };
    match witness.add_checkpoint(req, "watch").await {
        Ok(_) => Ok(()),
        Err(r) => bail!("checkpoint refused: {} {}", r.status, r.reason),
    }
}

//! Watch mode: poll a tlog-tiles log's checkpoint, build the consistency
//! proof from its tiles, and hand it to the same check-and-store step as
//! `POST /add-checkpoint` (so cosigning, storage and evidence are identical).
//!
//! Tiles are authenticated by the proof: before submitting, the proof must
//! verify between the stored (cosigned) checkpoint and the new signed one.
//! If it does not, the witness reads from the same tiles the root of the old
//! size in the log's new tree (the prefix root) and checks that the proof
//! verifies from that prefix root to the new signed root. If it does not
//! either, the tiles are not the tree the log signed (corrupt, tampered in
//! transit, or served by someone else): an error, not evidence, and nothing
//! is cosigned. If it does, the nodes are the ones the log's signed root
//! commits to, and they give another root at the cosigned size: the log's
//! own signed tree forked, and the check-and-store step records the
//! evidence (with the prefix root, so anyone can check it with the log's
//! vkey alone).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use rootlog_runtime::tile_client::TileClient;
use rootlog_tlog::merkle::{root_plan, verify_consistency, EMPTY_ROOT};
use rootlog_tlog::note::{Checkpoint, Note};
use rootlog_tlog::tiles::fold_right;

use crate::protocol::{verify_log_signatures, AddCheckpoint, ProofSource};
use crate::witness::Witness;

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
    let (old, proof, source) = match &stored {
        None => (0, Vec::new(), ProofSource::Unauthenticated),
        Some(s) if s.checkpoint.size == 0 => (0, Vec::new(), ProofSource::Unauthenticated),
        Some(s) if checkpoint.size < s.checkpoint.size => {
            // Stale (a cache, or a mirror behind): nothing to say without a proof.
            tracing::debug!(%origin, size = checkpoint.size, stored = s.checkpoint.size, "log checkpoint older than the cosigned one");
            return Ok(());
        }
        Some(s) if checkpoint.size == s.checkpoint.size => {
            if checkpoint.root == s.checkpoint.root {
                return Ok(());
            }
            // A fork at the same size: the signatures prove it; let the
            // check record it.
            (s.checkpoint.size, Vec::new(), ProofSource::Unauthenticated)
        }
        Some(s) => {
            let (old, new) = (s.checkpoint.size, checkpoint.size);
            let proof = client.consistency_proof(old, new).await?;
            if verify_consistency(old, new, &s.checkpoint.root, &checkpoint.root, &proof).is_ok() {
                (
                    old,
                    proof,
                    ProofSource::LogTiles {
                        prefix_root: s.checkpoint.root,
                    },
                )
            } else {
                let nodes = client.node_hashes(&root_plan(old), new).await?;
                let prefix_root = fold_right(&nodes).unwrap_or(EMPTY_ROOT);
                if verify_consistency(old, new, &prefix_root, &checkpoint.root, &proof).is_err() {
                    bail!(
                        "the log's tiles do not hash to its signed root at size {new}: tiles not trusted, not cosigning"
                    );
                }
                (old, proof, ProofSource::LogTiles { prefix_root })
            }
        }
    };
    let req = AddCheckpoint {
        old,
        proof,
        note,
        checkpoint,
        source,
    };
    match witness.add_checkpoint(req, "watch").await {
        Ok(_) => Ok(()),
        Err(r) => bail!("checkpoint refused: {} {}", r.status, r.reason),
    }
}

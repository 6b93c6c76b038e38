//! Handler helpers the root and tenant endpoints share: queueing an entry
//! for the sequencer, answering with an entry's proof, and the HTTP answer
//! to a key that cannot be used or changed.

use axum::http::StatusCode;
use serde::Serialize;
use tokio::sync::oneshot;

use super::proofs::read_inclusion_and_leaf;
use super::{ApiError, AppState};
use crate::fork_guard::Hold;
use crate::note::encode_b64;
use crate::sequencer::{Entry, Outcome, QueueError, Submission};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::tenant_key::KeyChangeError;

/// An entry with its proof against a checkpoint.
#[derive(Serialize)]
pub struct ProvenEntry {
    pub index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    pub leaf_hash: String,
    pub checkpoint: String,
    pub inclusion_proof: Vec<String>,
    /// When the entry was in the log by (RFC 3339, UTC), as `checkpoint`'s
    /// cosignatures attest it; null when they do not meet the policy yet.
    pub logged_by: Option<String>,
    /// Who attests `logged_by`: `witnesses`, or `log_claim` (no witness
    /// policy: the log's own word); null with it.
    pub logged_by_attested: Option<&'static str>,
}

/// The entry at `index` with its inclusion proof against `checkpoint`; the
/// leaf hash is read once, with the proof.
pub(super) fn prove(
    state: &AppState,
    index: u64,
    checkpoint: &SignedCheckpoint,
    statement: Option<String>,
) -> Result<ProvenEntry, ApiError> {
    let bound = state.logged_by(checkpoint);
    let (inclusion_proof, leaf) = read_inclusion_and_leaf(state, index, checkpoint.size)?;
    Ok(ProvenEntry {
        index,
        statement,
        leaf_hash: encode_b64(&leaf),
        checkpoint: checkpoint.note.clone(),
        inclusion_proof,
        logged_by: bound.map(|b| b.rfc3339()),
        logged_by_attested: bound.map(|b| b.attested.as_str()),
    })
}

/// Queues an entry for the sequencer and waits for its outcome, which comes
/// only once whatever it appended is durable.
pub(super) async fn sequence(state: &AppState, entry: Entry) -> Result<Outcome, ApiError> {
    let stopped = || {
        ApiError::unavailable(
            "sequencer_stopped",
            "the log stopped sequencing after a storage failure; nothing was logged",
            30,
        )
    };
    // A starting log learns its witnesses' sizes within a few round trips:
    // wait that long rather than refuse the first submissions after a start.
    state
        .guard
        .wait_open(GUARD_WAIT)
        .await
        .map_err(hold_error)?;
    let (reply, answer) = oneshot::channel();
    state
        .sequencer
        .try_submit(Submission { entry, reply })
        .map_err(|e| match e {
            QueueError::Full => ApiError::unavailable(
                "overloaded",
                "the submission queue is full; retry after a second",
                1,
            ),
            QueueError::Stopped => stopped(),
        })?;
    match answer.await {
        Ok(Ok(Outcome::Held)) => Err(state.guard.hold().map(hold_error).unwrap_or_else(|| {
            ApiError::unavailable("starting", "the log was not ready; retry", 1)
        })),
        Ok(Ok(outcome)) => Ok(outcome),
        _ => Err(stopped()),
    }
}

/// How long a submission waits for a starting log's fork guard to open.
const GUARD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The answer while the fork guard holds sequencing (`crate::fork_guard`).
fn hold_error(hold: Hold) -> ApiError {
    match hold {
        Hold::Starting { waiting_for } => ApiError::unavailable(
            "starting",
            format!(
                "the log is starting: before it sequences anything it learns the largest size its witnesses cosigned, and these have not answered yet: {}; retry shortly",
                waiting_for.join(", ")
            ),
            1,
        ),
        Hold::Behind(behind) => ApiError::unavailable(
            "log_behind",
            format!(
                "the log does not sequence: {behind}, so appending would sign a second tree; nothing was logged. The operator must restore the missing entries (the server log says how)"
            ),
            60,
        ),
    }
}

/// The HTTP answer to a key change or key that cannot be used. `statement`:
/// the key signed a submitted statement (403), rather than being changed (409).
pub fn key_error(e: KeyChangeError, statement: bool) -> ApiError {
    let status = match &e {
        KeyChangeError::UnknownTenant(_) if statement => StatusCode::FORBIDDEN,
        KeyChangeError::UnknownTenant(_) | KeyChangeError::UnknownKey { .. } => {
            StatusCode::NOT_FOUND
        }
        KeyChangeError::KeyNotActive { .. } if statement => StatusCode::FORBIDDEN,
        KeyChangeError::TenantExists(_) | KeyChangeError::KeyNotActive { .. } => {
            StatusCode::CONFLICT
        }
        KeyChangeError::BadFormat(_)
        | KeyChangeError::BadVkey(_)
        | KeyChangeError::BadEffective(_) => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.code(), e.to_string())
}

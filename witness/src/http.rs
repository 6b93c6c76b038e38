//! HTTP routes (axum): the tlog-witness submission endpoint, the monitoring
//! endpoint, evidence, health and metrics. Handlers translate between HTTP
//! and `Witness`; every decision lives in `protocol` and `witness`.
//!
//! Protocol answers are plain text: 200 carries cosignature lines, 409 the
//! stored size as `text/x.tlog.size`, other refusals a one-line reason
//! (clients only look at the status code).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use rootlog_runtime::drain::{drain_oversize, DrainLimits};

use crate::protocol::{parse_add_checkpoint, Refusal, MAX_BODY_BYTES};
use crate::witness::Witness;

const TEXT: &str = "text/plain; charset=utf-8";
/// Content type of a 409 body (tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{hash}/checkpoint", get(checkpoint))
        .route("/evidence", get(evidence))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(
            DrainLimits::new(MAX_BODY_BYTES),
            drain_oversize,
        ))
        .with_state(witness)
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, headers: HeaderMap, body: Body) -> Response {
    let result = add_checkpoint_inner(&w, &headers, body).await;
    let status = match &result {
        Ok(_) => 200,
        Err(r) => r.status,
    };
    w.metrics.request(status);
    match result {
        Ok(line) => ([(header::CONTENT_TYPE, TEXT)], line).into_response(),
        Err(r) => refusal_response(&r),
    }
}

async fn add_checkpoint_inner(
    w: &Arc<Witness>,
    headers: &HeaderMap,
    body: Body,
) -> Result<String, Refusal> {
    let too_large = || {
        Refusal::new(
            413,
            format!("request body larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let read = match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => Err(too_large()),
        // The limit also covers chunked bodies with no declared length.
        _ => axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large()),
    };
    let req = read.and_then(|bytes| parse_add_checkpoint(&bytes)).inspect_err(|r| {
        tracing::warn!(source = "http", status = r.status, reason = %r.reason, "refused checkpoint");
    })?;
    w.add_checkpoint(req, "http").await.map(|sig| sig.line())
}

fn refusal_response(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (r.status, r.stored_size) {
        (409, Some(size)) => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{size}\n"),
        )
            .into_response(),
        // The rest of an oversize body is never read, so the connection is closed
        // after this answer; saying so keeps a client from reusing it.
        (413, _) => (
            status,
            [(header::CONTENT_TYPE, TEXT), (header::CONNECTION, "close")],
            format!("{}\n", r.reason),
        )
            .into_response(),
        _ => (
            status,
            [(header::CONTENT_TYPE, TEXT)],
            format!("{}\n", r.reason),
        )
            .into_response(),
    }
}

async fn checkpoint(State(w): State<Arc<Witness>>, Path(hash): Path<String>) -> Response {
    // A sled read of one cached row, as in add-checkpoint's decision: no
    // need for the blocking pool; it waits for the state to be durable.
    match w.checkpoint_by_hash(&hash).await {
        Ok(Some(note)) => ([(header::CONTENT_TYPE, TEXT)], note).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no cosigned checkpoint for this log\n",
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read a stored checkpoint");
            internal_error()
        }
    }
}

async fn evidence(State(w): State<Arc<Witness>>) -> Response {
    let w2 = Arc::clone(&w);
    match tokio::task::spawn_blocking(move || w2.evidence()).await {
        Ok(Ok(list)) => Json(list).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read evidence");
            internal_error()
        }
        Err(_) => internal_error(),
    }
}

async fn healthz(State(w): State<Arc<Witness>>) -> Response {
    Json(json!({
        "status": "ok",
        "name": w.name(),
        "vkey": w.vkey(),
        "logs": w.logs().keys().collect::<Vec<_>>(),
        "evidence": w.metrics.evidence(),
    }))
    .into_response()
}

async fn metrics(State(w): State<Arc<Witness>>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        w.render_metrics(),
    )
        .into_response()
}

fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, TEXT)],
        "internal error; see the witness's log\n",
    )
        .into_response()
}

//! `GET /v1/admin/backup`: an online backup of the log at its newest durable
//! checkpoint, streamed as `rootlog-backup/v1` (see `crate::backup`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use tokio_stream::wrappers::ReceiverStream;

use super::tenants::require_admin;
use super::{ApiError, AppState};
use crate::backup::{encode_header, write_frames, Header};
use crate::tenant_key::format_time;

/// Streams the backup. The size is the newest checkpoint the sequencer has
/// published, which is flushed: nothing in the backup can be taken back by
/// a crash of this server.
pub async fn backup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let size = state.latest().size;
    let header = Header {
        origin: state.origin.clone(),
        log_vkey: state.log_vkey.clone(),
        tree_size: size,
        taken_at: format_time(time::OffsetDateTime::now_utc()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        if tx
            .blocking_send(Ok(Bytes::from(encode_header(&header))))
            .is_err()
        {
            return;
        }
        let sent = write_frames(&store, size, |chunk| {
            tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
        });
        match sent {
            Ok(()) => tracing::info!(tree_size = size, "backup streamed"),
            Err(e) => {
                tracing::warn!(error = %e, "backup stopped");
                // Breaks the response off, so the client sees an error, not a short backup.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rootlog-backup-{size}.bin\""),
            ),
        ],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response())
}

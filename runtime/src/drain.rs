//! Oversize request bodies, read to the end before they are refused.
//!
//! A server that answers 413 and closes the connection while the client is
//! still sending makes the client's kernel see a reset: the client gets a
//! broken pipe instead of the answer, and may lose the answer it had already
//! received (the reason web servers "linger" on close). This layer buffers
//! every body up to `limit + 1` bytes and reads and discards the rest, within
//! a byte and time budget, so that the handler refuses a body it can see is
//! too large and the client reads that refusal. What it hands on is never
//! longer than `limit + 1` bytes, so the handlers' own limits still decide.
//!
//! A body that declares more than the drain budget is passed on untouched:
//! reading it would cost more than the clean answer is worth.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

/// Limits of one draining layer.
#[derive(Debug, Clone, Copy)]
pub struct DrainLimits {
    /// The largest body any handler behind the layer accepts.
    pub limit: usize,
    /// The most bytes read from one oversize body before giving up on it.
    pub budget: usize,
    /// The longest time spent reading one body.
    pub deadline: Duration,
}

impl DrainLimits {
    /// The budget both servers use: clients that send a few MiB by mistake get a
    /// clean 413; larger bodies are cut off.
    pub const fn new(limit: usize) -> Self {
        DrainLimits {
            limit,
            budget: 8 * 1024 * 1024,
            deadline: Duration::from_secs(5),
        }
    }
}

/// Reads up to `limit + 1` bytes of `body`, discarding what follows until the
/// body ends or the budget or deadline runs out. `None` when the body failed
/// or stalled before `limit + 1` bytes were read.
async fn read_capped(body: Body, limits: DrainLimits) -> Option<Bytes> {
    let keep = limits.limit.saturating_add(1);
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let mut body = body;
    let reading = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return kept.len() >= keep;
            };
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if kept.len() < keep {
                    let take = (keep - kept.len()).min(data.len());
                    kept.extend_from_slice(&data[..take]);
                }
                if seen > limits.budget {
                    return true;
                }
            }
        }
        true
    };
    let complete = tokio::time::timeout(limits.deadline, reading)
        .await
        .unwrap_or(kept.len() >= keep);
    complete.then(|| Bytes::from(kept))
}

/// The middleware: buffers the body as described above and hands the request on.
pub async fn drain_oversize(
    State(limits): State<DrainLimits>,
    request: Request,
    next: Next,
) -> Response {
    next.run(buffer_body(request, limits).await).await
}

/// Buffers `request`'s body as described above: the request to hand on.
pub async fn buffer_body(request: Request, limits: DrainLimits) -> Request {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let within_budget = declared.is_none_or(|n| n <= limits.budget as u64);
    if !within_budget {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    let Some(bytes) = read_capped(body, limits).await else {
        // A body that broke off or stalled: the handler's own extractor sees the
        // failure, as it would have without this layer.
        return Request::from_parts(parts, Body::new(FailedBody));
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, bytes.len().into());
    parts.headers.remove(header::TRANSFER_ENCODING);
    Request::from_parts(parts, Body::from(bytes))
}

/// A body whose first frame is an error: what the client's broken body became.
struct FailedBody;

impl http_body::Body for FailedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the request body broke off or stalled before it ended",
        ))))
    }
}

//! The log's HTTP API (axum). `ROUTES` is the list of every route the server
//! registers; openapi.yaml documents exactly these (a test holds them equal).

mod backup;
mod error;
pub mod limits;
mod page;
mod proofs;
mod roots;
mod shared;
mod tenants;
mod tiles;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::watch;
use tower_http::timeout::TimeoutLayer;

use error::PathParams;
pub use error::{ApiError, ErrorCode};
pub use tenants::TenantKeys;

use crate::drain::{buffer_body, DrainLimits};
use crate::metrics::Metrics;
use crate::sequencer::Sequencer;
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::Store;

/// Everything a handler needs.
pub struct AppState {
    pub store: Store,
    pub origin: String,
    pub log_vkey: String,
    pub sequencer: Sequencer,
    pub checkpoint: watch::Receiver<Arc<SignedCheckpoint>>,
    /// The newest checkpoint meeting the witness policy, with its cosignatures
    /// (the log's own checkpoint channel when no witnesses are configured).
    pub witnessed: watch::Receiver<Arc<SignedCheckpoint>>,
    /// How long `?wait=witnessed` waits.
    pub witness_wait: Duration,
    pub tenants: TenantKeys,
    pub admin_token: String,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<crate::api::limits::Limits>,
    /// Full tiles and bundles read recently (immutable, so never stale).
    pub tile_cache: crate::tile_cache::TileCache,
    /// The tree's upper levels, read once (immutable, so never stale).
    pub node_cache: crate::node_cache::NodeCache,
    /// Whether the log may sequence (`crate::fork_guard`).
    pub guard: Arc<crate::fork_guard::ForkGuard>,
    /// The witness policy: which checkpoints count as witnessed, and whose
    /// cosignature times bound when an entry was logged.
    pub policy: crate::witnessing::WitnessPolicy,
    /// The log's public key (its cosignature form reads the log's own time).
    pub log_key: crate::note::Verifier,
    /// Statements for days that ended longer ago than this (seconds) are
    /// refused with `400 stale_date`; None turns the limit off.
    pub max_statement_age: Option<u64>,
    /// The listeners' connection counts.
    pub connections: crate::listener::ConnStats,
    /// How long entries may wait for a witnessed checkpoint before
    /// `/healthz` says `degraded`.
    pub witness_lag_limit: Duration,
    /// Whether `degraded` answers 503 (for a load balancer that should act on it).
    pub degraded_is_unhealthy: bool,
    /// The mirrors' publishers (`--publish-dir`, `--publish-url`), once started.
    pub publishing: std::sync::Mutex<Vec<Arc<crate::publish::PublishStatus>>>,
}

impl AppState {
    /// What each mirror's publisher reports, against the served checkpoint.
    pub fn publish_reports(&self) -> Vec<crate::publish::PublishReport> {
        let served = self.served().size;
        let publishing = self.publishing.lock().unwrap_or_else(|p| p.into_inner());
        publishing.iter().map(|p| p.report(served)).collect()
    }

    /// The proof reader over the store and the node cache.
    pub fn proofs(&self) -> crate::proof_reader::ProofReader<'_> {
        crate::proof_reader::ProofReader::cached(&self.store, &self.node_cache)
    }

    /// The newest durable checkpoint.
    pub fn latest(&self) -> Arc<SignedCheckpoint> {
        self.checkpoint.borrow().clone()
    }

    /// The checkpoint the log serves: the newest one meeting the witness policy.
    pub fn served(&self) -> Arc<SignedCheckpoint> {
        self.witnessed.borrow().clone()
    }

    /// Seconds the oldest entry not covered by a witnessed checkpoint has
    /// waited (0 when every entry is), from the log's own timestamp on the
    /// checkpoint of the batch that appended it.
    pub fn witness_lag(&self) -> u64 {
        let served = self.served().size;
        if self.policy.witnesses.is_empty() || served >= self.latest().size {
            return 0;
        }
        let own = self.store.first_checkpoint_covering(served).ok().flatten();
        let Some(appended) = own.and_then(|(_, note)| {
            let note = crate::note::Note::parse(&note).ok()?;
            crate::timebound::logged_by_stored(&note, &[], 0, &self.log_key)
        }) else {
            return 0;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now.saturating_sub(appended.time)
    }

    /// When everything `checkpoint` covers was logged, by the policy's
    /// witnesses (or the log's own claim without witnesses); None when its
    /// cosignatures do not meet the policy. The checkpoint is one of the
    /// log's own, whose cosignatures were verified when they were stored,
    /// so no signature is checked again on this hot path.
    pub fn logged_by(&self, checkpoint: &SignedCheckpoint) -> Option<crate::timebound::TimeBound> {
        let note = crate::note::Note::parse(checkpoint.note.as_bytes()).ok()?;
        let witnesses: Vec<_> = self
            .policy
            .witnesses
            .iter()
            .map(|w| w.verifier.clone())
            .collect();
        crate::timebound::logged_by_stored(&note, &witnesses, self.policy.quorum, &self.log_key)
    }
}

/// Every (method, path) the server routes, in OpenAPI path syntax (which is
/// also axum's, except that `/tile/{path}` is axum's wildcard `/tile/{*path}`:
/// tile paths contain slashes, so openapi.yaml describes the wildcard by one
/// path template per shape of tile path). Every GET route answers HEAD too.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/{asset}"),
    ("GET", "/checkpoint"),
    ("GET", "/tile/{path}"),
    ("POST", "/v1/roots"),
    ("GET", "/v1/roots/{tenant}/{date}"),
    ("GET", "/v1/roots/{tenant}/{date}/proof"),
    ("GET", "/v1/log/{date}"),
    ("GET", "/v1/entries/{index}"),
    ("GET", "/v1/proof/inclusion"),
    ("GET", "/v1/proof/consistency"),
    ("GET", "/v1/tenants"),
    ("POST", "/v1/tenants"),
    ("GET", "/v1/tenants/{id}"),
    ("POST", "/v1/tenants/{id}/keys"),
    ("GET", "/v1/admin/backup"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
];

/// The largest request body any endpoint reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest a request may take, including waiting for the sequencer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the router with every route (admin routes included).
pub fn router(state: Arc<AppState>) -> Router {
    finish(public_routes().merge(admin_routes()), state)
}

/// The routes for a public listener when admin routes are served elsewhere
/// (`--admin-listen`): registering tenants is then not reachable from it,
/// reading them is.
pub fn public_router(state: Arc<AppState>) -> Router {
    finish(
        public_routes()
            .route("/v1/tenants", get(tenants::list))
            .route("/v1/tenants/{id}", get(tenants::show)),
        state,
    )
}

/// The routes for a separate admin listener.
pub fn admin_router(state: Arc<AppState>) -> Router {
    finish(admin_routes().route("/healthz", get(healthz)), state)
}

fn public_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(page::index))
        .route("/{asset}", get(page::asset))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        .route("/v1/roots", post(roots::submit))
        .route("/v1/roots/{tenant}/{date}", get(roots::show))
        .route("/v1/roots/{tenant}/{date}/proof", get(roots::proof_file))
        .route("/v1/log/{date}", get(roots::by_date))
        .route("/v1/entries/{index}", get(roots::entry))
        .route("/v1/proof/inclusion", get(proofs::inclusion))
        .route("/v1/proof/consistency", get(proofs::consistency))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

fn admin_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/tenants", get(tenants::list).post(tenants::register))
        .route("/v1/tenants/{id}/keys", post(tenants::change_key))
        .route("/v1/admin/backup", get(backup::backup))
        .route("/v1/tenants/{id}", get(tenants::show))
}

/// The fallbacks and layers every listener shares.
fn finish(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    routes
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Every request's way in, as one middleware rather than three (each
/// `from_fn` layer clones the service behind it and boxes a future per
/// request, which costs measurably on the hot path): the body is
/// buffered (`crate::drain`), the per-IP limit and the in-flight cap
/// admit the request (`limits`), an error answer, the guard's 429s
/// and 503s included, is counted by its code, the answer's latency is
/// recorded by route, and the audit trail gets its line
/// ([`audit_line`]).
async fn edge(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = route_of(request.extensions().get::<axum::extract::MatchedPath>());
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let request = buffer_body(request, DrainLimits::new(MAX_BODY_BYTES)).await;
    let response = match state.limits.admit(&request) {
        // The permit is held until the answer is ready.
        Ok(_permit) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    };
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    if let Some(code) = code {
        state.metrics.reject(code);
    }
    let took = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(route, method.as_str(), status, took);
    audit_line(&method, route, status, code, took, client, &response);
    response
}

/// What an answer to a submission says about it, for the audit trail.
#[derive(Debug, Clone)]
pub struct Audited {
    pub tenant: String,
    pub date: String,
    pub index: Option<u64>,
}

/// The audit trail: one line (target `rootlog::audit`, level info) per
/// submission, per admin action and per refused request, with what was
/// asked, the answer and its latency; successful reads get none (they are
/// counted in the request-latency metric).
fn audit_line(
    method: &axum::http::Method,
    route: &'static str,
    status: u16,
    code: Option<&'static str>,
    took: std::time::Duration,
    client: Option<std::net::IpAddr>,
    response: &Response,
) {
    // Listing tenants is a read, whichever listener serves it.
    let listing = route == "/v1/tenants"
        && (method == axum::http::Method::GET || method == axum::http::Method::HEAD);
    let admin = ADMIN_ROUTES.contains(&route) && !listing;
    let submission = route == "/v1/roots" && method == axum::http::Method::POST;
    if !(admin || submission || status >= 400) {
        return;
    }
    let audited = response.extensions().get::<Audited>();
    tracing::info!(
        target: "rootlog::audit",
        kind = if submission { "submission" } else if admin { "admin" } else { "refusal" },
        method = %method,
        route,
        status,
        code = code.unwrap_or(""),
        tenant = audited.map_or("", |a| a.tenant.as_str()),
        date = audited.map_or("", |a| a.date.as_str()),
        index = audited.and_then(|a| a.index),
        ms = took.as_secs_f64() * 1000.0,
        client = client.map(|c| c.to_string()).unwrap_or_default(),
    );
}

/// The admin routes (for the audit trail's `kind`).
const ADMIN_ROUTES: &[&str] = &["/v1/tenants", "/v1/tenants/{id}/keys", "/v1/admin/backup"];

/// The route template a request matched, as `ROUTES` spells it (a small,
/// fixed set of label values); `other` for no route.
fn route_of(matched: Option<&axum::extract::MatchedPath>) -> &'static str {
    let Some(matched) = matched else {
        return "other";
    };
    let path = matched.as_str().replace("{*path}", "{path}");
    ROUTES
        .iter()
        .map(|(_, p)| *p)
        .find(|p| *p == path)
        .unwrap_or("other")
}

async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        "no such endpoint; see openapi.yaml for the API",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see openapi.yaml",
    )
}

/// `GET /checkpoint`: the newest checkpoint meeting the witness policy, as a
/// signed note with the log's signature and every cosignature collected
/// (without witnesses: the newest log-signed checkpoint).
async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    let served = state.served();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        served.note.clone(),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let latest = state.latest();
    let running = !state.sequencer.is_stopped();
    // A failed integrity check makes the log unhealthy too (see integrity.rs).
    let intact = !state.metrics.integrity.failing();
    let hold = state.guard.hold();
    let lag = state.witness_lag();
    let publishing = state.publish_reports();
    // A publisher stopped on a conflicting object: the log is fine, its
    // mirror no longer follows it.
    let degraded =
        lag > state.witness_lag_limit.as_secs() || publishing.iter().any(|p| p.state == "stopped");
    // The worst condition names the status.
    let status = match (running, &hold, intact, degraded) {
        (false, _, _, _) => "sequencer_stopped",
        (true, Some(crate::fork_guard::Hold::Behind(_)), _, _) => "log_behind",
        (true, _, false, _) => "integrity_failed",
        (true, Some(crate::fork_guard::Hold::Starting { .. }), true, _) => "starting",
        (true, None, true, true) => "degraded",
        (true, None, true, false) => "ok",
    };
    let code = match status {
        "ok" => StatusCode::OK,
        "degraded" if !state.degraded_is_unhealthy => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut body = serde_json::json!({
        "status": status,
        "origin": state.origin,
        "tree_size": latest.size,
        "witnessed_size": state.served().size,
        "queued": state.sequencer.queued(),
        "sequencing": state.guard.health_json(),
        "witnessing": {
            "lag_seconds": lag,
            "lag_limit_seconds": state.witness_lag_limit.as_secs(),
        },
        "integrity": state.metrics.integrity.health_json(),
    });
    if !publishing.is_empty() {
        body["publishing"] = publishing
            .iter()
            .map(|p| {
                serde_json::json!({
                    "target": p.target,
                    "state": p.state,
                    "published_size": p.published_size,
                    "lag_entries": p.lag_entries,
                    "lag_seconds": p.lag_seconds.round() as u64,
                    "error": p.error,
                })
            })
            .collect();
    }
    (code, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let served = state.served();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let snapshot = crate::metrics::Snapshot {
        tree_size: state.latest().size,
        witnessed_size: served.size,
        witnessed_age_seconds: state
            .logged_by(&served)
            .map(|b| (now - b.time as f64).max(0.0)),
        queued: state.sequencer.queued(),
        disk_bytes: state.store.size_on_disk(),
        sequencer_running: !state.sequencer.is_stopped(),
        held: match state.guard.hold() {
            None => None,
            Some(crate::fork_guard::Hold::Starting { .. }) => Some("starting"),
            Some(crate::fork_guard::Hold::Behind(_)) => Some("behind"),
        },
        largest_seen_size: state.guard.largest_seen(),
        connections_open: state.connections.open(),
        connections_evicted: state.connections.evicted(),
        publishing: state.publish_reports(),
    };
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(&snapshot),
    )
        .into_response()
}

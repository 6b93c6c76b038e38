//! Starting and stopping the log server: open the data directory, make sure a
//! checkpoint exists, start the sequencer, serve HTTP, and on SIGTERM/SIGINT
//! stop taking requests, let the sequencer drain, and flush.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::api::{self, AppState, TenantKeys};
use crate::fork_guard::ForkGuard;
use crate::identity;
use crate::metrics::Metrics;
use crate::publish::Published;
use crate::sequencer::{BatchConfig, Sequencer};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::witnessing::{self, WitnessPolicy};

/// How to run a log server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub origin: Option<String>,
    pub batch: BatchConfig,
    /// Witnesses to push checkpoints to, and the K-of-N policy.
    pub witnessing: WitnessPolicy,
    /// How long `POST /v1/roots?wait=witnessed` waits.
    pub witness_wait: Duration,
    /// How long a starting log waits for every witness to tell its size
    /// before a quorum of answers is enough to sequence (`fork_guard`).
    pub witness_check_wait: Duration,
    /// Statements for days that ended longer ago than this many seconds are
    /// refused (`400 stale_date`); None turns the limit off.
    pub max_statement_age: Option<u64>,
    /// Where to keep a static tlog-tiles mirror of the log, if anywhere.
    pub publish_dir: Option<PathBuf>,
    /// An S3-compatible bucket to keep a mirror in too (`s3://BUCKET/PREFIX`).
    pub publish_url: Option<crate::publish::object::S3Url>,
    /// The admin listener's address, which alone serves the admin endpoints;
    /// None puts them on the public listener (`--admin-on-public`).
    pub admin_listen: Option<SocketAddr>,
    /// Rate limits and the in-flight cap.
    pub limits: crate::api::limits::LimitConfig,
    /// How often the periodic integrity check runs (zero: never).
    pub check_interval: std::time::Duration,
    /// Bytes of full tiles and bundles kept in memory (zero: none).
    pub tile_cache_bytes: usize,
    /// What one client may hold (`crate::listener`); the cap is lowered at
    /// start to fit the open-file limit.
    pub conn_limits: crate::listener::ConnLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: crate::api::limits::TrustedProxies,
    /// How long entries may wait for a witnessed checkpoint before
    /// `/healthz` says `degraded`.
    pub witness_lag_limit: Duration,
    /// `degraded` answers 503 instead of 200.
    pub degraded_is_unhealthy: bool,
}

/// The checkpoint to serve before any meets the witness policy: the empty
/// tree's, which every log signs at first start and which needs no witness.
fn initial_witnessed(
    id: &identity::LogIdentity,
    policy: &WitnessPolicy,
) -> anyhow::Result<SignedCheckpoint> {
    if let Some(witnessed) = witnessing::load_witnessed(&id.store, policy)? {
        return Ok(witnessed);
    }
    match id.store.checkpoint(0)? {
        Some(note) => Ok(SignedCheckpoint {
            size: 0,
            root: crate::merkle::EMPTY_ROOT,
            note: String::from_utf8(note).context("stored checkpoint is not UTF-8")?,
        }),
        None => Ok(SignedCheckpoint::sign(
            &id.signer,
            &id.origin,
            0,
            crate::merkle::EMPTY_ROOT,
        )),
    }
}

/// Reads the newest stored checkpoint, or signs and stores one for the tree on
/// disk if there is none yet (the empty tree at first start). Each signing is
/// of the tree on disk, so it is consistent with every earlier checkpoint.
fn latest_checkpoint(id: &identity::LogIdentity) -> anyhow::Result<SignedCheckpoint> {
    let size = id.store.size()?;
    if let Some((stored_size, note)) = id.store.latest_checkpoint()? {
        if stored_size == size {
            let note = String::from_utf8(note).context("stored checkpoint is not UTF-8")?;
            let root = id.store.frontier()?.root();
            return Ok(SignedCheckpoint { size, root, note });
        }
    }
    let root = id.store.frontier()?.root();
    let signed = SignedCheckpoint::sign(&id.signer, &id.origin, size, root);
    id.store.put_checkpoint(size, signed.note.as_bytes())?;
    Ok(signed)
}

/// Checks every setting that can be checked without the data directory, so
/// a mistake is refused before the first start creates the log key or
/// records the origin.
fn validate(config: &ServeConfig) -> anyhow::Result<()> {
    config
        .witnessing
        .validate()
        .map_err(|e| anyhow::anyhow!(e))?;
    if let Some(origin) = &config.origin {
        if !crate::note::is_valid_key_name(origin) {
            anyhow::bail!("invalid origin {origin:?}: use a schema-less URL such as log.example.com/rootlog (no spaces, no '+')");
        }
    }
    identity::admin_token_from_env()?;
    if let Some(dir) = &config.publish_dir {
        identity::check_publish_dir(&config.data, dir)?;
    }
    Ok(())
}

/// How long a starting log waits for a bucket mirror's checkpoint before it
/// starts without (its publisher checks again before writing).
const MIRROR_CHECK_WAIT: Duration = Duration::from_secs(15);

/// The fork guard of a starting log, told what the log itself and its
/// mirror show; the witnesses tell it their sizes as they answer
/// (`witnessing`).
async fn fork_guard(
    id: &identity::LogIdentity,
    config: &ServeConfig,
) -> anyhow::Result<(Arc<ForkGuard>, bool)> {
    let witnesses: Vec<String> = config
        .witnessing
        .witnesses
        .iter()
        .map(|w| w.verifier.name().to_string())
        .collect();
    let guard = Arc::new(ForkGuard::new(&witnesses, config.witnessing.quorum));
    let tree_size = id.store.size()?;
    if let Some((size, _)) = id.store.latest_checkpoint()? {
        guard.seen("the log's own stored checkpoints", size, tree_size);
    }
    if let Some(size) = id.store.cosigned_sizes().next().transpose()? {
        guard.seen("the log's own stored cosignatures", size, tree_size);
    }
    let mut mirror_ok = true;
    for target in publish_targets(config) {
        let source = format!("the mirror in {}", target.describe());
        let (store, key, handle) = (
            id.store.clone(),
            id.signer.verifier(),
            tokio::runtime::Handle::current(),
        );
        let is_bucket = matches!(target, crate::publish::Target::Bucket(_));
        let inspect = tokio::task::spawn_blocking(move || {
            let sink = target.open(handle)?;
            crate::publish::inspect_sink(&store, sink.as_ref(), &key)
        });
        // A store that hangs is a store that cannot be reached.
        let inspected = match tokio::time::timeout(MIRROR_CHECK_WAIT, inspect).await {
            Ok(joined) => joined.context("the mirror check panicked")?,
            Err(_) => Err(anyhow::anyhow!("no answer within {MIRROR_CHECK_WAIT:?}")),
        };
        let published = match inspected {
            Ok(published) => published,
            // A store that cannot be reached now must not keep the log from
            // starting; its publisher checks it again before writing.
            Err(e) if is_bucket && !crate::publish::sink::is_fatal(&e) => {
                tracing::warn!(mirror = %source, error = %format!("{e:#}"), "cannot read the mirror's checkpoint at start; its publisher will check it before publishing");
                continue;
            }
            Err(e) => return Err(e),
        };
        match published {
            Published::Nothing | Published::Within(_) => {}
            Published::Ahead(size) => {
                guard.seen(&source, size, tree_size);
                mirror_ok = false;
            }
            Published::Forked(size) => {
                guard.forked(&source, size, tree_size);
                mirror_ok = false;
            }
        }
    }
    Ok((guard, mirror_ok))
}

/// Every mirror the log publishes: its directory, its bucket.
fn publish_targets(config: &ServeConfig) -> Vec<crate::publish::Target> {
    let dir = config.publish_dir.clone().map(crate::publish::Target::Dir);
    let bucket = config
        .publish_url
        .clone()
        .map(crate::publish::Target::Bucket);
    dir.into_iter().chain(bucket).collect()
}

/// Runs the server until a shutdown signal.
pub async fn serve(mut config: ServeConfig) -> anyhow::Result<()> {
    validate(&config)?;
    let fd_limit = crate::listener::raise_fd_limit();
    let cap = crate::listener::fitting_cap(config.conn_limits.max_connections, fd_limit);
    if cap < config.conn_limits.max_connections {
        tracing::warn!(
            fd_limit,
            wanted = config.conn_limits.max_connections,
            cap,
            "the open-file limit allows fewer connections than --max-connections; raise LimitNOFILE (systemd) or ulimit -n"
        );
    }
    config.conn_limits.max_connections = cap;
    // Listening is checked before the data directory is touched, too.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let admin_listener = match config.admin_listen {
        None => None,
        Some(admin_addr) => Some(
            tokio::net::TcpListener::bind(admin_addr)
                .await
                .with_context(|| format!("cannot listen on {admin_addr} for the admin endpoints (give another --admin-listen, or --admin-on-public to serve them on --listen)"))?,
        ),
    };
    let first_start = !config.data.join("db").exists();
    if first_start && config.origin.is_none() {
        tracing::warn!(
            origin = identity::DEFAULT_ORIGIN,
            "no --origin given at first start: this log is named {:?} forever; \
             a log meant to be used names itself with a schema-less URL it controls (--origin)",
            identity::DEFAULT_ORIGIN
        );
    }
    let id = identity::open(&config.data, config.origin.as_deref())?;
    let (admin_token, token_path) = identity::admin_token(&config.data)?;
    let latest = Arc::new(latest_checkpoint(&id)?);
    let (latest_tx, latest_rx) = watch::channel(latest.clone());
    let (guard, mirror_ok) = fork_guard(&id, &config).await?;
    let metrics = Arc::new(Metrics::default());
    // Without witnesses the served checkpoint is simply the latest one.
    let witnessed_rx = if config.witnessing.witnesses.is_empty() {
        latest_rx.clone()
    } else {
        let (witnessed_tx, witnessed_rx) =
            watch::channel(Arc::new(initial_witnessed(&id, &config.witnessing)?));
        tokio::spawn(witnessing::run(
            id.store.clone(),
            config.witnessing.clone(),
            latest_rx.clone(),
            witnessed_tx,
            guard.clone(),
            metrics.clone(),
        ));
        let (guard, wait) = (guard.clone(), config.witness_check_wait);
        tokio::spawn(async move {
            if tokio::time::timeout(wait, guard.opened()).await.is_err() {
                guard.wait_over();
                match guard.hold() {
                    None => tracing::warn!("not every witness told its size within --witness-check-wait; sequencing with the answers of a quorum (the others are still asked)"),
                    Some(hold) => tracing::warn!(?hold, "still not sequencing: fewer than a quorum of witnesses have told their size"),
                }
            }
        });
        witnessed_rx
    };
    {
        let guard = guard.clone();
        tokio::spawn(async move {
            guard.opened().await;
            tracing::info!("sequencing: nobody holds a checkpoint larger than this tree");
        });
    }
    let tenants = TenantKeys::load(&id.store)?;
    let log_vkey = id.signer.vkey();
    let log_key = id.signer.verifier();
    crate::integrity::spawn_periodic_check(
        id.store.clone(),
        id.signer.verifier(),
        metrics.clone(),
        config.check_interval,
    );
    let (sequencer, integrator) = Sequencer::start(
        id.store.clone(),
        id.signer,
        id.origin.clone(),
        latest_tx,
        metrics.clone(),
        config.batch,
        guard.clone(),
    )?;
    let limits = Arc::new(crate::api::limits::Limits::new(
        config.limits,
        config.trusted_proxies.clone(),
    ));
    let shrinker = limits.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            shrinker.shrink();
        }
    });
    let state = Arc::new(AppState {
        store: id.store.clone(),
        origin: id.origin.clone(),
        log_vkey: log_vkey.clone(),
        sequencer,
        checkpoint: latest_rx,
        witnessed: witnessed_rx,
        witness_wait: config.witness_wait,
        tenants,
        admin_token,
        metrics,
        limits: limits.clone(),
        tile_cache: crate::tile_cache::TileCache::new(config.tile_cache_bytes),
        node_cache: crate::node_cache::NodeCache::default(),
        guard,
        policy: config.witnessing.clone(),
        log_key: log_key.clone(),
        max_statement_age: config.max_statement_age,
        connections: crate::listener::ConnStats::default(),
        witness_lag_limit: config.witness_lag_limit,
        degraded_is_unhealthy: config.degraded_is_unhealthy,
        publishing: Default::default(),
    });

    for target in publish_targets(&config) {
        if !mirror_ok {
            tracing::error!(target = %target.describe(), "not publishing: a mirror holds a checkpoint this tree cannot extend (see the NOT SEQUENCING message)");
            continue;
        }
        // The mirror publishes what GET /checkpoint serves: the newest
        // checkpoint meeting the witness policy, with its cosignatures.
        let status = crate::publish::spawn(
            id.store.clone(),
            target,
            &log_key,
            config.witnessing.clone(),
            state.witnessed.clone(),
        );
        state
            .publishing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(status);
    }

    let addr = listener.local_addr()?;
    tracing::info!(origin = %id.origin, tree_size = latest.size, vkey = %log_vkey, "log ready");
    if let Some(path) = token_path {
        tracing::info!(path = %path.display(), "admin token file (set ROOTLOG_ADMIN_TOKEN to choose one)");
    }
    // One machine-readable line on stdout, so scripts and tests learn the port.
    println!("rootlog: listening on http://{addr}");

    // One shutdown signal stops every listener.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let conns = state.connections.clone();
    let app = match admin_listener {
        None => api::router(state.clone()),
        Some(admin) => {
            println!("rootlog: admin listening on http://{}", admin.local_addr()?);
            let (app, stop, limits, stats) = (
                api::admin_router(state.clone()),
                stopped(stop_rx.clone()),
                config.conn_limits,
                conns.clone(),
            );
            tokio::spawn(async move {
                if let Err(e) = crate::listener::serve(admin, app, limits, stats, stop).await {
                    tracing::error!(error = %e, "the admin listener failed");
                }
            });
            api::public_router(state.clone())
        }
    };
    crate::listener::serve(listener, app, config.conn_limits, conns, stopped(stop_rx)).await?;

    // No handler holds a sequencer handle any more: dropping ours lets the
    // integrator finish what is queued and exit.
    drop(state);
    let _ = tokio::task::spawn_blocking(move || integrator.join()).await;
    id.store.flush()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

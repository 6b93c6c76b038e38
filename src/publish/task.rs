//! The publisher as the server runs it: a task that follows the log's
//! witnessed checkpoint and brings the mirror up to it, never blocking
//! sequencing, retrying a failing target with exponential backoff, and
//! stopping (with an alarm, [`PublishStatus`]) on a conflict or a refused
//! target; and what it reports to `/metrics` and `/healthz`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::watch;

use super::{sink, Mirror, Target};
use crate::note::Verifier;
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::Store;
use crate::witnessing::WitnessPolicy;

/// What one publisher is doing, for `/metrics` and `/healthz`: the size it
/// published last, whether it is retrying a failing store, and whether it
/// stopped on a [`Conflict`] (an alarm: the log sequences on, but the
/// mirror no longer follows).
pub struct PublishStatus {
    target: String,
    published: AtomicU64,
    /// The newest witnessed size the publisher was handed.
    wanted: AtomicU64,
    failures: AtomicU64,
    state: Mutex<StatusState>,
}

#[derive(Default)]
struct StatusState {
    /// The last failure, while retrying it.
    retrying: Option<String>,
    /// Why publishing stopped, for good.
    stopped: Option<String>,
    /// Since when the published size has been below the witnessed one.
    behind_since: Option<Instant>,
}

/// A publisher's state as `/healthz` and `/metrics` report it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishReport {
    pub target: String,
    pub published_size: u64,
    /// Witnessed entries not yet published.
    pub lag_entries: u64,
    /// Seconds the mirror has been behind the witnessed checkpoint.
    pub lag_seconds: f64,
    /// Failed attempts since start (each retried).
    pub failures: u64,
    /// `publishing`, `retrying` or `stopped`.
    pub state: &'static str,
    pub error: Option<String>,
}

impl PublishStatus {
    /// A publisher of `target` whose target holds the checkpoint of `published`.
    pub fn new(target: String, published: u64) -> Self {
        PublishStatus {
            target,
            published: AtomicU64::new(published),
            wanted: AtomicU64::new(published),
            failures: AtomicU64::new(0),
            state: Mutex::new(StatusState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, StatusState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The target's name.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether publishing stopped on a conflict.
    pub fn stopped(&self) -> bool {
        self.state().stopped.is_some()
    }

    /// The publisher was handed the witnessed checkpoint of `size`.
    fn want(&self, size: u64) {
        self.wanted.fetch_max(size, Ordering::Relaxed);
        if size > self.published.load(Ordering::Relaxed) {
            self.state().behind_since.get_or_insert_with(Instant::now);
        }
    }

    /// The target now holds the checkpoint of `size`.
    fn published(&self, size: u64) {
        self.published.store(size, Ordering::Relaxed);
        let mut state = self.state();
        state.retrying = None;
        if size >= self.wanted.load(Ordering::Relaxed) {
            state.behind_since = None;
        }
    }

    fn failed(&self, error: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.state().retrying = Some(error);
    }

    fn stop(&self, error: String) {
        self.state().stopped = Some(error);
    }

    /// The report against `witnessed`, the size of the checkpoint the log
    /// serves (the one the mirror follows).
    pub fn report(&self, witnessed: u64) -> PublishReport {
        let published_size = self.published.load(Ordering::Relaxed);
        let wanted = witnessed.max(self.wanted.load(Ordering::Relaxed));
        let lag_entries = wanted.saturating_sub(published_size);
        let state = self.state();
        let lag_seconds = state
            .behind_since
            .map_or(0.0, |since| since.elapsed().as_secs_f64());
        let (name, error) = match (&state.stopped, &state.retrying) {
            (Some(e), _) => ("stopped", Some(e.clone())),
            (None, Some(e)) => ("retrying", Some(e.clone())),
            (None, None) => ("publishing", None),
        };
        PublishReport {
            target: self.target.clone(),
            published_size,
            lag_entries,
            lag_seconds,
            failures: self.failures.load(Ordering::Relaxed),
            state: name,
            error,
        }
    }
}

/// Starts the mirror for a running server: checks the target now (which
/// must hold nothing, or a checkpoint of this tree), then (in a task)
/// catches up and publishes every new checkpoint from `latest` (the newest
/// checkpoint meeting `policy`, with its cosignatures). Returns the status
/// the task keeps.
pub fn spawn(
    store: Store,
    target: Target,
    log_key: &Verifier,
    policy: WitnessPolicy,
    latest: watch::Receiver<Arc<SignedCheckpoint>>,
) -> Arc<PublishStatus> {
    let name = target.describe();
    tracing::info!(target = %name, "publishing a static tlog-tiles mirror");
    let status = Arc::new(PublishStatus::new(name, 0));
    let (log_key, task_status) = (log_key.clone(), status.clone());
    tokio::spawn(async move {
        // A store that is down at start is retried like any failed step;
        // a target this log must not publish over stops the publisher.
        let mut delays = retry_delays();
        let mirror = loop {
            let (store, target, key, policy) = (
                store.clone(),
                target.clone(),
                log_key.clone(),
                policy.clone(),
            );
            let handle = tokio::runtime::Handle::current();
            let opened = blocking(move || {
                let sink = target.open(handle)?;
                let mirror = Mirror::open(store, sink, &key, policy)?;
                let published = mirror.published()?.map_or(0, |c| c.size);
                Ok((mirror, published))
            })
            .await;
            match opened {
                Ok((mirror, published)) => {
                    task_status.published(published);
                    break mirror;
                }
                Err(e) if sink::is_fatal(&e) => {
                    let error = format!("{e:#}");
                    tracing::error!(target = %task_status.target(), error = %error, "PUBLISHING STOPPED: the mirror's target cannot take this log");
                    task_status.stop(error);
                    return;
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    let delay = delays.next().unwrap_or(Duration::from_secs(30));
                    tracing::error!(target = %task_status.target(), error = %error, retry_in = ?delay, "cannot open the mirror's target; retrying");
                    task_status.failed(error);
                    tokio::time::sleep(delay).await;
                }
            }
        };
        run(mirror, latest, task_status).await;
    });
    status
}

/// Runs a blocking mirror step on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("mirror task panicked")?
}

/// The delays between retries of a failing step: exponential from 200 ms
/// to 30 s, with jitter, forever (the store may be down for hours; the lag
/// metric says so meanwhile).
fn retry_delays() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
        .build()
}

async fn run(
    mirror: Mirror,
    mut latest: watch::Receiver<Arc<SignedCheckpoint>>,
    status: Arc<PublishStatus>,
) {
    // Until the first catch-up succeeds, nothing is known to be published.
    let mut published: Option<u64> = None;
    let mut delays = retry_delays();
    loop {
        let next = latest.borrow_and_update().clone();
        status.want(next.size);
        let step = match published {
            None => {
                let m = mirror.clone();
                blocking(move || m.catch_up(&next)).await
            }
            Some(from) if next.size <= from => Ok(from),
            Some(from) => {
                let (m, size) = (mirror.clone(), next.size);
                blocking(move || m.publish(from, size, next.note.as_bytes()))
                    .await
                    .map(|()| size)
            }
        };
        match step {
            Ok(size) => {
                published = Some(size);
                status.published(size);
                delays = retry_delays();
                // Returns at once if a newer checkpoint came during the step.
                // An error means the sequencer is gone: the log is stopping.
                if latest.changed().await.is_err() {
                    return;
                }
            }
            Err(e) if sink::is_fatal(&e) => {
                let error = format!("{e:#}");
                tracing::error!(target = %mirror.target(), error = %error, "PUBLISHING STOPPED: the mirror holds what this log must not publish over; the log keeps sequencing, the mirror no longer follows it");
                status.stop(error);
                return;
            }
            Err(e) => {
                // Retry (with whatever checkpoint is newest then): every step
                // is idempotent.
                let error = format!("{e:#}");
                let delay = delays.next().unwrap_or(Duration::from_secs(30));
                tracing::error!(target = %mirror.target(), error = %error, retry_in = ?delay, "publishing the static mirror failed; retrying");
                status.failed(error);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

//! The server's periodic integrity check: every `--check-interval` it runs
//! the right-edge check ([`check_recent`]) and keeps the outcome for
//! `/healthz` and `/metrics`. The check itself knows nothing of this.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::fsck::{check_recent, Finding, FindingKind};
use crate::metrics::Metrics;
use crate::note::Verifier;
use crate::storage::Store;

/// Findings kept for `/healthz` (the full list is what `rootlog fsck` is for).
pub const HEALTH_FINDINGS: usize = 20;

/// The result of the last periodic check, as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrityStatus {
    pub ok: bool,
    /// RFC 3339 UTC time the check finished.
    pub checked_at: String,
    #[serde(skip)]
    pub checked_at_unix: u64,
    pub tree_size: u64,
    /// The first [`HEALTH_FINDINGS`] findings.
    pub findings: Vec<Finding>,
}

/// The server's record of its periodic checks, shared with the HTTP layer.
#[derive(Default)]
pub struct IntegrityState {
    last: Mutex<Option<IntegrityStatus>>,
    checks: AtomicU64,
}

impl IntegrityState {
    /// Records the outcome of one check.
    pub fn record(&self, status: IntegrityStatus) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(status);
        }
    }

    /// The last check's result; None before the first one finished.
    pub fn last(&self) -> Option<IntegrityStatus> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// True when the last check found a problem (not before any check ran).
    pub fn failing(&self) -> bool {
        self.last().is_some_and(|s| !s.ok)
    }

    /// Checks finished since the server started.
    pub fn checks_total(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The `integrity` object of `/healthz`: `ok` and `checked_at` are null
    /// until the first check has finished.
    pub fn health_json(&self) -> serde_json::Value {
        match self.last() {
            Some(s) => serde_json::json!({
                "ok": s.ok,
                "checked_at": s.checked_at,
                "findings": s.findings,
            }),
            None => serde_json::json!({ "ok": null, "checked_at": null, "findings": [] }),
        }
    }
}

/// Runs [`check_recent`] and turns its outcome (or a read failure) into a status.
pub fn run_periodic_check(store: &Store, log_key: &Verifier) -> IntegrityStatus {
    let (ok, tree_size, findings) = match check_recent(store, log_key) {
        Ok(report) => (report.ok, report.tree_size, report.findings),
        Err(e) => (
            false,
            0,
            vec![Finding {
                kind: FindingKind::CheckFailed,
                location: "db".to_string(),
                detail: format!("the store could not be read: {e}"),
            }],
        ),
    };
    let now = time::OffsetDateTime::now_utc();
    IntegrityStatus {
        ok,
        checked_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        checked_at_unix: u64::try_from(now.unix_timestamp()).unwrap_or(0),
        tree_size,
        findings: findings.into_iter().take(HEALTH_FINDINGS).collect(),
    }
}

/// Starts the periodic right-edge check (every `every`; zero disables it).
/// The first check runs at once. Each runs on a blocking thread, since it
/// reads sled and hashes; results go to `metrics.integrity`.
pub fn spawn_periodic_check(
    store: Store,
    log_key: Verifier,
    metrics: Arc<Metrics>,
    every: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        // A slow check delays the next one instead of firing a burst.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let (store, log_key) = (store.clone(), log_key.clone());
            let status =
                match tokio::task::spawn_blocking(move || run_periodic_check(&store, &log_key))
                    .await
                {
                    Ok(status) => status,
                    Err(e) => {
                        tracing::error!(error = %e, "integrity check did not finish");
                        continue;
                    }
                };
            if !status.ok {
                for finding in &status.findings {
                    tracing::error!(%finding, "integrity check failed");
                }
            }
            metrics.integrity.record(status);
            metrics.integrity_checked();
        }
    }))
}

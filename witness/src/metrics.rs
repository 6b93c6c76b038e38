//! The witness's metrics, kept and exposed with `prometheus-client` (the
//! OpenMetrics text format), as the log's are: add-checkpoint answers by
//! status code, cosignatures issued, evidence records, watch polls, and the
//! group commit's flushes.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::group_commit::FlushCounts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

/// The witness's counters.
pub struct Metrics {
    registry: Registry,
    requests: Family<CodeLabel, Counter>,
    cosignatures: Counter,
    evidence: Counter,
    polls: Family<ResultLabel, Counter>,
    flushes: Counter,
    flush_errors: Counter,
    /// The group commit's counts last reported, so each flush is counted once.
    reported: Mutex<FlushCounts>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            cosignatures: Counter::default(),
            evidence: Counter::default(),
            polls: Family::default(),
            flushes: Counter::default(),
            flush_errors: Counter::default(),
            reported: Mutex::new(FlushCounts::default()),
        };
        let r = &mut registry;
        r.register(
            "rootlog_witness_add_checkpoint_requests",
            "add-checkpoint answers by HTTP status code",
            m.requests.clone(),
        );
        r.register(
            "rootlog_witness_cosignatures",
            "Cosignatures issued (HTTP and watch mode)",
            m.cosignatures.clone(),
        );
        r.register(
            "rootlog_witness_evidence",
            "Evidence records of log misbehaviour stored (counted from those on disk at start)",
            m.evidence.clone(),
        );
        r.register(
            "rootlog_witness_watch_polls",
            "Watch-mode polls by result",
            m.polls.clone(),
        );
        r.register("rootlog_witness_database_flushes", "Group commits of the state: cosignatures per flush is the requests that shared one fsync", m.flushes.clone());
        r.register(
            "rootlog_witness_database_flush_errors",
            "Flushes of the state that failed (their requests were answered 500)",
            m.flush_errors.clone(),
        );
        r.register(
            "rootlog_witness_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: option_env!("ROOTLOG_COMMIT").unwrap_or("unknown"),
            }),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Counts one `POST /add-checkpoint` answer.
    pub fn request(&self, status: u16) {
        self.requests
            .get_or_create(&CodeLabel { code: status })
            .inc();
    }

    pub fn cosigned(&self) {
        self.cosignatures.inc();
    }

    /// Counts the evidence records already on disk (at start).
    pub fn set_evidence(&self, n: u64) {
        self.evidence.inc_by(n);
    }

    pub fn evidence_recorded(&self) {
        self.evidence.inc();
    }

    pub fn evidence(&self) -> u64 {
        self.evidence.get()
    }

    pub fn poll(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.polls.get_or_create(&ResultLabel { result }).inc();
    }

    /// The exposition text, with the store's flush counts brought up to date.
    pub fn render(&self, flushes: FlushCounts) -> String {
        {
            let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
            self.flushes.inc_by(flushes.ok.saturating_sub(reported.ok));
            self.flush_errors
                .inc_by(flushes.failed.saturating_sub(reported.failed));
            *reported = flushes;
        }
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

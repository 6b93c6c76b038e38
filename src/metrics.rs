//! The log's metrics, kept and exposed with `prometheus-client` (the
//! OpenMetrics text format): what an on-call engineer alerts on.
//!
//! Counters are counted where the event happens, once each: a submission
//! is counted by its result (`appended`, `existing`); every refused request,
//! a submission's 409 conflict included, by its error code in
//! `rootlog_rejections_total` and nowhere else. Gauges that describe the
//! log's state (tree size, witnessed size and age, queue, disk, sequencing,
//! connections) are read from the state when `/metrics` is scraped
//! ([`Metrics::render`] takes a [`Snapshot`]).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

/// One request's route (a template, so the label set stays small), method
/// and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WitnessLabel {
    witness: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

/// The state `/metrics` reports, read when it is scraped.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub tree_size: u64,
    pub witnessed_size: u64,
    /// Seconds since the served (witnessed) checkpoint's time bound.
    pub witnessed_age_seconds: Option<f64>,
    pub queued: usize,
    pub disk_bytes: u64,
    pub sequencer_running: bool,
    /// Why sequencing is held: `starting`, `behind`, or None.
    pub held: Option<&'static str>,
    pub largest_seen_size: u64,
    pub connections_open: usize,
    pub connections_evicted: u64,
    /// Each mirror's publisher (`crate::publish`).
    pub publishing: Vec<crate::publish::PublishReport>,
}

/// Every metric of the log.
pub struct Metrics {
    registry: Registry,
    submissions: Family<ResultLabel, Counter>,
    rejections: Family<CodeLabel, Counter>,
    batches: Counter,
    batch_entries: Counter,
    integrate_seconds: FloatCounter,
    requests: Family<RequestLabels, Histogram>,
    witness_size: Family<WitnessLabel, Gauge>,
    witness_cosigned_at: Family<WitnessLabel, Gauge>,
    witness_failures: Family<WitnessLabel, Counter>,
    tree_size: Gauge,
    witnessed_size: Gauge,
    unwitnessed: Gauge,
    witnessed_age: FloatGauge,
    queued: Gauge,
    disk_bytes: Gauge,
    healthy: Gauge,
    held: Family<ReasonLabel, Gauge>,
    largest_seen: Gauge,
    connections_open: Gauge,
    connections_evicted: Gauge,
    integrity_ok: Gauge,
    integrity_checks: Counter,
    integrity_last: Gauge,
    publish_size: Family<TargetLabel, Gauge>,
    publish_lag: Family<TargetLabel, Gauge>,
    publish_lag_seconds: Family<TargetLabel, FloatGauge>,
    publish_failures: Family<TargetLabel, Gauge>,
    publish_stopped: Family<TargetLabel, Gauge>,
    /// Results of the periodic integrity check (`integrity::spawn_periodic_check`).
    pub integrity: crate::integrity::IntegrityState,
}

/// Request-latency buckets: 100 µs to about 6.5 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            submissions: Family::default(),
            rejections: Family::default(),
            batches: Counter::default(),
            batch_entries: Counter::default(),
            integrate_seconds: FloatCounter::default(),
            requests: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            witness_size: Family::default(),
            witness_cosigned_at: Family::default(),
            witness_failures: Family::default(),
            tree_size: Gauge::default(),
            witnessed_size: Gauge::default(),
            unwitnessed: Gauge::default(),
            witnessed_age: FloatGauge::default(),
            queued: Gauge::default(),
            disk_bytes: Gauge::default(),
            healthy: Gauge::default(),
            held: Family::default(),
            largest_seen: Gauge::default(),
            connections_open: Gauge::default(),
            connections_evicted: Gauge::default(),
            integrity_ok: Gauge::default(),
            integrity_checks: Counter::default(),
            integrity_last: Gauge::default(),
            publish_size: Family::default(),
            publish_lag: Family::default(),
            publish_lag_seconds: Family::default(),
            publish_failures: Family::default(),
            publish_stopped: Family::default(),
            integrity: Default::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("rootlog_submissions", "Submissions logged, by result: appended, or existing (an identical retry). Refusals, conflicts included, are in rootlog_rejections_total", m.submissions.clone());
        r.register(
            "rootlog_rejections",
            "Requests refused, by error code (each refusal counted once, here)",
            m.rejections.clone(),
        );
        r.register(
            "rootlog_batches",
            "Integrated batches (one flush and one checkpoint each)",
            m.batches.clone(),
        );
        r.register(
            "rootlog_batch_entries",
            "Entries appended by integrated batches",
            m.batch_entries.clone(),
        );
        r.register(
            "rootlog_integrate_seconds",
            "Time spent integrating batches, including the flush",
            m.integrate_seconds.clone(),
        );
        r.register(
            "rootlog_http_request_duration_seconds",
            "Time to answer a request, by route template, method and status",
            m.requests.clone(),
        );
        r.register(
            "rootlog_witness_cosigned_size",
            "The tree size each witness last cosigned for this log",
            m.witness_size.clone(),
        );
        r.register(
            "rootlog_witness_last_cosigned_timestamp_seconds",
            "Unix time of each witness's last cosignature for this log",
            m.witness_cosigned_at.clone(),
        );
        r.register(
            "rootlog_witness_failures",
            "Pushes to each witness that did not end in a cosignature",
            m.witness_failures.clone(),
        );
        r.register(
            "rootlog_tree_size",
            "Leaves in the log's latest checkpoint",
            m.tree_size.clone(),
        );
        r.register("rootlog_witnessed_size", "Leaves in the newest checkpoint meeting the witness policy (the one GET /checkpoint serves)", m.witnessed_size.clone());
        r.register(
            "rootlog_unwitnessed_entries",
            "Entries sequenced but not yet covered by a checkpoint meeting the witness policy",
            m.unwitnessed.clone(),
        );
        r.register("rootlog_witnessed_checkpoint_age_seconds", "Seconds since the time bound of the served checkpoint (its witnesses' times; the log's own without witnesses)", m.witnessed_age.clone());
        r.register(
            "rootlog_submission_queue",
            "Checked submissions waiting for the sequencer",
            m.queued.clone(),
        );
        r.register(
            "rootlog_disk_bytes",
            "Bytes the log's storage occupies on disk",
            m.disk_bytes.clone(),
        );
        r.register(
            "rootlog_healthy",
            "1 while the sequencer runs, 0 after it stopped on a storage failure",
            m.healthy.clone(),
        );
        r.register("rootlog_sequencing_held", "1 while the log does not sequence, by reason: starting (learning the witnesses' sizes) or behind (somebody holds a checkpoint this tree cannot extend)", m.held.clone());
        r.register("rootlog_largest_seen_size", "The largest checkpoint size the witnesses, the mirror and the log's own record have shown", m.largest_seen.clone());
        r.register(
            "rootlog_connections_open",
            "HTTP connections open",
            m.connections_open.clone(),
        );
        r.register("rootlog_connections_evicted", "Idle connections closed since start to make room for new ones (a count; see --max-connections)", m.connections_evicted.clone());
        r.register(
            "rootlog_integrity_ok",
            "1 unless the last periodic integrity check found a problem (1 before the first check)",
            m.integrity_ok.clone(),
        );
        r.register(
            "rootlog_integrity_checks",
            "Periodic integrity checks finished",
            m.integrity_checks.clone(),
        );
        r.register(
            "rootlog_integrity_last_check_timestamp_seconds",
            "Unix time the last periodic integrity check finished (0 before the first)",
            m.integrity_last.clone(),
        );
        r.register(
            "rootlog_publish_published_size",
            "The size of the checkpoint each mirror (--publish-dir, --publish-url) holds",
            m.publish_size.clone(),
        );
        r.register("rootlog_publish_lag_entries", "Entries covered by the served (witnessed) checkpoint that each mirror does not hold yet", m.publish_lag.clone());
        r.register("rootlog_publish_lag_seconds", "Seconds each mirror has been behind the served (witnessed) checkpoint (0 when it holds it)", m.publish_lag_seconds.clone());
        r.register("rootlog_publish_failures", "Failed publishing attempts per mirror since start (each retried with backoff; a count)", m.publish_failures.clone());
        r.register("rootlog_publish_stopped", "1 once a mirror's publisher stopped for good: its target holds a tile with other bytes, or another log's checkpoint (an alarm; the log sequences on)", m.publish_stopped.clone());
        r.register(
            "rootlog_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: option_env!("ROOTLOG_COMMIT").unwrap_or("unknown"),
            }),
        );
        Metrics { registry, ..m }
    }

    /// Counts one logged submission: `appended` or `existing`.
    pub fn submission(&self, result: &'static str) {
        self.submissions
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Counts one refused request by its error code.
    pub fn reject(&self, code: &'static str) {
        self.rejections.get_or_create(&CodeLabel { code }).inc();
    }

    /// Records one answered request.
    pub fn request(&self, route: &'static str, method: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: method.to_string(),
                status,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts one integrated batch.
    pub fn record_batch(&self, _submissions: usize, appended: usize, took: Duration) {
        self.batches.inc();
        self.batch_entries.inc_by(appended as u64);
        self.integrate_seconds.inc_by(took.as_secs_f64());
    }

    /// A witness cosigned the checkpoint of `size` at Unix time `at`.
    pub fn witness_cosigned(&self, witness: &str, size: u64, at: u64) {
        let label = WitnessLabel {
            witness: witness.to_string(),
        };
        self.witness_size
            .get_or_create(&label)
            .set(i64::try_from(size).unwrap_or(i64::MAX));
        self.witness_cosigned_at
            .get_or_create(&label)
            .set(i64::try_from(at).unwrap_or(i64::MAX));
    }

    /// A push to a witness failed.
    pub fn witness_failed(&self, witness: &str) {
        self.witness_failures
            .get_or_create(&WitnessLabel {
                witness: witness.to_string(),
            })
            .inc();
    }

    /// A periodic integrity check finished.
    pub fn integrity_checked(&self) {
        self.integrity_checks.inc();
    }

    /// The exposition text, with the state gauges set from `now`.
    pub fn render(&self, now: &Snapshot) -> String {
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.tree_size.set(int(now.tree_size));
        self.witnessed_size.set(int(now.witnessed_size));
        self.unwitnessed
            .set(int(now.tree_size.saturating_sub(now.witnessed_size)));
        self.witnessed_age
            .set(now.witnessed_age_seconds.unwrap_or(f64::NAN));
        self.queued.set(int(now.queued as u64));
        self.disk_bytes.set(int(now.disk_bytes));
        self.healthy.set(i64::from(now.sequencer_running));
        for reason in ["starting", "behind"] {
            self.held
                .get_or_create(&ReasonLabel { reason })
                .set(i64::from(now.held == Some(reason)));
        }
        self.largest_seen.set(int(now.largest_seen_size));
        self.connections_open.set(int(now.connections_open as u64));
        self.connections_evicted.set(int(now.connections_evicted));
        let last = self.integrity.last();
        self.integrity_ok
            .set(i64::from(last.as_ref().is_none_or(|s| s.ok)));
        self.integrity_last
            .set(int(last.as_ref().map_or(0, |s| s.checked_at_unix)));
        for p in &now.publishing {
            let label = TargetLabel {
                target: p.target.clone(),
            };
            self.publish_size
                .get_or_create(&label)
                .set(int(p.published_size));
            self.publish_lag
                .get_or_create(&label)
                .set(int(p.lag_entries));
            self.publish_lag_seconds
                .get_or_create(&label)
                .set(p.lag_seconds);
            self.publish_failures
                .get_or_create(&label)
                .set(int(p.failures));
            self.publish_stopped
                .get_or_create(&label)
                .set(i64::from(p.state == "stopped"));
        }
        let mut out = String::new();
        // Encoding into a String cannot fail but for a bug in the encoder.
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_counted_once_and_the_text_is_openmetrics() {
        let m = Metrics::new();
        m.submission("appended");
        m.reject("conflict");
        m.request("/v1/roots", "POST", 409, Duration::from_millis(3));
        m.witness_cosigned("w1.example", 42, 1_700_000_000);
        m.witness_failed("w2.example");
        let text = m.render(&Snapshot {
            tree_size: 50,
            witnessed_size: 42,
            ..Snapshot::default()
        });
        assert!(
            text.contains("rootlog_submissions_total{result=\"appended\"} 1"),
            "{text}"
        );
        assert!(!text.contains("result=\"conflict\""), "{text}");
        assert!(
            text.contains("rootlog_rejections_total{code=\"conflict\"} 1"),
            "{text}"
        );
        assert!(text.contains("rootlog_unwitnessed_entries 8"), "{text}");
        assert!(
            text.contains("rootlog_witness_cosigned_size{witness=\"w1.example\"} 42"),
            "{text}"
        );
        assert!(
            text.contains("rootlog_witness_failures_total{witness=\"w2.example\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rootlog_http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains("rootlog_build_info{"), "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}

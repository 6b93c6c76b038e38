//! Process counters, rendered in the Prometheus text exposition format.
//!
//! A handful of atomics is all the log needs; each is named `rootlog_*` and
//! documented with HELP/TYPE lines so any Prometheus scraper reads them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Counters shared by the HTTP layer and the sequencer.
#[derive(Default)]
pub struct Metrics {
    pub submissions_appended: AtomicU64,
    pub submissions_existing: AtomicU64,
    pub submissions_conflict: AtomicU64,
    /// Rejections by stable error code.
    rejections: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    pub batches: AtomicU64,
    pub batch_entries: AtomicU64,
    pub integrate_micros: AtomicU64,
    /// Results of the periodic integrity check (`fsck::spawn_periodic_check`).
    pub integrity: crate::fsck::IntegrityState,
}

impl Metrics {
    /// Counts one rejected request by its error code.
    pub fn reject(&self, code: &'static str) {
        if let Ok(mut map) = self.rejections.lock() {
            *map.entry(code).or_insert(0) += 1;
        }
    }

    /// Counts one integrated batch.
    pub fn record_batch(&self, _submissions: usize, appended: usize, took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_entries
            .fetch_add(appended as u64, Ordering::Relaxed);
        self.integrate_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The exposition text, with the gauges the caller knows.
    pub fn render(&self, tree_size: u64, queued: usize, disk_bytes: u64, healthy: bool) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "rootlog_tree_size",
            "gauge",
            "Leaves in the log's latest checkpoint.",
            &tree_size,
        );
        metric(
            "rootlog_submission_queue",
            "gauge",
            "Checked submissions waiting for the sequencer.",
            &queued,
        );
        metric(
            "rootlog_disk_bytes",
            "gauge",
            "Bytes the embedded database occupies on disk.",
            &disk_bytes,
        );
        metric(
            "rootlog_healthy",
            "gauge",
            "1 while the sequencer runs, 0 after it stopped on a storage failure.",
            &u8::from(healthy),
        );
        metric(
            "rootlog_batches_total",
            "counter",
            "Integrated batches (one flush and one checkpoint each).",
            &self.batches.load(Ordering::Relaxed),
        );
        metric(
            "rootlog_batch_entries_total",
            "counter",
            "Entries appended by integrated batches.",
            &self.batch_entries.load(Ordering::Relaxed),
        );
        metric(
            "rootlog_integrate_seconds_total",
            "counter",
            "Time spent integrating batches, including the flush.",
            &(self.integrate_micros.load(Ordering::Relaxed) as f64 / 1e6),
        );
        let _ = writeln!(out, "# HELP rootlog_submissions_total Submissions answered, by result.\n# TYPE rootlog_submissions_total counter");
        for (result, counter) in [
            ("appended", &self.submissions_appended),
            ("existing", &self.submissions_existing),
            ("conflict", &self.submissions_conflict),
        ] {
            let _ = writeln!(
                out,
                "rootlog_submissions_total{{result=\"{result}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP rootlog_rejections_total Requests refused, by error code.\n# TYPE rootlog_rejections_total counter");
        if let Ok(map) = self.rejections.lock() {
            for (code, n) in map.iter() {
                let _ = writeln!(out, "rootlog_rejections_total{{code=\"{code}\"}} {n}");
            }
        }
        self.integrity.render_metrics(&mut out);
        out
    }
}

//! Prometheus text metrics: add-checkpoint answers by status code,
//! cosignatures issued, evidence records, watch polls, database flushes.
//! Plain atomics and one small map: the witness has a handful of counters,
//! not a metrics stack.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::group_commit::FlushCounts;

/// The witness's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<u16, u64>>,
    cosignatures: AtomicU64,
    evidence: AtomicU64,
    polls_ok: AtomicU64,
    polls_failed: AtomicU64,
}

impl Metrics {
    /// Counts one `POST /add-checkpoint` answer.
    pub fn request(&self, status: u16) {
        // A poisoned lock only means another thread panicked mid-increment;
        // the map is still a valid map.
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(status).or_insert(0) += 1;
    }

    pub fn cosigned(&self) {
        self.cosignatures.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the evidence count (read from disk at start).
    pub fn set_evidence(&self, n: u64) {
        self.evidence.store(n, Ordering::Relaxed);
    }

    pub fn evidence_recorded(&self) {
        self.evidence.fetch_add(1, Ordering::Relaxed);
    }

    pub fn evidence(&self) -> u64 {
        self.evidence.load(Ordering::Relaxed)
    }

    pub fn poll(&self, ok: bool) {
        let c = if ok {
            &self.polls_ok
        } else {
            &self.polls_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the store's flush counts.
    pub fn render(&self, flushes: FlushCounts) -> String {
        let mut out = String::new();
        out.push_str("# HELP rootlog_witness_add_checkpoint_requests_total add-checkpoint answers by HTTP status code.\n");
        out.push_str("# TYPE rootlog_witness_add_checkpoint_requests_total counter\n");
        let map = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (code, n) in map {
            let _ = writeln!(
                out,
                "rootlog_witness_add_checkpoint_requests_total{{code=\"{code}\"}} {n}"
            );
        }
        let counters = [
            (
                "rootlog_witness_cosignatures_total",
                "Cosignatures issued (HTTP and watch mode).",
                self.cosignatures.load(Ordering::Relaxed),
            ),
            (
                "rootlog_witness_evidence_total",
                "Evidence records of log misbehaviour stored.",
                self.evidence(),
            ),
            (
                "rootlog_witness_database_flushes_total",
                "Group commits of the state: cosignatures per flush is the requests that shared one fsync.",
                flushes.ok,
            ),
            (
                "rootlog_witness_database_flush_errors_total",
                "Flushes of the state that failed (their requests were answered 500).",
                flushes.failed,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        out.push_str("# HELP rootlog_witness_watch_polls_total Watch-mode polls by result.\n");
        out.push_str("# TYPE rootlog_witness_watch_polls_total counter\n");
        let _ = writeln!(
            out,
            "rootlog_witness_watch_polls_total{{result=\"ok\"}} {}",
            self.polls_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "rootlog_witness_watch_polls_total{{result=\"error\"}} {}",
            self.polls_failed.load(Ordering::Relaxed)
        );
        out
    }
}

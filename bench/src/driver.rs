//! Closed- and open-loop drivers shared by every HTTP scenario.
//!
//! Closed loop: each client sends its next request as soon as the previous
//! one is answered, which finds the maximum throughput. Open loop: requests
//! are due on a fixed schedule (i / rate after the start) and latency is
//! measured from the *scheduled* time, so a stalled server is charged for
//! every request it delayed (no coordinated omission); the latency from the
//! actual send is kept too, to show how late the client itself was.
//!
//! Request functions are stateless in the client: they get (client, n) or
//! the global index and derive anything random from it, so no per-client
//! state has to live across awaits.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::stats::Recorder;

/// How one request went.
pub enum Step {
    Ok,
    Err(String),
    /// Nothing left to send (pre-built requests used up): this client stops.
    Done,
}

/// What a run produced.
pub struct Run {
    pub rec: Recorder,
    /// From the start to the last answer.
    pub elapsed: Duration,
    /// True when some client ran out of pre-built requests before the deadline.
    pub exhausted: bool,
}

/// An HTTP client sized for `clients` concurrent connections to one host.
pub fn http_client(clients: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients.max(1))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// `clients` concurrent clients, each calling `f(client, n)` back to back until `duration` is over.
pub async fn closed_loop<F, Fut>(clients: usize, duration: Duration, f: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Step> + Send + 'static,
{
    let f = Arc::new(f);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = JoinSet::new();
    for client in 0..clients.max(1) {
        let f = f.clone();
        tasks.spawn(async move {
            let mut rec = Recorder::default();
            let mut exhausted = false;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match f(client, n).await {
                    Step::Ok => rec.ok(sent.elapsed()),
                    Step::Err(e) => rec.error(e),
                    Step::Done => {
                        exhausted = true;
                        break;
                    }
                }
                n += 1;
            }
            (rec, exhausted, Instant::now())
        });
    }
    collect(tasks, start).await
}

/// Requests due at `rate` per second for `duration`, sent by up to `workers`
/// concurrent senders; `f(worker, i)` sends request `i`.
pub async fn open_loop<F, Fut>(workers: usize, rate: f64, duration: Duration, f: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Step> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicU64::new(0));
    // A short lead so every worker is parked on its first slot before it is due.
    let start = Instant::now() + Duration::from_millis(50);
    let deadline = start + duration;
    let mut tasks = JoinSet::new();
    for worker in 0..workers.max(1) {
        let f = f.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let mut rec = Recorder::default();
            let mut exhausted = false;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let sent = Instant::now();
                match f(worker, i).await {
                    Step::Ok => {
                        let now = Instant::now();
                        rec.ok_open_loop(now - due, now - sent)
                    }
                    Step::Err(e) => rec.error(e),
                    Step::Done => {
                        exhausted = true;
                        break;
                    }
                }
            }
            (rec, exhausted, Instant::now())
        });
    }
    collect(tasks, start).await
}

async fn collect(mut tasks: JoinSet<(Recorder, bool, Instant)>, start: Instant) -> Run {
    let mut rec = Recorder::default();
    let mut exhausted = false;
    let mut last = start;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((r, e, end)) => {
                rec.merge(r);
                exhausted |= e;
                last = last.max(end);
            }
            Err(e) => rec.error(format!("client task failed: {e}")),
        }
    }
    Run {
        rec,
        elapsed: last.saturating_duration_since(start),
        exhausted,
    }
}

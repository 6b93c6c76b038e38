//! `submit`: durable submissions over HTTP, as many distinct tenants and
//! dates as the run needs, every statement signed before the clock starts so
//! that the generator spends its CPU on HTTP only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rootlog::client::LogClient;

use crate::conn::{describe, Conns};
use crate::driver::{closed_loop, http_client, open_loop, Step};
use crate::statements::{days_available, sign_all, Tenant};
use crate::stats::{report, service_fields, ResultLine};

pub struct SubmitArgs {
    pub log: String,
    pub token: String,
    pub clients: usize,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub tenants: Option<usize>,
    pub statements: Option<usize>,
    pub sign_threads: usize,
    /// Use `?wait=witnessed`.
    pub wait_witnessed: bool,
}

/// The batching counters the server exports, to explain throughput.
#[derive(Default, Clone, Copy)]
struct BatchCounters {
    batches: f64,
    entries: f64,
    integrate_seconds: f64,
}

async fn batch_counters(http: &reqwest::Client, log: &str) -> BatchCounters {
    let Ok(response) = http.get(format!("{log}/metrics")).send().await else {
        return BatchCounters::default();
    };
    let text = response.text().await.unwrap_or_default();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    BatchCounters {
        batches: value("rootlog_batches_total"),
        entries: value("rootlog_batch_entries_total"),
        integrate_seconds: value("rootlog_integrate_seconds_total"),
    }
}

/// A short random run id, so repeated runs against one log use new tenants.
fn run_id() -> String {
    let mut bytes = [0u8; 4];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    bytes.copy_from_slice(&(nanos ^ std::process::id().rotate_left(16)).to_be_bytes());
    hex_lower(&bytes)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let log = args.log.trim_end_matches('/').to_string();
    let secs = args.duration.as_secs_f64();
    // Enough for the whole run: the offered count in open loop, and in closed
    // loop 15,000/s (1.5x the target); a closed run that uses them all up
    // stops early and says so.
    let count = args.statements.unwrap_or(match args.rate {
        Some(rate) => (rate * secs * 1.02) as usize + 64,
        None => (secs * 15_000.0) as usize,
    });
    let min_tenants = (count as u64).div_ceil(days_available()) as usize;
    let tenant_count = args.tenants.unwrap_or(args.clients).max(min_tenants).max(1);

    let id = run_id();
    let tenants: Vec<Tenant> = (0..tenant_count)
        .map(|k| Tenant::generate(format!("bench-{id}-{k:05}")))
        .collect::<anyhow::Result<_>>()?;
    let client = LogClient::new(&log);
    for chunk in tenants.chunks(16) {
        let results = futures_join(chunk.iter().map(|t| {
            let client = client.clone();
            let token = args.token.clone();
            let (tid, vkey) = (t.id.clone(), t.signer.vkey());
            async move { client.add_tenant(&token, &tid, &vkey).await }
        }))
        .await;
        for r in results {
            match r {
                Ok(Ok((201 | 200, _))) => {}
                Ok(Ok((status, body))) => anyhow::bail!("registering a tenant: {status} {body}"),
                Ok(Err(e)) => anyhow::bail!("registering a tenant: {e}"),
                Err(e) => anyhow::bail!("registering a tenant: {e}"),
            }
        }
    }

    let signing = Instant::now();
    let threads = args.sign_threads;
    let tenants = Arc::new(tenants);
    let signed = {
        let tenants = tenants.clone();
        tokio::task::spawn_blocking(move || sign_all(&tenants, count, threads)).await??
    };
    let avg_bytes = signed.iter().map(Vec::len).sum::<usize>() as f64 / signed.len().max(1) as f64;
    eprintln!(
        "registered {tenant_count} tenants; signed {count} statements (average {avg_bytes:.0} bytes) in {:.1} s",
        signing.elapsed().as_secs_f64()
    );
    let bodies: Arc<Vec<Bytes>> = Arc::new(signed.into_iter().map(Bytes::from).collect());

    let http = http_client(args.clients);
    let before = batch_counters(&http, &log).await;
    let path: &'static str = if args.wait_witnessed {
        "/v1/roots?wait=witnessed"
    } else {
        "/v1/roots"
    };
    let conns = Conns::new(&log, args.clients)?;
    // The whole answer is read (it carries the proof): the client is not done before.
    let post = move |conns: Arc<Conns>, client: usize, body: Bytes| async move {
        match conns
            .post(client, path, "text/plain; charset=utf-8", body)
            .await
        {
            Ok(a) if a.status == 201 => Step::Ok,
            Ok(a) => Step::Err(describe(&a)),
            Err(e) => Step::Err(e.into()),
        }
    };
    let run = match args.rate {
        None => {
            let next = Arc::new(AtomicUsize::new(0));
            let (conns, bodies) = (conns.clone(), bodies.clone());
            closed_loop(args.clients, args.duration, move |client, _| {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let request = bodies
                    .get(j)
                    .map(|b| post(conns.clone(), client, b.clone()));
                async move {
                    match request {
                        Some(r) => r.await,
                        None => Step::Done,
                    }
                }
            })
            .await
        }
        Some(rate) => {
            let (conns, bodies) = (conns.clone(), bodies.clone());
            open_loop(args.clients, rate, args.duration, move |worker, i| {
                let request = bodies
                    .get(i as usize)
                    .map(|b| post(conns.clone(), worker, b.clone()));
                async move {
                    match request {
                        Some(r) => r.await,
                        None => Step::Done,
                    }
                }
            })
            .await
        }
    };
    let after = batch_counters(&http, &log).await;

    let batches = after.batches - before.batches;
    let entries = after.entries - before.entries;
    let integrate = after.integrate_seconds - before.integrate_seconds;
    let mode = if args.rate.is_some() {
        "open"
    } else {
        "closed"
    };
    report(&format!("submit ({mode} loop)"), &run.rec, run.elapsed);
    if batches > 0.0 {
        eprintln!(
            "  server: {batches:.0} batches, {:.1} entries per batch, {:.2} ms integrating per batch, integrator busy {:.0}% of the run",
            entries / batches,
            integrate * 1000.0 / batches,
            100.0 * integrate / run.elapsed.as_secs_f64().max(1e-9)
        );
    }
    if run.exhausted {
        eprintln!(
            "  note: the pre-signed statements ran out before the deadline; raise --statements"
        );
    }
    let mut line = ResultLine::new("submit")
        .field("mode", mode)
        .field("clients", args.clients)
        .field(
            "offered_rate",
            args.rate.map_or("max".to_string(), |r| format!("{r}")),
        )
        .summary(&run.rec, run.elapsed)
        .field("exhausted", run.exhausted)
        .field("tenants", tenant_count)
        .float("avg_statement_bytes", avg_bytes)
        .float("batches", batches)
        .float(
            "avg_batch",
            if batches > 0.0 {
                entries / batches
            } else {
                0.0
            },
        )
        .float(
            "integrate_ms_per_batch",
            if batches > 0.0 {
                integrate * 1000.0 / batches
            } else {
                0.0
            },
        )
        .float(
            "integrator_busy",
            integrate / run.elapsed.as_secs_f64().max(1e-9),
        );
    if args.rate.is_some() {
        line = service_fields(line, &run.rec);
    }
    line.print();
    Ok(())
}

/// Awaits futures concurrently (a handful at a time, so no extra crate is needed).
async fn futures_join<F, T>(
    futures: impl Iterator<Item = F>,
) -> Vec<Result<T, tokio::task::JoinError>>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}

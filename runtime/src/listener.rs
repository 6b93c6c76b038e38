//! Serving HTTP on a listening socket so that hostile clients cannot take
//! the server offline: the accept loop of the log and of the witness.
//!
//! What a client can hold, and for how long:
//!
//! - **Time to send a request head.** A connection must deliver a whole
//!   request head within [`ConnLimits::header_timeout`] of the moment the
//!   server starts waiting for one: when the connection opens, and again
//!   after each answer on a keep-alive connection. So a client dribbling
//!   header bytes, and a keep-alive connection left idle, are both closed
//!   after that time (hyper's header-read timeout, which axum's own `serve`
//!   leaves off).
//! - **Open connections.** At most [`ConnLimits::max_connections`] are
//!   open. A new connection beyond that closes the connection that has been
//!   idle longest (idle: no request being served — waiting for a head
//!   counts), so one client holding many sockets cannot lock out the others;
//!   if every open connection is serving a request, the new one is closed
//!   instead. The cap is kept below the process's file-descriptor limit,
//!   which [`raise_fd_limit`] lifts to the hard limit at start, so the
//!   server never runs out of descriptors for its own files.
//!
//! Every request carries the peer address as axum's `ConnectInfo`, as
//! `into_make_service_with_connect_info` would give it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// What one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time to deliver a whole request head (also the keep-alive idle time).
    pub header_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Descriptors kept free for the server's own files (database, tree files,
/// mirror files, evidence) when the cap is derived from the limit.
const RESERVED_FDS: u64 = 128;

/// Raises the soft limit on open files to the hard limit (a common soft
/// limit of 1,024 is what lets a client with a thousand idle sockets starve
/// a server), and returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The connection cap to use: `wanted`, lowered to fit under the open-file
/// limit `fd_limit` with room for the server's own files.
pub fn fitting_cap(wanted: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_FDS).max(16);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// One open connection, as the accept loop sees it.
struct Conn {
    /// When it last became idle; None while a request is being served.
    idle_since: Option<Instant>,
    /// Requests being served on it (HTTP/2 may serve several at once).
    busy: u32,
    /// Tells the connection to finish what it serves and close.
    close: Arc<Notify>,
}

/// The open connections, shared by the accept loop and the connections.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Conn>>,
    next: AtomicU64,
    /// Connections closed to make room for a new one.
    evicted: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the connection idle longest; false when none is idle.
    fn evict_oldest_idle(&self, conns: &mut HashMap<u64, Conn>) -> bool {
        let oldest = conns
            .iter()
            .filter_map(|(id, c)| c.idle_since.map(|t| (t, *id)))
            .min()
            .map(|(_, id)| id);
        match oldest.and_then(|id| conns.remove(&id)) {
            Some(conn) => {
                // Its task ends soon; it no longer counts.
                conn.close.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Registers a new connection, first making room under `cap` by closing
    /// the longest-idle one. None when every connection is busy.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<Notify>)> {
        let mut conns = self.lock();
        if conns.len() >= cap && !self.evict_oldest_idle(&mut conns) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        conns.insert(
            id,
            Conn {
                idle_since: Some(Instant::now()),
                busy: 0,
                close: close.clone(),
            },
        );
        Some((id, close))
    }

    fn set_busy(&self, id: u64, busy: bool) {
        if let Some(conn) = self.lock().get_mut(&id) {
            if busy {
                conn.busy += 1;
                conn.idle_since = None;
            } else {
                conn.busy = conn.busy.saturating_sub(1);
                if conn.busy == 0 {
                    conn.idle_since = Some(Instant::now());
                }
            }
        }
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Marks a connection busy for as long as it lives.
struct BusyGuard {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.registry.set_busy(self.id, false);
    }
}

/// Counters of the accept loop, for metrics.
#[derive(Clone, Default)]
pub struct ConnStats {
    registry: Arc<Registry>,
}

impl ConnStats {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.registry.lock().len()
    }

    /// Connections closed to make room for new ones, since start.
    pub fn evicted(&self) -> u64 {
        self.registry.evicted.load(Ordering::Relaxed)
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves,
/// then lets the open connections finish what they serve (at most 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    stats: ConnStats,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let registry = stats.registry;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a transient error: make room and
                    // try again shortly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    {
                        let mut conns = registry.lock();
                        registry.evict_oldest_idle(&mut conns);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, close)) = registry.admit(limits.max_connections) else {
            // Every connection is serving a request: this one waits its turn
            // by being refused; closing it frees the descriptor at once.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (registry, builder, app) = (registry.clone(), builder.clone(), app.clone());
        tokio::spawn(async move {
            let svc_registry = registry.clone();
            let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                svc_registry.set_busy(id, true);
                let guard = BusyGuard {
                    registry: svc_registry.clone(),
                    id,
                };
                let app = app.clone();
                async move {
                    let response = app.oneshot(request.map(axum::body::Body::new)).await;
                    drop(guard);
                    response
                }
            });
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close.notified() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(30), conn.as_mut()).await;
                }
            }
            registry.remove(id);
        });
    }
    // Stop: every connection finishes its request and closes.
    let waiting: Vec<Arc<Notify>> = registry.lock().values().map(|c| c.close.clone()).collect();
    for close in waiting {
        close.notify_one();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !registry.lock().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_connection_makes_room() {
        let registry = Registry::default();
        let (a, _) = registry.admit(2).unwrap();
        let (b, _) = registry.admit(2).unwrap();
        registry.set_busy(a, true);
        // Full: b (idle) is closed for c.
        let (c, _) = registry.admit(2).unwrap();
        assert!(!registry.lock().contains_key(&b));
        registry.set_busy(c, true);
        // Full and both busy: no room.
        assert!(registry.admit(2).is_none());
        registry.set_busy(a, false);
        assert!(registry.admit(2).is_some());
        assert_eq!(registry.evicted.load(Ordering::Relaxed), 2);
        assert_eq!(fitting_cap(4096, 1024), 896);
        assert_eq!(fitting_cap(100, 1 << 20), 100);
    }
}

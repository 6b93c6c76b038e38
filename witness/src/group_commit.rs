//! Group commit of the witness's database: one flusher thread makes sled's
//! log durable for every write applied before the flush began, so N
//! concurrent add-checkpoint requests cost one fsync rather than N.
//!
//! Invariant: `wait(t)` returns `Ok` only after a [`SledSync::flush`] (sled's
//! flush plus the real `fdatasync` it lacks, see `rootlog::durable`) that
//! started after ticket `t` was taken has completed. A caller takes its
//! ticket after its write is applied (the compare-and-swap returned), so
//! that flush covers the write, and every write the caller's decision read.
//!
//! Why a thread and a watch channel rather than a flush per request: with
//! 64 concurrent requests, 64 blocking threads each parked in sled's own
//! flush wait cost more CPU in futex wake-ups and context switches than the
//! checks themselves, and sled issued most of their syncs one by one.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use rootlog::durable::SledSync;
use tokio::sync::watch;

use crate::state::StoreError;

/// Durability progress, as tickets: every ticket up to `durable` is on
/// disk; the last flush attempt that failed covered tickets up to `failed`.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    durable: u64,
    failed: u64,
    flushes: FlushCounts,
}

/// How many flushes the group commit made: tickets per flush is how many
/// requests shared one fsync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushCounts {
    pub ok: u64,
    pub failed: u64,
}

#[derive(Default)]
struct Requests {
    /// The last ticket handed out.
    taken: u64,
    /// The flusher has stopped (the database is being dropped).
    closed: bool,
}

/// The flusher of one sled database.
pub struct GroupCommit {
    requests: Arc<(Mutex<Requests>, Condvar)>,
    progress: watch::Receiver<Progress>,
    thread: Option<thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread for the database `db` syncs.
    pub fn start(db: Arc<SledSync>) -> std::io::Result<Self> {
        let requests = Arc::new((Mutex::new(Requests::default()), Condvar::new()));
        let (tx, progress) = watch::channel(Progress::default());
        let shared = Arc::clone(&requests);
        let thread = thread::Builder::new()
            .name("witness-flush".into())
            .spawn(move || flush_loop(&db, &shared, &tx))?;
        Ok(GroupCommit {
            requests,
            progress,
            thread: Some(thread),
        })
    }

    /// A ticket for every write applied before this call.
    pub fn ticket(&self) -> u64 {
        let (lock, wake) = &*self.requests;
        let mut requests = lock.lock().unwrap_or_else(|p| p.into_inner());
        requests.taken += 1;
        wake.notify_one();
        requests.taken
    }

    /// Waits until `ticket` is durable. An error means the flush that
    /// covered it failed (or the flusher is gone): the caller must not
    /// promise durability.
    pub async fn wait(&self, ticket: u64) -> Result<(), StoreError> {
        let mut progress = self.progress.clone();
        let seen = progress
            .wait_for(|p| p.durable >= ticket || p.failed >= ticket)
            .await
            .map(|p| *p)
            .map_err(|_| StoreError::Io(std::io::Error::other("the flusher thread has stopped")))?;
        if seen.durable >= ticket {
            Ok(())
        } else {
            Err(StoreError::Io(std::io::Error::other(
                "flushing the database failed; see the witness's log",
            )))
        }
    }

    /// The flushes made so far.
    pub fn flushes(&self) -> FlushCounts {
        self.progress.borrow().flushes
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        let (lock, wake) = &*self.requests;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Flushes whenever a ticket newer than the last attempt is waiting. A
/// failed flush is retried only for a newer ticket, so a broken disk costs
/// one attempt per request rather than a busy loop.
fn flush_loop(db: &SledSync, requests: &(Mutex<Requests>, Condvar), tx: &watch::Sender<Progress>) {
    let (lock, wake) = requests;
    let mut attempted = 0;
    loop {
        let target = {
            let mut r = lock.lock().unwrap_or_else(|p| p.into_inner());
            while r.taken <= attempted && !r.closed {
                r = wake.wait(r).unwrap_or_else(|p| p.into_inner());
            }
            if r.taken <= attempted {
                return;
            }
            r.taken
        };
        attempted = target;
        // The one sync every cosignature of this group waits for.
        match db.flush() {
            Ok(_) => tx.send_modify(|p| {
                p.durable = target;
                p.flushes.ok += 1;
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot flush the witness database");
                tx.send_modify(|p| {
                    p.failed = target;
                    p.flushes.failed += 1;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_ticket_is_answered_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let group =
            GroupCommit::start(Arc::new(SledSync::open(db.clone(), dir.path()).unwrap())).unwrap();
        assert_eq!(group.flushes(), FlushCounts::default());
        let tickets: Vec<u64> = (0u64..100)
            .map(|i| {
                db.insert(i.to_be_bytes(), b"v").unwrap();
                group.ticket()
            })
            .collect();
        assert_eq!(tickets, (1..=100).collect::<Vec<_>>());
        for &t in tickets.iter().rev() {
            group.wait(t).await.unwrap();
        }
        let flushes = group.flushes();
        assert!((1..=100).contains(&flushes.ok), "{flushes:?}");
        assert_eq!(flushes.failed, 0);
        // Nothing is waiting: no more flushes happen.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(group.flushes(), flushes);
    }
}

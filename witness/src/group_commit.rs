//! Group commit of the witness's database: one flusher thread makes sled's
//! log durable for every write applied before the flush began, then raises
//! the high-water marks (`high_water`) of the origins swapped in that group,
//! so N concurrent add-checkpoint requests cost one database sync and one
//! mark write rather than N of each.
//!
//! Invariant: `wait(t)` returns `Ok` only after a [`SledSync::flush`] (sled's
//! flush plus the real `fdatasync` it lacks, see `rootlog_runtime::durable`) that
//! started after ticket `t` was taken has completed, followed by a durable
//! high-water write holding the mark given with `t` (or a larger one). A
//! caller takes its ticket after its write is applied (the compare-and-swap
//! returned), so that flush covers the write, and every write the caller's
//! decision read. The mark is written after the database sync, so it never
//! runs ahead of what the database durably holds.
//!
//! Why a thread and a watch channel rather than a flush per request: with
//! 64 concurrent requests, 64 blocking threads each parked in sled's own
//! flush wait cost more CPU in futex wake-ups and context switches than the
//! checks themselves, and sled issued most of their syncs one by one.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use rootlog_runtime::durable::SledSync;
use tokio::sync::watch;

use crate::high_water::{HighWater, Mark, Marks};
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
    /// The marks given with the tickets since the flusher last took them.
    marks: Vec<(String, Mark)>,
    /// The flusher has stopped (the database is being dropped).
    closed: bool,
}

/// The flusher of one sled database.
pub struct GroupCommit {
    requests: Arc<(Mutex<Requests>, Condvar)>,
    progress: watch::Receiver<Progress>,
    /// The high-water marks as durably written: a state no larger than its
    /// origin's mark here is on disk.
    durable: Arc<Mutex<Marks>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread for the database `db` syncs and the mark
    /// file `high_water`, which the thread owns from now on.
    pub fn start(db: Arc<SledSync>, mut high_water: HighWater) -> std::io::Result<Self> {
        let requests = Arc::new((Mutex::new(Requests::default()), Condvar::new()));
        let (tx, progress) = watch::channel(Progress::default());
        let shared = Arc::clone(&requests);
        let durable = Arc::new(Mutex::new(high_water.marks().clone()));
        let published = Arc::clone(&durable);
        let thread = thread::Builder::new()
            .name("witness-flush".into())
            .spawn(move || flush_loop(&db, &mut high_water, &shared, &tx, &published))?;
        Ok(GroupCommit {
            requests,
            progress,
            durable,
            thread: Some(thread),
        })
    }

    /// A ticket for every write applied before this call; `origin`'s
    /// high-water mark is raised to `mark` before the ticket is durable.
    pub fn ticket(&self, origin: &str, mark: Mark) -> u64 {
        let (lock, wake) = &*self.requests;
        let mut requests = lock.lock().unwrap_or_else(|p| p.into_inner());
        requests.marks.push((origin.to_string(), mark));
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

    /// The size `origin`'s durable high-water mark covers (0 if none):
    /// every state of that origin up to this size is on disk.
    pub fn durable_size(&self, origin: &str) -> u64 {
        self.durable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .map_or(0, |m| m.size)
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
///
/// The marks of a group whose flush failed stay noted in `high_water` and
/// are written after the next successful database sync, which covers their
/// writes too (sled's flush writes everything applied before it).
fn flush_loop(
    db: &SledSync,
    high_water: &mut HighWater,
    requests: &(Mutex<Requests>, Condvar),
    tx: &watch::Sender<Progress>,
    durable: &Mutex<Marks>,
) {
    let (lock, wake) = requests;
    let mut attempted = 0;
    loop {
        let (target, marks) = {
            let mut r = lock.lock().unwrap_or_else(|p| p.into_inner());
            while r.taken <= attempted && !r.closed {
                r = wake.wait(r).unwrap_or_else(|p| p.into_inner());
            }
            if r.taken <= attempted {
                return;
            }
            (r.taken, std::mem::take(&mut r.marks))
        };
        attempted = target;
        for (origin, mark) in &marks {
            high_water.note(origin, *mark);
        }
        // The one database sync every cosignature of this group waits for,
        // then the one mark write (nothing if no mark moved): the marks
        // only after the state they describe is durable, and both before
        // any waiter of the group is released.
        match db.flush().and_then(|()| high_water.commit().map(drop)) {
            Ok(_) => {
                durable
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone_from(high_water.marks());
                tx.send_modify(|p| {
                    p.durable = target;
                    p.flushes.ok += 1;
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot flush the witness database or its high-water mark");
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
        let db_dir = dir.path().join("db");
        let db = sled::open(&db_dir).unwrap();
        let mark_path = dir.path().join(crate::high_water::HIGH_WATER_FILE);
        let high_water = HighWater::create(&mark_path, Default::default()).unwrap();
        let group = GroupCommit::start(
            Arc::new(SledSync::open(db.clone(), &db_dir).unwrap()),
            high_water,
        )
        .unwrap();
        assert_eq!(group.flushes(), FlushCounts::default());
        let tickets: Vec<u64> = (0u64..100)
            .map(|i| {
                db.insert(i.to_be_bytes(), b"v").unwrap();
                let mark = Mark {
                    size: i + 1,
                    root: [i as u8; 32],
                };
                group.ticket(&format!("origin/{}", i % 3), mark)
            })
            .collect();
        assert_eq!(tickets, (1..=100).collect::<Vec<_>>());
        for &t in tickets.iter().rev() {
            group.wait(t).await.unwrap();
        }
        // Every ticket's mark is durable once the ticket is.
        let marks = HighWater::open(&mark_path).unwrap().unwrap();
        let sizes: Vec<u64> = marks.marks().values().map(|m| m.size).collect();
        assert_eq!(sizes, [100, 98, 99]);
        let flushes = group.flushes();
        assert!((1..=100).contains(&flushes.ok), "{flushes:?}");
        assert_eq!(flushes.failed, 0);
        // Nothing is waiting: no more flushes happen.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(group.flushes(), flushes);
    }
}

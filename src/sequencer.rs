//! The sequencer: the one writer of the log.
//!
//! Submissions that already passed every check that needs no log state
//! (syntax, date window, tenant signatures) queue here. One integrator thread
//! drains whatever has queued (group commit), decides for each submission
//! whether it is new, an identical retry or a conflict for its (tenant, date),
//! and whether a key that signed it may still sign at its index; decides
//! tenant key changes (`crate::tenant_key`) in the same order, writing and
//! signing their entries; appends the new ones, signs one checkpoint for the
//! batch, and commits it all with one atomic, flushed store write. Only then
//! does it answer the waiting submitters. So:
//!
//! - an acknowledgement means the entry, its hashes, the tree size and a
//!   checkpoint covering it are on disk;
//! - the checkpoint is signed before the write but handed to nobody until the
//!   write is flushed; a crash in between loses a signature nobody has seen,
//!   and the next start signs from the tree that is on disk;
//! - every checkpoint covers a prefix of the one tree on disk, so a consistency
//!   proof exists between any two of them, across restarts too.
//!
//! Pipelining: the integrator applies batch N+1 (atomically, not yet
//! flushed) while a flusher thread fsyncs batch N. Every answer, new entry,
//! identical retry or conflict alike, and every checkpoint publication goes
//! through the flusher, in order, and is released only by a flush that began
//! after its batch was applied. So an answer never refers to data that a
//! crash could take back.
//!
//! A storage error stops the integrator (fail-stop): every waiting submitter
//! gets an error, nothing is acknowledged, `/healthz` turns unhealthy, and a
//! restart resumes from what is on disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::fork_guard::ForkGuard;
use crate::merkle::leaf_hash;
use crate::merkle::{Frontier, Hash};
use crate::metrics::Metrics;
use crate::note::{signed_text, Signer};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::{LeafRows, NewLeaf, Store, StoreError};
use crate::tenant_key::{may_sign_at, KeyChangeError, KeyChangeRequest, TenantRecord, Transition};

/// Something waiting for a place in the log.
pub struct Submission {
    pub entry: Entry,
    pub reply: oneshot::Sender<Result<Outcome, SequencerStopped>>,
}

/// What a submission asks the log to append.
pub enum Entry {
    /// A daily-root statement whose syntax, date and signatures were checked.
    Statement(StatementEntry),
    /// A tenant key change; the integrator decides it against the tenant's
    /// record as of its place in the log, and writes and signs the entry.
    KeyChange(KeyChangeRequest),
}

/// A checked daily-root statement.
pub struct StatementEntry {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    pub tenant: String,
    pub date: String,
    /// The canonical vkeys of the tenant keys whose signatures verified. The
    /// integrator appends the statement only if one of them may still sign
    /// at its index: a key retired or revoked while the statement queued
    /// does not get it in.
    pub signers: Vec<String>,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Newly appended at `index`; `checkpoint` covers it.
    Appended {
        index: u64,
        checkpoint: Arc<SignedCheckpoint>,
    },
    /// The identical statement was already logged at `index`.
    Existing {
        index: u64,
        checkpoint: Arc<SignedCheckpoint>,
    },
    /// A different statement for the same (tenant, date) is logged at `index`.
    Conflict { index: u64, statement: Vec<u8> },
    /// A key change was logged at `index` (`appended`), or had been already;
    /// `record` is the tenant as it stands after it.
    TenantChanged {
        index: u64,
        checkpoint: Arc<SignedCheckpoint>,
        record: TenantRecord,
        appended: bool,
    },
    /// Nothing was appended: the key change cannot be made, or no key that
    /// signed the statement may sign at this point of the log.
    Refused(KeyChangeError),
    /// Nothing was decided: the fork guard holds sequencing
    /// (`crate::fork_guard`).
    Held,
}

/// The integrator has stopped after a storage failure; nothing was acknowledged.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the sequencer has stopped after a storage failure; the entry was not logged")]
pub struct SequencerStopped;

/// Why a submission could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is full; retry later.
    Full,
    /// The integrator has stopped.
    Stopped,
}

/// Batch limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// The most submissions integrated in one batch.
    pub max_batch: usize,
    /// How long the integrator waits for more submissions after the first
    /// before it commits (0: commit whatever has queued, which under load is
    /// already a large batch because submissions queue during each flush).
    pub max_wait: Duration,
    /// The most submissions that may wait in the queue.
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch: 4096,
            max_wait: Duration::ZERO,
            queue_capacity: 65536,
        }
    }
}

/// The handle HTTP handlers submit through.
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Submission>,
    stopped: Arc<AtomicBool>,
}

struct Integrator {
    store: Store,
    signer: Signer,
    origin: String,
    frontier: Frontier,
    /// The newest checkpoint applied (it may not be flushed yet).
    last_signed: Arc<SignedCheckpoint>,
    /// Batches waiting for the flusher.
    to_flush: std::sync::mpsc::SyncSender<Applied>,
    /// Set when the flusher fails; the integrator then stops too.
    failed: Arc<AtomicBool>,
    /// Every tenant as of the end of the applied log: the integrator is the
    /// only writer of tenant records, so this never goes stale.
    tenants: HashMap<String, TenantRecord>,
    /// Checked before every batch: nothing is appended while it is closed.
    guard: Arc<ForkGuard>,
}

/// A batch applied to the store, waiting to be flushed and answered.
struct Applied {
    answers: Vec<(oneshot::Sender<Result<Outcome, SequencerStopped>>, Outcome)>,
    /// The checkpoint to publish once flushed, if the batch appended.
    checkpoint: Option<Arc<SignedCheckpoint>>,
    started: Instant,
    submissions: usize,
    appended: usize,
}

/// Flushes applied batches (as many as have queued, with one fsync), then
/// publishes their checkpoints and answers their submitters, in order.
fn run_flusher(
    store: Store,
    rx: std::sync::mpsc::Receiver<Applied>,
    latest: watch::Sender<Arc<SignedCheckpoint>>,
    metrics: Arc<Metrics>,
    failed: Arc<AtomicBool>,
) {
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        pending.extend(rx.try_iter());
        // The commit point of every batch in `pending`: their tree size and
        // checkpoint rows reach stable storage here (sled's flush and the
        // fdatasync it lacks, `crate::durable`), once for all of them.
        if let Err(e) = store.flush() {
            tracing::error!(error = %e, "flush failed; the sequencer stops and acknowledges nothing more; restart the server to resume from disk");
            failed.store(true, Ordering::SeqCst);
            for applied in pending.into_iter().chain(rx.try_iter()) {
                for (reply, _) in applied.answers {
                    let _ = reply.send(Err(SequencerStopped));
                }
            }
            return;
        }
        // Durable from here on: publish, then answer.
        for applied in pending {
            if let Some(checkpoint) = applied.checkpoint {
                latest.send_replace(checkpoint);
            }
            metrics.record_batch(
                applied.submissions,
                applied.appended,
                applied.started.elapsed(),
            );
            for (reply, outcome) in applied.answers {
                let _ = reply.send(Ok(outcome));
            }
        }
    }
}

impl Sequencer {
    /// Starts the integrator thread over `store`, whose latest checkpoint is already in `latest`.
    pub fn start(
        store: Store,
        signer: Signer,
        origin: String,
        latest: watch::Sender<Arc<SignedCheckpoint>>,
        metrics: Arc<Metrics>,
        config: BatchConfig,
        guard: Arc<ForkGuard>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let frontier = store.frontier()?;
        let tenants = store
            .tenants()?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let stopped = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicBool::new(false));
        let (to_flush, flush_rx) = std::sync::mpsc::sync_channel(16);
        let last_signed = latest.borrow().clone();
        let (flush_store, flush_failed) = (store.clone(), failed.clone());
        let flusher = std::thread::Builder::new()
            .name("flusher".into())
            .spawn(move || run_flusher(flush_store, flush_rx, latest, metrics, flush_failed))
            .map_err(|source| StoreError::Io {
                what: "starting the flusher thread".into(),
                source,
            })?;
        let integrator = Integrator {
            store,
            signer,
            origin,
            frontier,
            last_signed,
            to_flush,
            failed,
            tenants,
            guard,
        };
        let flag = stopped.clone();
        let handle = std::thread::Builder::new()
            .name("integrator".into())
            .spawn(move || {
                integrator.run(rx, config);
                // The integrator dropped its sender: the flusher answers what is left and ends.
                let _ = flusher.join();
                flag.store(true, Ordering::SeqCst);
            })
            .map_err(|source| StoreError::Io {
                what: "starting the integrator thread".into(),
                source,
            })?;
        Ok((Sequencer { tx, stopped }, handle))
    }

    /// Queues a submission without waiting for room.
    pub fn try_submit(&self, submission: Submission) -> Result<(), QueueError> {
        self.tx.try_send(submission).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => QueueError::Full,
            mpsc::error::TrySendError::Closed(_) => QueueError::Stopped,
        })
    }

    /// True once the integrator has stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Submissions waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

enum Decision {
    Append(u64),
    Existing(u64),
    Conflict(u64, Vec<u8>),
    Tenant {
        index: u64,
        record: TenantRecord,
        appended: bool,
    },
    Refused(KeyChangeError),
}

/// A leaf this batch appends: a statement (its position in the batch), or a
/// key-change entry the integrator wrote, with the record it leaves.
enum Appending {
    Statement(usize),
    KeyChange {
        bytes: Vec<u8>,
        hash: Hash,
        record: TenantRecord,
    },
}

impl Integrator {
    fn run(mut self, mut rx: mpsc::Receiver<Submission>, config: BatchConfig) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + config.max_wait;
            while batch.len() < config.max_batch {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(mpsc::error::TryRecvError::Empty) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_micros(200))
                    }
                    Err(_) => break,
                }
            }
            if self.failed.load(Ordering::SeqCst) {
                for s in batch {
                    let _ = s.reply.send(Err(SequencerStopped));
                }
                rx.close();
                while let Ok(s) = rx.try_recv() {
                    let _ = s.reply.send(Err(SequencerStopped));
                }
                return;
            }
            if !self.guard.is_open() {
                // Not even an identical retry is answered: its checkpoint
                // would be one of a tree that is about to be replaced.
                for s in batch {
                    let _ = s.reply.send(Ok(Outcome::Held));
                }
                continue;
            }
            if let Err(e) = self.integrate(batch) {
                tracing::error!(error = %e, "integration failed; the sequencer stops and acknowledges nothing more; restart the server to resume from disk");
                rx.close();
                while let Ok(s) = rx.try_recv() {
                    let _ = s.reply.send(Err(SequencerStopped));
                }
                return;
            }
        }
    }

    fn integrate(&mut self, batch: Vec<Submission>) -> Result<(), StoreError> {
        let started = Instant::now();
        let first_index = self.frontier.size();
        // (tenant, date) -> (position in this batch, index it was given)
        let mut in_batch: HashMap<(&str, &str), (usize, u64)> = HashMap::new();
        let mut appended: Vec<Appending> = Vec::new();
        let mut nodes = Vec::new();
        let mut decisions = Vec::with_capacity(batch.len());
        let now = time::OffsetDateTime::now_utc();
        for (i, sub) in batch.iter().enumerate() {
            let decision = match &sub.entry {
                Entry::Statement(st) => {
                    let decision = self.decide_statement(&batch, &in_batch, st)?;
                    if let Decision::Append(index) = decision {
                        in_batch.insert((st.tenant.as_str(), st.date.as_str()), (i, index));
                        self.frontier
                            .append(st.leaf_hash, |id, h| nodes.push((id, *h)));
                        appended.push(Appending::Statement(i));
                    }
                    decision
                }
                Entry::KeyChange(request) => {
                    let (decision, made) = self.decide_key_change(request, now);
                    if let Some(entry @ Appending::KeyChange { hash, .. }) = made {
                        self.frontier.append(hash, |id, h| nodes.push((id, *h)));
                        appended.push(entry);
                    }
                    decision
                }
            };
            decisions.push(decision);
        }

        let checkpoint = if appended.is_empty() {
            self.last_signed.clone()
        } else {
            let size = self.frontier.size();
            let signed = Arc::new(SignedCheckpoint::sign(
                &self.signer,
                &self.origin,
                size,
                self.frontier.root(),
            ));
            let mut leaves: Vec<NewLeaf<'_>> = Vec::with_capacity(appended.len());
            for (k, a) in appended.iter().enumerate() {
                let index = first_index + k as u64;
                leaves.push(match a {
                    Appending::KeyChange {
                        bytes,
                        hash,
                        record,
                    } => NewLeaf {
                        index,
                        bytes,
                        hash: *hash,
                        rows: LeafRows::KeyChange(record),
                    },
                    Appending::Statement(position) => {
                        let Entry::Statement(st) = &batch[*position].entry else {
                            return Err(StoreError::Corrupt(
                                "a batch position changed kind".into(),
                            ));
                        };
                        NewLeaf {
                            index,
                            bytes: &st.bytes,
                            hash: st.leaf_hash,
                            rows: LeafRows::Statement {
                                tenant: &st.tenant,
                                date: &st.date,
                            },
                        }
                    }
                });
            }
            if let Err(e) =
                self.store
                    .apply_integration(&leaves, &nodes, size, Some(signed.note.as_bytes()))
            {
                for sub in batch {
                    let _ = sub.reply.send(Err(SequencerStopped));
                }
                return Err(e);
            }
            self.last_signed = signed.clone();
            signed
        };

        let (submissions, appended_count) = (batch.len(), appended.len());
        let mut answers = Vec::with_capacity(batch.len());
        for (sub, decision) in batch.into_iter().zip(decisions) {
            let outcome = match decision {
                Decision::Append(index) => Outcome::Appended {
                    index,
                    checkpoint: checkpoint.clone(),
                },
                Decision::Existing(index) => Outcome::Existing {
                    index,
                    checkpoint: checkpoint.clone(),
                },
                Decision::Conflict(index, statement) => Outcome::Conflict { index, statement },
                Decision::Tenant {
                    index,
                    record,
                    appended,
                } => Outcome::TenantChanged {
                    index,
                    checkpoint: checkpoint.clone(),
                    record,
                    appended,
                },
                Decision::Refused(e) => Outcome::Refused(e),
            };
            answers.push((sub.reply, outcome));
        }
        let publish = if appended_count > 0 {
            Some(checkpoint)
        } else {
            None
        };
        let applied = Applied {
            answers,
            checkpoint: publish,
            started,
            submissions,
            appended: appended_count,
        };
        if let Err(std::sync::mpsc::SendError(applied)) = self.to_flush.send(applied) {
            for (reply, _) in applied.answers {
                let _ = reply.send(Err(SequencerStopped));
            }
            return Err(StoreError::Corrupt("the flusher has stopped".into()));
        }
        Ok(())
    }

    /// New, identical retry, conflict, or refused because no key that signed
    /// it may sign at the index it would get.
    fn decide_statement(
        &self,
        batch: &[Submission],
        in_batch: &HashMap<(&str, &str), (usize, u64)>,
        st: &StatementEntry,
    ) -> Result<Decision, StoreError> {
        if let Some(&(j, index)) = in_batch.get(&(st.tenant.as_str(), st.date.as_str())) {
            let Entry::Statement(first) = &batch[j].entry else {
                return Err(StoreError::Corrupt("a batch position changed kind".into()));
            };
            return Ok(if signed_text(&first.bytes) == signed_text(&st.bytes) {
                Decision::Existing(index)
            } else {
                Decision::Conflict(index, first.bytes.clone())
            });
        }
        if let Some(index) = self.store.index_of(&st.tenant, &st.date)? {
            let existing = self.store.leaf(index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("index row points at missing leaf {index}"))
            })?;
            return Ok(if signed_text(&existing) == signed_text(&st.bytes) {
                Decision::Existing(index)
            } else {
                Decision::Conflict(index, existing)
            });
        }
        let index = self.frontier.size();
        let Some(record) = self.tenants.get(&st.tenant) else {
            return Ok(Decision::Refused(KeyChangeError::UnknownTenant(
                st.tenant.clone(),
            )));
        };
        let mut why = None;
        for signer in &st.signers {
            match may_sign_at(record, signer, index) {
                Ok(()) => return Ok(Decision::Append(index)),
                Err(e) => why = why.or(Some(e)),
            }
        }
        Ok(Decision::Refused(why.unwrap_or_else(|| {
            KeyChangeError::UnknownTenant(st.tenant.clone())
        })))
    }

    /// Decides a key change; an accepted one comes back as the leaf to
    /// append, written and signed with the log's key.
    fn decide_key_change(
        &mut self,
        request: &KeyChangeRequest,
        now: time::OffsetDateTime,
    ) -> (Decision, Option<Appending>) {
        let index = self.frontier.size();
        let current = self.tenants.get(&request.tenant);
        let (change, transition) = match request.decide(current, index, now) {
            Ok(decided) => decided,
            Err(e) => return (Decision::Refused(e), None),
        };
        match (transition, current) {
            (Transition::AlreadyDone(at), Some(record)) => (
                Decision::Tenant {
                    index: at,
                    record: record.clone(),
                    appended: false,
                },
                None,
            ),
            (Transition::AlreadyDone(_), None) => (
                Decision::Refused(KeyChangeError::UnknownTenant(request.tenant.clone())),
                None,
            ),
            (Transition::Append(record), _) => {
                let bytes = change.signed_entry(&self.signer);
                let hash = leaf_hash(&bytes);
                self.tenants.insert(record.id.clone(), record.clone());
                (
                    Decision::Tenant {
                        index,
                        record: record.clone(),
                        appended: true,
                    },
                    Some(Appending::KeyChange {
                        bytes,
                        hash,
                        record,
                    }),
                )
            }
        }
    }
}

//! The witness's one check-and-store step, shared by `POST /add-checkpoint`
//! and watch mode: read the stored state, decide (`protocol::check`), then
//! cosign and compare-and-swap it, or record evidence and refuse.
//!
//! Invariant: a cosignature is returned only after the state it vouches for
//! is durably stored, and the stored state only moves from a checkpoint to
//! one proven consistent with it (or the first one for an origin).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rootlog_tlog::note::{encode_b64, NoteSignature, Signer};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::high_water::Mark;
use crate::metrics::Metrics;
use crate::protocol::{
    self, AddCheckpoint, Misbehaviour, ProofSource, Refusal, Stored, TrustedLog,
};
use crate::state::{Current, Evidence, Store, StoreError, Ticket};

/// How often a request re-checks after losing a compare-and-swap race
/// before answering 409. Each lost race means another request succeeded.
const MAX_ATTEMPTS: usize = 16;

/// The witness: its key, the logs it follows, its state and its counters.
pub struct Witness {
    signer: Signer,
    logs: BTreeMap<String, TrustedLog>,
    /// Lowercase hex SHA-256 of each origin → origin (the monitoring path).
    by_hash: BTreeMap<String, String>,
    store: Store,
    pub metrics: Metrics,
}

impl Witness {
    pub fn new(signer: Signer, config: &Config, store: Store) -> anyhow::Result<Self> {
        let logs: BTreeMap<String, TrustedLog> = config
            .logs
            .iter()
            .map(|(o, c)| (o.clone(), c.log.clone()))
            .collect();
        let by_hash = logs.keys().map(|o| (origin_hash(o), o.clone())).collect();
        let metrics = Metrics::default();
        metrics.set_evidence(store.evidence_count()? as u64);
        Ok(Witness {
            signer,
            logs,
            by_hash,
            store,
            metrics,
        })
    }

    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The witness's 0x01 vkey (the form witnesses publish).
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    pub fn logs(&self) -> &BTreeMap<String, TrustedLog> {
        &self.logs
    }

    /// The checkpoint last cosigned for `origin`.
    pub fn stored(&self, origin: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self.store.get(origin)?.map(|c| c.stored))
    }

    /// The cosigned checkpoint of the followed log whose origin hashes to `hex`.
    /// Only a durable state is served: a cosigned checkpoint read before
    /// its group commit finished waits for it (`Store::durable_state`).
    pub async fn checkpoint_by_hash(&self, hex: &str) -> Result<Option<String>, StoreError> {
        let Some(origin) = self.by_hash.get(hex) else {
            return Ok(None);
        };
        let Some(current) = self.store.get(origin)? else {
            return Ok(None);
        };
        self.store.durable_state(origin, &current).await?;
        Ok(Some(current.stored.note.to_text()))
    }

    pub fn evidence(&self) -> Result<Vec<Evidence>, StoreError> {
        self.store.evidence()
    }

    /// The Prometheus text exposition of the counters and the store's flushes.
    pub fn render_metrics(&self) -> String {
        self.metrics.render(self.store.flushes())
    }

    /// Checks `req` and, if it may be cosigned, stores it and returns the
    /// cosignature once the stored state is durable.
    pub async fn add_checkpoint(
        self: &Arc<Self>,
        req: AddCheckpoint,
        source: &'static str,
    ) -> Result<NoteSignature, Refusal> {
        let (origin, size, old) = (req.checkpoint.origin.clone(), req.checkpoint.size, req.old);
        let result = self.cosign_durably(req).await;
        match &result {
            Ok(_) => {
                self.metrics.cosigned();
                tracing::info!(source, origin, size, old, "cosigned checkpoint");
            }
            Err(r) => {
                tracing::warn!(source, origin, status = r.status, reason = %r.reason, "refused checkpoint");
            }
        }
        result
    }

    async fn cosign_durably(
        self: &Arc<Self>,
        req: AddCheckpoint,
    ) -> Result<NoteSignature, Refusal> {
        match self.decide(&req)? {
            Decision::Cosigned(cosignature, ticket) => {
                self.store.durable(ticket).await.map_err(internal)?;
                Ok(cosignature)
            }
            Decision::Misbehaved(refusal, report) => {
                // Evidence files are written and fsynced: off the async workers.
                let witness = Arc::clone(self);
                let stored =
                    tokio::task::spawn_blocking(move || witness.store_evidence(&report)).await;
                if let Err(e) = stored {
                    tracing::error!(error = %e, "evidence task failed");
                }
                Err(refusal)
            }
        }
    }

    /// Checks `req` against the stored state and, if it may be cosigned,
    /// cosigns it and swaps it in (in memory; the caller waits on the
    /// ticket). This runs on the async workers: it is CPU work (a signature
    /// check, a consistency proof, a cosignature) plus sled reads and a
    /// compare-and-swap on a database of one small row per origin, which
    /// stays in sled's cache. The only slow I/O, the fsync, is the group
    /// commit's, and evidence is written by the caller.
    fn decide(&self, req: &AddCheckpoint) -> Result<Decision, Refusal> {
        let origin = req.checkpoint.origin.as_str();
        let Some(log) = self.logs.get(origin) else {
            return Err(Refusal::new(404, format!("unknown log origin {origin:?}")));
        };
        let mut last_size = 0;
        for _ in 0..MAX_ATTEMPTS {
            let current = self.store.get(origin).map_err(internal)?;
            let stored = current.as_ref().map(|c| &c.stored);
            last_size = stored.map_or(0, |s| s.checkpoint.size);
            let note = match protocol::check(log, stored, req) {
                Ok(note) => note,
                Err(refusal) => {
                    return match (refusal.misbehaviour, current) {
                        (Some(why), Some(current)) => match evidence(log, &current, req, why) {
                            Some(evidence) => Ok(Decision::Misbehaved(
                                refusal,
                                MisbehaviourReport {
                                    evidence,
                                    why,
                                    stored_size: current.stored.checkpoint.size,
                                    conflicting_size: req.checkpoint.size,
                                },
                            )),
                            None => Err(refusal),
                        },
                        _ => Err(refusal),
                    };
                }
            };
            let cosignature = self.signer.cosign(note.text.as_bytes(), now());
            let mut cosigned = note;
            cosigned.signatures.push(cosignature.clone());
            let expected = current.as_ref().map(|c: &Current| &c.raw);
            let mark = Mark {
                size: req.checkpoint.size,
                root: req.checkpoint.root,
            };
            if let Some(ticket) = self
                .store
                .compare_and_swap(origin, expected, cosigned.to_text().as_bytes(), mark)
                .map_err(internal)?
            {
                return Ok(Decision::Cosigned(cosignature, ticket));
            }
            // Another request changed the state between our read and our
            // swap: decide again against what it stored.
        }
        Err(Refusal {
            stored_size: Some(last_size),
            ..Refusal::new(409, "the stored checkpoint kept changing; retry")
        })
    }

    /// Stores the evidence of a misbehaviour durably and reports it loudly.
    fn store_evidence(&self, report: &MisbehaviourReport) {
        let MisbehaviourReport {
            evidence,
            why,
            stored_size,
            conflicting_size,
        } = report;
        match self.store.record_evidence(evidence) {
            Ok(new) => {
                if new {
                    self.metrics.evidence_recorded();
                }
                tracing::error!(
                    origin = %evidence.origin,
                    reason = why.as_str(),
                    stored_size,
                    conflicting_size,
                    id = %evidence.id(),
                    new,
                    "LOG MISBEHAVIOUR: the log signed a checkpoint inconsistent with one this witness cosigned; evidence stored, not cosigning"
                );
            }
            Err(e) => tracing::error!(
                origin = %evidence.origin,
                reason = why.as_str(),
                error = %e,
                "LOG MISBEHAVIOUR seen but the evidence could not be stored"
            ),
        }
    }
}

/// What `decide` concluded, short of a plain refusal.
enum Decision {
    /// Cosigned and swapped in; durable once the ticket is.
    Cosigned(NoteSignature, Ticket),
    /// Refused, and the log signed a conflicting checkpoint: store this.
    Misbehaved(Refusal, MisbehaviourReport),
}

/// Evidence of log misbehaviour, with what its log line says.
struct MisbehaviourReport {
    evidence: Evidence,
    why: Misbehaviour,
    stored_size: u64,
    conflicting_size: u64,
}

/// The evidence that the log signed `req`'s checkpoint although it
/// conflicts with the cosigned one (`protocol::check` decided it is
/// conclusive). The refusal came after the signature check, so the re-check
/// succeeds; only the verified log signatures are kept, so the record is
/// self-contained.
fn evidence(
    log: &TrustedLog,
    current: &Current,
    req: &AddCheckpoint,
    why: Misbehaviour,
) -> Option<Evidence> {
    let conflicting = protocol::verify_log_signatures(log, &req.note).ok()?;
    Some(Evidence {
        origin: log.origin.clone(),
        stored_checkpoint: current.stored.note.to_text(),
        conflicting_checkpoint: conflicting.to_text(),
        old: req.old,
        proof: req.proof.iter().map(|h| encode_b64(h)).collect(),
        reason: why.as_str().to_string(),
        prefix_root: match (why, &req.source) {
            (Misbehaviour::ConsistencyProofFailed, ProofSource::LogTiles { prefix_root }) => {
                Some(encode_b64(prefix_root))
            }
            _ => None,
        },
        observed_at: rfc3339_now(),
    })
}

/// Lowercase hex SHA-256 of an origin: the monitoring path segment.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

fn internal(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "storage error");
    Refusal::new(500, "the witness could not access its storage; see its log")
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now().to_string())
}

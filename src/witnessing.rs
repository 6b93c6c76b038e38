//! The log's side of witnessing (c2sp.org/tlog-witness v1.0.0): push each new
//! checkpoint to the configured witnesses, keep their verified cosignatures
//! durably, and publish the newest checkpoint that meets the K-of-N policy.
//!
//! *Witnessing* is what the log does; a *witness* is the independent
//! cosigner it asks (`rootlog-witness`, the `witness/` crate), and
//! *publishing* the mirror's files is [`crate::publish`].
//!
//! Each witness's tree size is learned, never assumed: the first request (and
//! the first after a restart) says `old 0`; a witness that has seen the log
//! answers 409 with its size, and the request is rebuilt with a consistency
//! proof from that size. A cosignature is kept only if it verifies with the
//! configured witness key over the exact checkpoint text that was sent.
//!
//! Every size a witness states is reported to the fork guard
//! (`crate::fork_guard`): the first request to each witness, made at start
//! even for the empty tree, is how a starting log learns whether somebody
//! holds a checkpoint larger than its tree before it sequences anything.
//!
//! Policy: a checkpoint is *witnessed* when at least `quorum` distinct
//! configured witnesses cosigned that very checkpoint. `GET /checkpoint`
//! serves the newest witnessed checkpoint with every cosignature collected.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::fork_guard::ForkGuard;
use crate::note::{encode_b64, Checkpoint, NoteSignature, Verifier};
use crate::proof_reader::{ProofReadError, ProofReader};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::storage::{Store, StoreError};

/// Content type of a witness's 409 body that states its size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// One configured witness: `<vkey>@<url>`, where the vkey is the witness's
/// published key (type 0x01 or 0x04) and the URL its submission prefix.
#[derive(Debug, Clone)]
pub struct WitnessSpec {
    pub verifier: Verifier,
    pub url: String,
}

impl FromStr for WitnessSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A vkey's last field is base64, which never contains '@'; the URL starts after the first '@' past the last '+'.
        let last_plus = s
            .rfind('+')
            .ok_or_else(|| format!("{s:?}: expected <witness vkey>@<url>"))?;
        let at = s[last_plus..]
            .find('@')
            .map(|i| last_plus + i)
            .ok_or_else(|| format!("{s:?}: expected <witness vkey>@<url>"))?;
        let (vkey, url) = (&s[..at], &s[at + 1..]);
        let verifier = Verifier::cosignature_from_vkey(vkey)
            .map_err(|e| format!("witness vkey {vkey:?}: {e}"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "witness URL {url:?} must start with http:// or https://"
            ));
        }
        Ok(WitnessSpec {
            verifier,
            url: url.trim_end_matches('/').to_string(),
        })
    }
}

/// Witnessing settings.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    pub witnesses: Vec<WitnessSpec>,
    /// Distinct witnesses that must cosign a checkpoint for it to count.
    pub quorum: usize,
    /// The least time between two rounds of pushing.
    pub interval: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl WitnessPolicy {
    /// Checks the policy can ever be met.
    pub fn validate(&self) -> Result<(), String> {
        if self.witnesses.is_empty() {
            return if self.quorum == 0 {
                Ok(())
            } else {
                Err("--witness-quorum needs at least that many --witness".into())
            };
        }
        if self.quorum == 0 || self.quorum > self.witnesses.len() {
            return Err(format!(
                "--witness-quorum must be between 1 and the number of witnesses ({})",
                self.witnesses.len()
            ));
        }
        let mut names: Vec<&str> = self.witnesses.iter().map(|w| w.verifier.name()).collect();
        names.sort();
        names.dedup();
        if names.len() != self.witnesses.len() {
            return Err("two --witness entries have the same witness name; each witness must have its own key".into());
        }
        Ok(())
    }
}

/// Appends cosignature lines to a log-signed checkpoint note.
fn with_cosignatures(checkpoint: &SignedCheckpoint, lines: &[String]) -> SignedCheckpoint {
    let mut note = checkpoint.note.clone();
    for line in lines {
        note.push_str(line);
    }
    SignedCheckpoint {
        size: checkpoint.size,
        root: checkpoint.root,
        note,
    }
}

/// The checkpoint text (the signed part of the note).
fn checkpoint_text(note: &str) -> &str {
    match note.rfind("\n\n") {
        Some(split) => &note[..split + 1],
        None => note,
    }
}

/// The verified cosignature lines among `stored`, one per configured witness.
fn verified_lines(policy: &WitnessPolicy, text: &str, stored: &[(String, String)]) -> Vec<String> {
    let mut lines = Vec::new();
    for w in &policy.witnesses {
        let found = stored.iter().find(|(name, line)| {
            name == w.verifier.name()
                && NoteSignature::parse_line(line.trim_end_matches('\n')).is_ok_and(|sig| {
                    w.verifier.matches(&sig) && w.verifier.verify(text.as_bytes(), &sig.signature)
                })
        });
        if let Some((_, line)) = found {
            lines.push(line.clone());
        }
    }
    lines
}

/// The newest stored checkpoint that meets the policy, if any.
pub fn load_witnessed(
    store: &Store,
    policy: &WitnessPolicy,
) -> Result<Option<SignedCheckpoint>, StoreError> {
    for size in store.cosigned_sizes().take(64) {
        let size = size?;
        let Some(note) = store.checkpoint(size)? else {
            continue;
        };
        let note = stored_text(size, note)?;
        let lines = verified_lines(policy, checkpoint_text(&note), &store.cosignatures(size)?);
        if lines.len() >= policy.quorum {
            let stored = stored_checkpoint(size, note)?;
            return Ok(Some(with_cosignatures(&stored, &lines)));
        }
    }
    Ok(None)
}

/// A stored checkpoint note as text.
fn stored_text(size: u64, note: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(note).map_err(|e| StoreError::invalid(format!("stored checkpoint {size}"), e))
}

/// The stored checkpoint of `size` as the log signed it (the log's own
/// signatures, and whatever cosignatures the note holds).
fn stored_checkpoint(size: u64, note: String) -> Result<SignedCheckpoint, StoreError> {
    let root = Checkpoint::parse(checkpoint_text(&note))
        .map_err(|e| StoreError::invalid(format!("stored checkpoint {size}"), e))?
        .root;
    Ok(SignedCheckpoint { size, root, note })
}

/// How many cosigned sizes [`earliest_witnessed`] looks at before it gives
/// up: checkpoints that some but not enough witnesses cosigned come between
/// witnessed ones only while a witness is away, a round at a time.
const EARLIEST_SCAN: usize = 4096;

/// The earliest stored checkpoint covering leaf `index` that meets the
/// policy, with its cosignatures (without witnesses: the checkpoint of the
/// batch that appended it), if one of size at most `upto` exists. Its
/// cosignature times bound when the entry was logged (`crate::timebound`).
pub fn earliest_witnessed(
    store: &Store,
    policy: &WitnessPolicy,
    index: u64,
    upto: u64,
) -> Result<Option<SignedCheckpoint>, StoreError> {
    if policy.witnesses.is_empty() {
        return match store.first_checkpoint_covering(index)? {
            Some((size, note)) if size <= upto => {
                stored_checkpoint(size, stored_text(size, note)?).map(Some)
            }
            _ => Ok(None),
        };
    }
    for size in store.cosigned_sizes_after(index).take(EARLIEST_SCAN) {
        let size = size?;
        if size > upto {
            break;
        }
        let Some(note) = store.checkpoint(size)? else {
            continue;
        };
        let checkpoint = stored_checkpoint(size, stored_text(size, note)?)?;
        let lines = verified_lines(
            policy,
            checkpoint_text(&checkpoint.note),
            &store.cosignatures(size)?,
        );
        if lines.len() >= policy.quorum {
            return Ok(Some(with_cosignatures(&checkpoint, &lines)));
        }
    }
    Ok(None)
}

/// [`earliest_witnessed`] for many leaves at once: for each of `indexes`
/// (ascending), the earliest stored checkpoint of size at most `upto`
/// covering it that meets the policy, exactly as [`earliest_witnessed`]
/// finds it, but asking it once per distinct checkpoint rather than once
/// per leaf. Correct because if `c` is the earliest for leaf `j`, it is the
/// earliest for every leaf `i` with `j <= i < c.size` too: it covers `i`,
/// and any witnessed checkpoint covering `i` covers `j`, so none is smaller.
pub fn earliest_witnessed_each(
    store: &Store,
    policy: &WitnessPolicy,
    indexes: &[u64],
    upto: u64,
) -> Result<Vec<Option<Arc<SignedCheckpoint>>>, StoreError> {
    let mut out = Vec::with_capacity(indexes.len());
    let mut current: Option<(u64, Arc<SignedCheckpoint>)> = None;
    for &index in indexes {
        if let Some((from, checkpoint)) = &current {
            if *from <= index && index < checkpoint.size {
                out.push(Some(checkpoint.clone()));
                continue;
            }
        }
        let found = earliest_witnessed(store, policy, index, upto)?.map(Arc::new);
        current = found.clone().map(|c| (index, c));
        out.push(found);
    }
    Ok(out)
}

/// What one push to one witness came to.
enum PushResult {
    Cosigned(String),
    /// The witness holds another size; retry from it.
    Size(u64),
    /// The witness answered and refused for a reason other than its size
    /// (it does not know this log or its key): it holds no checkpoint of it.
    Refused(String),
    /// No usable answer (unreachable, timeout, server error, bad answer).
    Failed(String),
}

struct WitnessClient {
    spec: WitnessSpec,
    /// The size this witness last confirmed; None until learned.
    size: Option<u64>,
}

/// Builds the add-checkpoint request body.
fn request_body(
    store: &Store,
    old: u64,
    checkpoint: &SignedCheckpoint,
) -> Result<String, StoreError> {
    let mut body = format!("old {old}\n");
    if old > 0 && old < checkpoint.size {
        let proof = ProofReader::new(store)
            .consistency(old, checkpoint.size)
            .map_err(ProofReadError::into_store)?;
        for hash in proof {
            body.push_str(&encode_b64(&hash));
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&checkpoint.note);
    Ok(body)
}

async fn push_once(
    http: &reqwest::Client,
    store: &Store,
    witness: &WitnessSpec,
    old: u64,
    checkpoint: &SignedCheckpoint,
) -> PushResult {
    let body = match request_body(store, old, checkpoint) {
        Ok(body) => body,
        Err(e) => return PushResult::Failed(e.to_string()),
    };
    let response = match http
        .post(format!("{}/add-checkpoint", witness.url))
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return PushResult::Failed(format!("unreachable: {e}")),
    };
    let status = response.status().as_u16();
    let is_size = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(SIZE_CONTENT_TYPE));
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => return PushResult::Failed(format!("reading the answer: {e}")),
    };
    match status {
        200 => {
            let cp_text = checkpoint_text(&checkpoint.note);
            for line in text.lines() {
                if let Ok(sig) = NoteSignature::parse_line(line) {
                    if witness.verifier.matches(&sig)
                        && witness.verifier.verify(cp_text.as_bytes(), &sig.signature)
                    {
                        return PushResult::Cosigned(format!("{line}\n"));
                    }
                }
            }
            PushResult::Failed(
                "200 without a cosignature that verifies with the configured key".into(),
            )
        }
        409 if is_size => match crate::note::parse_decimal_u64(text.trim_end_matches('\n')) {
            Some(size) => PushResult::Size(size),
            None => PushResult::Failed(format!("409 with an unreadable size {text:?}")),
        },
        // Unknown log (404, or 403 from witnesses that answer so) and an
        // untrusted signature: the witness holds nothing of this log.
        403 | 404 => PushResult::Refused(format!("{status}: {}", text.trim())),
        _ => PushResult::Failed(format!("{status}: {}", text.trim())),
    }
}

/// Pushes `checkpoint` to one witness, learning its size from a 409 at most
/// twice. Every size the witness states goes to the fork guard, against the
/// durable tree size `tree` holds.
async fn push(
    http: &reqwest::Client,
    store: &Store,
    client: &mut WitnessClient,
    checkpoint: &SignedCheckpoint,
    guard: &ForkGuard,
    tree: &watch::Receiver<Arc<SignedCheckpoint>>,
) -> Result<String, String> {
    let name = client.spec.verifier.name().to_string();
    let tree_size = || tree.borrow().size;
    let mut old = client.size.unwrap_or(0);
    for _ in 0..3 {
        match push_once(http, store, &client.spec, old, checkpoint).await {
            PushResult::Cosigned(line) => {
                guard.seen(&name, checkpoint.size, tree_size());
                client.size = Some(checkpoint.size);
                return Ok(line);
            }
            PushResult::Size(size) => {
                guard.seen(&name, size, tree_size());
                if size <= checkpoint.size && size != old {
                    client.size = Some(size);
                    old = size;
                } else {
                    client.size = None;
                    return Err(format!("witness holds size {size}, which this log cannot extend to {} (is it a different log with the same origin, or was this log restored from an older copy?)", checkpoint.size));
                }
            }
            PushResult::Refused(reason) => {
                guard.answered(&name);
                client.size = None;
                return Err(reason);
            }
            PushResult::Failed(reason) => {
                client.size = None;
                return Err(reason);
            }
        }
    }
    Err("the witness's size kept changing".into())
}

/// Runs witnessing until `latest` closes.
///
/// Rounds: at most once per interval, and only when the tree grew, one
/// checkpoint is chosen, and every witness is asked to cosign that same one.
/// A quorum needs K cosignatures on one checkpoint, so witnesses that each
/// picked the latest checkpoint at their own moment would rarely agree while
/// the log grows. One task per witness pushes the newest round's checkpoint
/// whenever it is free, so a slow or hanging witness only misses rounds and
/// delays nobody else; after a failure it retries after an interval, also
/// when the tree has not grown since.
pub async fn run(
    store: Store,
    policy: WitnessPolicy,
    mut latest: watch::Receiver<Arc<SignedCheckpoint>>,
    witnessed: watch::Sender<Arc<SignedCheckpoint>>,
    guard: Arc<ForkGuard>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let http = match reqwest::Client::builder().timeout(policy.timeout).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the witness HTTP client; witnessing is off");
            return;
        }
    };
    let witnessed = Arc::new(witnessed);
    let (rounds, round) = watch::channel(latest.borrow_and_update().clone());
    let tasks: Vec<_> = policy
        .witnesses
        .iter()
        .map(|spec| {
            let client = WitnessClient {
                spec: spec.clone(),
                size: None,
            };
            tokio::spawn(witness_loop(
                http.clone(),
                store.clone(),
                policy.clone(),
                client,
                round.clone(),
                witnessed.clone(),
                (guard.clone(), latest.clone(), metrics.clone()),
            ))
        })
        .collect();
    drop(round);
    loop {
        tokio::time::sleep(policy.interval).await;
        // Wait for the tree to grow (at once if it did during the interval).
        if latest.changed().await.is_err() {
            break;
        }
        let checkpoint = latest.borrow_and_update().clone();
        rounds.send_replace(checkpoint);
    }
    drop(rounds);
    for task in tasks {
        let _ = task.await;
    }
}

/// Keeps one witness up to date with the rounds: pushes the newest round's
/// checkpoint unless the witness holds it already, then waits for the next
/// round (after a failure: an interval, then the newest round again). The
/// first push is made even for the empty tree: it tells the fork guard the
/// witness's size.
async fn witness_loop(
    http: reqwest::Client,
    store: Store,
    policy: WitnessPolicy,
    mut client: WitnessClient,
    mut round: watch::Receiver<Arc<SignedCheckpoint>>,
    witnessed: Arc<watch::Sender<Arc<SignedCheckpoint>>>,
    (guard, tree, metrics): (
        Arc<ForkGuard>,
        watch::Receiver<Arc<SignedCheckpoint>>,
        Arc<crate::metrics::Metrics>,
    ),
) {
    loop {
        let checkpoint = round.borrow_and_update().clone();
        if client.size != Some(checkpoint.size) {
            let name = client.spec.verifier.name().to_string();
            match push(&http, &store, &mut client, &checkpoint, &guard, &tree).await {
                Ok(line) => {
                    let (store2, size, witness) = (store.clone(), checkpoint.size, name.clone());
                    match tokio::task::spawn_blocking(move || {
                        store2.put_cosignature(size, &witness, &line)
                    })
                    .await
                    {
                        Ok(Ok(())) => {
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_secs());
                            metrics.witness_cosigned(&name, size, now);
                            publish_if_witnessed(&store, &policy, &checkpoint, &witnessed)
                        }
                        _ => tracing::error!(witness = %name, size, "cannot store a cosignature"),
                    }
                }
                Err(reason) => {
                    metrics.witness_failed(&name);
                    tracing::warn!(witness = %name, size = checkpoint.size, %reason, "witness did not cosign");
                    tokio::time::sleep(policy.interval).await;
                    continue;
                }
            }
        }
        if round.changed().await.is_err() {
            return;
        }
    }
}

/// Publishes `checkpoint` with its stored cosignatures if they meet the
/// policy and it is newer than (or the same with more cosignatures than) the
/// one served. The compare-and-set on the channel is atomic, so witness tasks
/// finishing together cannot publish out of order.
fn publish_if_witnessed(
    store: &Store,
    policy: &WitnessPolicy,
    checkpoint: &SignedCheckpoint,
    witnessed: &watch::Sender<Arc<SignedCheckpoint>>,
) {
    let lines = match store.cosignatures(checkpoint.size) {
        Ok(stored) => verified_lines(policy, checkpoint_text(&checkpoint.note), &stored),
        Err(e) => {
            tracing::error!(error = %e, "cannot read cosignatures");
            return;
        }
    };
    if lines.len() < policy.quorum {
        return;
    }
    let candidate = Arc::new(with_cosignatures(checkpoint, &lines));
    witnessed.send_if_modified(|current| {
        let better = current.size < candidate.size
            || (current.size == candidate.size && current.note.len() < candidate.note.len());
        if better {
            tracing::debug!(
                size = candidate.size,
                cosignatures = lines.len(),
                "checkpoint witnessed"
            );
            *current = candidate.clone();
        }
        better
    });
}

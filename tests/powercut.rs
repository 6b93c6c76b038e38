//! Power cuts: the log, its static mirror and the witness it pushes to
//! keep their data on loop-mounted ext4 filesystems (`common::loopfs`, one
//! each, see `Disks`) whose power is cut (both servers frozen, then `mount
//! -o remount,abort`) while clients submit, or at a quiet moment,
//! microseconds after an acknowledgement. SIGKILL alone cannot show this: the kernel still writes
//! a killed process's page cache out; a power cut loses whatever was not
//! synced.
//!
//! Each cycle: the servers run under concurrent submitting clients while a
//! sampler records every checkpoint served (the log's `GET /checkpoint`,
//! the mirror's `checkpoint` file, the witness's monitoring endpoint). Odd
//! cycles cut at a random moment under load; even ones pause the clients,
//! submit one statement alone and cut as soon as its 201 arrives. Then
//! SIGKILL both servers, unmount, `e2fsck -f -y`, remount, and with the
//! servers down run `rootlog fsck` (must pass) and check the mirror (its
//! signed checkpoint, every tile and bundle it needs). Restart the witness
//! alone: it must still hold at least every size it was seen to cosign, and
//! refuse a fork at its stored size signed with the log's own key, keeping
//! its state. Restart the log: every entry acknowledged this cycle must be
//! at its index byte for byte (`GET /v1/entries/{index}`), every entry ever
//! acknowledged must be in the entry bundles, and every checkpoint ever seen
//! must be consistent with the restarted tree (never beyond it, its root
//! the tree's at its size, and the log's own consistency proof verifying to
//! the current root for those of this cycle); no two roots for one size.
//!
//! Failures are counted, not fatal, so one run tells how often a build
//! loses data; the test fails at the end if any count is not 0.
//!
//! - `ROOTLOG_POWERCUT_CYCLES`: cycles (default 4; `scripts/powercut-test`
//!   runs 100 on a release build).
//! - `ROOTLOG_POWERCUT_SEED`: repeat a run's choices (the seed is printed).
//! - `ROOTLOG_POWERCUT_BIN_DIR`: a directory holding the `rootlog` and
//!   `rootlog-witness` binaries to test instead of this build's, for
//!   showing what another commit loses.
//! - `ROOTLOG_POWERCUT_ONE_DISK`: all three on one filesystem.
//!
//! Needs root, a loop device, `mkfs.ext4` and `e2fsck`: without them it
//! prints a loud notice and passes, except under CI (`CI` set), where it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::loopfs::{freeze, LoopFs};
use common::{day, Server, Tenant, ADMIN_TOKEN};
use rootlog::client::{verify_checkpoint, EntryProof, LogClient};
use rootlog::merkle::{leaf_hash, verify_consistency, Frontier, Hash};
use rootlog::note::{Checkpoint, Note, Signer, Verifier};
use sha2::Digest;

const ORIGIN: &str = "powercut.example/log";
const WITNESS_NAME: &str = "powercut-witness.example";
/// Each sparse image of the run.
const IMAGE_MIB: u64 = 256;
/// Concurrent submitting clients.
const CLIENTS: usize = 4;
/// Statements per tenant at most: one per day from 2020-01-01, all past.
const DAYS_PER_TENANT: u64 = 2000;
/// Statements one cycle may submit at most (tenants are registered for it).
const MAX_PER_CYCLE: u64 = 20_000;
/// How long a restarted log may take to get its tree cosigned.
const WITNESS_WAIT: Duration = Duration::from_secs(20);

fn cycles() -> u64 {
    std::env::var("ROOTLOG_POWERCUT_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4)
}

/// A small deterministic generator (xorshift) for every choice of a run.
struct Rng(u64);

impl Rng {
    fn from_env() -> (Self, u64) {
        let seed = std::env::var("ROOTLOG_POWERCUT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        (Rng(seed | 1), seed)
    }

    /// A number in [from, to).
    fn range(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

/// The binaries under test: this build's, or those in `ROOTLOG_POWERCUT_BIN_DIR`.
struct Bins {
    rootlog: PathBuf,
    witness: PathBuf,
}

impl Bins {
    fn from_env() -> Bins {
        let bins = match std::env::var_os("ROOTLOG_POWERCUT_BIN_DIR") {
            Some(dir) => Bins {
                rootlog: Path::new(&dir).join("rootlog"),
                witness: Path::new(&dir).join("rootlog-witness"),
            },
            None => Bins {
                rootlog: PathBuf::from(common::rootlog_bin()),
                witness: common::witness_bin(),
            },
        };
        for bin in [&bins.rootlog, &bins.witness] {
            assert!(bin.exists(), "{} is missing", bin.display());
        }
        bins
    }
}

/// The filesystems of a run: by default three, one each for the log's
/// data directory, its mirror and the witness, cut at the same instant.
/// ext4 has one journal per filesystem and an fsync by anyone commits it
/// for every file on it: on one shared filesystem the log's fsyncs (one
/// per batch) would make durable what the witness only believed it had
/// synced, and the mirror's what the log had not, hiding a missing sync
/// in either. `ROOTLOG_POWERCUT_ONE_DISK=1` puts all three on one.
struct Disks {
    disks: Vec<LoopFs>,
}

impl Disks {
    fn create() -> Disks {
        let count = if std::env::var_os("ROOTLOG_POWERCUT_ONE_DISK").is_some() {
            1
        } else {
            3
        };
        Disks {
            disks: (0..count).map(|_| LoopFs::create(IMAGE_MIB)).collect(),
        }
    }

    fn on(&self, disk: usize, name: &str) -> PathBuf {
        self.disks[disk % self.disks.len()].path().join(name)
    }

    fn log(&self) -> PathBuf {
        self.on(0, "log")
    }

    fn mirror_disk(&self) -> PathBuf {
        self.on(1, "")
    }

    fn witness(&self) -> PathBuf {
        self.on(2, "witness")
    }

    /// The power cut, on every filesystem (within microseconds).
    fn cut(&self) {
        for disk in &self.disks {
            disk.cut();
        }
    }

    /// Unmounts, `e2fsck`s and remounts each: the exit codes of e2fsck.
    fn recover(&mut self) -> Vec<i32> {
        self.disks
            .iter_mut()
            .map(|disk| {
                disk.unmount();
                let code = disk.fsck();
                disk.mount();
                code
            })
            .collect()
    }
}

/// The power cut: both servers frozen mid-flight, then every disk cut.
fn power_cut(server: &Server, witness: &Witness, disks: &Disks) {
    let pids: Vec<u32> = [server.pid(), witness.pid()]
        .into_iter()
        .flatten()
        .collect();
    freeze(&pids);
    disks.cut();
}

/// A free TCP port on 127.0.0.1: the witness keeps it across restarts,
/// since the log is configured with its URL.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The witness process, restartable on a fixed port.
struct Witness {
    child: Option<Child>,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// `--log ORIGIN=VKEY`
    log: String,
    /// Its stderr, appended across restarts, off the filesystem that is cut.
    stderr: PathBuf,
}

impl Witness {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits for its "listening on" line.
    fn start(&mut self) -> Result<(), String> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--name", WITNESS_NAME, "--log", &self.log, "--data"])
            .arg(&self.data)
            .env("ROOTLOG_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            // Keep reading, so the witness never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        if line.starts_with("rootlog-witness: listening on") {
            self.child = Some(child);
            return Ok(());
        }
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        Err(format!(
            "the witness did not start: {line:?}; its stderr ends: {}",
            tail(&log)
        ))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn vkey(&self) -> String {
        let out = Command::new(&self.bin)
            .arg("vkey")
            .arg("--data")
            .arg(&self.data)
            .output()
            .unwrap();
        assert!(out.status.success(), "rootlog-witness vkey failed");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last 2000 bytes of a process's output, for failure messages.
fn tail(text: &str) -> &str {
    let mut from = text.len().saturating_sub(2000);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

/// Where a checkpoint was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// In the answer to a submission or registration.
    Answer,
    /// The log's `GET /checkpoint`.
    Served,
    /// The mirror's `checkpoint` file.
    Mirror,
    /// The witness's monitoring endpoint (its stored, cosigned checkpoint).
    Witness,
}

/// An acknowledged entry.
struct Ack {
    index: u64,
    bytes: Vec<u8>,
    /// The answer arrived after the cut began.
    after_cut: bool,
}

/// What one cycle saw before its cut.
#[derive(Default)]
struct Seen {
    acks: Vec<Ack>,
    checkpoints: Vec<(Source, Checkpoint)>,
    /// Answers whose checkpoint or inclusion proof did not verify, or
    /// statuses other than 201.
    bad_answers: u64,
    /// The largest size of a checkpoint the log served with the witness's
    /// cosignature: the witness answered 200 for it.
    witness_answered: u64,
    /// The largest size the witness's monitoring endpoint served cosigned.
    witness_served: u64,
}

/// Counts over the whole run.
#[derive(Default, Debug)]
struct Tally {
    cycles: u64,
    quiet_cycles: u64,
    acknowledged: u64,
    /// Acknowledged entries missing or changed at their index after a restart.
    lost: u64,
    /// ... of which acknowledged after the cut began.
    lost_after_cut: u64,
    /// Distinct checkpoints not consistent with a restarted tree.
    inconsistent: u64,
    /// Sizes for which two different signed roots were seen.
    forks: u64,
    /// Restarts at which the witness held less than it was seen to cosign.
    witness_rollbacks: u64,
    /// The witness cosigned a fork, or its state changed when it refused one.
    witness_fork_accepted: u64,
    fsck_failures: u64,
    mirror_failures: u64,
    /// A server that would not start, or a log that could not be read back.
    restart_failures: u64,
    /// Restarted logs whose tree the witness did not cosign in time.
    unwitnessed: u64,
    bad_answers: u64,
    /// The mirror's checkpoint went back across a cut (consistent, but an
    /// auditor that read the newer one sees the log shrink until it is
    /// republished); reported, not a failure.
    mirror_rollbacks: u64,
}

impl Tally {
    fn failures(&self) -> u64 {
        self.lost
            + self.inconsistent
            + self.forks
            + self.witness_rollbacks
            + self.witness_fork_accepted
            + self.fsck_failures
            + self.mirror_failures
            + self.restart_failures
            + self.unwitnessed
            + self.bad_answers
    }

    fn other_failures(&self) -> u64 {
        self.failures() - self.lost - self.inconsistent - self.forks - self.witness_rollbacks
    }
}

/// What the run knows across cycles.
#[derive(Default)]
struct History {
    /// index → bytes of every acknowledged entry not (yet) found lost.
    acknowledged: BTreeMap<u64, Vec<u8>>,
    /// Every distinct checkpoint seen, with where it was first seen.
    checkpoints: BTreeMap<(u64, Hash), Source>,
    /// Checkpoints already counted as inconsistent.
    broken: BTreeSet<(u64, Hash)>,
    /// Sizes already counted as forked.
    forked: BTreeSet<u64>,
    witness_answered: u64,
    witness_served: u64,
    mirror_size: u64,
    tally: Tally,
}

/// True if `note` carries a valid cosignature by `witness`.
fn cosigned_by(note: &str, witness: &Verifier) -> bool {
    Note::parse(note.as_bytes()).is_ok_and(|note| {
        note.signatures
            .iter()
            .any(|s| witness.matches(s) && witness.verify(note.text.as_bytes(), &s.signature))
    })
}

/// The witness's stored checkpoint for the log, if it serves one signed by
/// the log and cosigned by itself.
async fn witness_checkpoint(
    http: &reqwest::Client,
    witness_url: &str,
    log_key: &Verifier,
    witness_key: &Verifier,
) -> Option<Checkpoint> {
    let url = format!(
        "{witness_url}/{}/checkpoint",
        hex::encode(sha2::Sha256::digest(ORIGIN.as_bytes()))
    );
    let response = http.get(url).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let text = response.text().await.ok()?;
    if !cosigned_by(&text, witness_key) {
        return None;
    }
    verify_checkpoint(log_key, &text).ok()
}

/// The log's and the witness's public keys.
#[derive(Clone)]
struct Keys {
    log: Verifier,
    witness: Verifier,
}

/// What the clients and the sampler of one cycle share.
struct Cycle {
    keys: Keys,
    seen: Mutex<Seen>,
    /// Set just before the cut.
    cut: AtomicBool,
    /// Tells the clients to stop submitting.
    stop: AtomicBool,
    /// Tells the sampler to stop.
    stop_sampler: AtomicBool,
}

/// Samples every checkpoint the servers hand out until `stop`, keeping
/// only answers that arrived before the cut.
async fn sample(log: LogClient, witness_url: String, mirror: PathBuf, cycle: Arc<Cycle>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let keys = &cycle.keys;
    while !cycle.stop_sampler.load(Ordering::SeqCst) {
        let served = log.checkpoint().await.ok().and_then(|text| {
            let cp = verify_checkpoint(&keys.log, &text).ok()?;
            Some((cosigned_by(&text, &keys.witness), cp))
        });
        let published = std::fs::read_to_string(mirror.join("checkpoint"))
            .ok()
            .and_then(|text| verify_checkpoint(&keys.log, &text).ok());
        let witnessed = witness_checkpoint(&http, &witness_url, &keys.log, &keys.witness).await;
        if cycle.cut.load(Ordering::SeqCst) {
            // A real power cut leaves nothing running to answer.
            break;
        }
        {
            let mut seen = cycle.seen.lock().unwrap();
            if let Some((cosigned, cp)) = served {
                if cosigned {
                    seen.witness_answered = seen.witness_answered.max(cp.size);
                }
                seen.checkpoints.push((Source::Served, cp));
            }
            if let Some(cp) = published {
                seen.checkpoints.push((Source::Mirror, cp));
            }
            if let Some(cp) = witnessed {
                seen.witness_served = seen.witness_served.max(cp.size);
                seen.checkpoints.push((Source::Witness, cp));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Records a 201 answer for `bytes`, checking its checkpoint and inclusion proof.
fn record_answer(
    seen: &Mutex<Seen>,
    keys: &Keys,
    bytes: Vec<u8>,
    entry: &EntryProof,
    after_cut: bool,
) {
    let checked = entry.verify(&keys.log, Some(&bytes));
    let mut seen = seen.lock().unwrap();
    match checked {
        Ok(cp) => seen.checkpoints.push((Source::Answer, cp)),
        Err(e) => {
            eprintln!("answer for index {} does not verify: {e}", entry.index);
            seen.bad_answers += 1;
        }
    }
    seen.acks.push(Ack {
        index: entry.index,
        bytes,
        after_cut,
    });
}

/// Statement number `n`: a distinct (tenant, date) for every n.
fn statement(tenants: &[Arc<Tenant>], n: u64) -> Vec<u8> {
    tenants[(n / DAYS_PER_TENANT) as usize].statement(&day(n % DAYS_PER_TENANT), n)
}

/// A client submitting statements until `stop`, the cycle's limit, or an error.
async fn submitter(
    log: LogClient,
    tenants: Arc<Vec<Arc<Tenant>>>,
    next: Arc<AtomicU64>,
    limit: u64,
    cycle: Arc<Cycle>,
) {
    while !cycle.stop.load(Ordering::SeqCst) {
        let n = next.fetch_add(1, Ordering::SeqCst);
        if n >= limit {
            return;
        }
        let bytes = statement(&tenants, n);
        match log.submit(&bytes).await {
            Ok((201, entry)) => record_answer(
                &cycle.seen,
                &cycle.keys,
                bytes,
                &entry,
                cycle.cut.load(Ordering::SeqCst),
            ),
            Ok((status, entry)) => {
                eprintln!("statement {n} answered {status} (index {})", entry.index);
                cycle.seen.lock().unwrap().bad_answers += 1;
            }
            Err(_) => return, // the server is gone, or has stopped sequencing
        }
    }
}

/// Registers tenants until statements up to `upto` have one, recording
/// each registration entry as acknowledged.
async fn register_tenants(
    log: &LogClient,
    tenants: &mut Vec<Arc<Tenant>>,
    upto: u64,
    keys: &Keys,
    seen: &Mutex<Seen>,
) {
    while (tenants.len() as u64) * DAYS_PER_TENANT < upto {
        let tenant = Tenant::new(&format!("powercut-{}", tenants.len()));
        let (status, body) = log
            .add_tenant(ADMIN_TOKEN, &tenant.id, &tenant.signer.vkey())
            .await
            .expect("register a tenant");
        assert_eq!(status, 201, "registering {}: {body}", tenant.id);
        let entry: EntryProof =
            serde_json::from_value(body["entry"].clone()).expect("the registration's entry");
        let stored = log
            .entry(entry.index)
            .await
            .expect("the registration entry");
        record_answer(seen, keys, stored.statement.into_bytes(), &entry, false);
        tenants.push(Arc::new(tenant));
    }
}

/// `rootlog fsck --json` on the stopped log: Ok(tree size) or what it said.
fn fsck(bin: &Path, data: &Path) -> Result<u64, String> {
    let out = Command::new(bin)
        .args(["fsck", "--json", "--data"])
        .arg(data)
        .env("ROOTLOG_LOG", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match (out.status.success(), report["tree_size"].as_u64()) {
        (true, Some(size)) => Ok(size),
        _ => Err(format!(
            "{}: {}{}",
            out.status,
            tail(&text),
            tail(&String::from_utf8_lossy(&out.stderr))
        )),
    }
}

/// Posts a checkpoint at the witness's stored size with another root,
/// signed by the log's key: the witness must refuse it and keep its state.
/// Returns a failure description, if any.
async fn fork_refused(
    http: &reqwest::Client,
    witness_url: &str,
    signer: &Signer,
    keys: &Keys,
    stored: &Checkpoint,
) -> Option<String> {
    let mut root = leaf_hash(format!("a fork of size {}", stored.size).as_bytes());
    if root == stored.root {
        root[0] ^= 1;
    }
    let mut note = Note::new(Checkpoint::new(ORIGIN, stored.size, root).to_text());
    note.signatures.push(signer.sign(note.text.as_bytes()));
    let body = format!("old {}\n\n{}", stored.size, note.to_text());
    let status = match http
        .post(format!("{witness_url}/add-checkpoint"))
        .body(body)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(e) => return Some(format!("the fork could not be posted: {e}")),
    };
    let after = witness_checkpoint(http, witness_url, &keys.log, &keys.witness).await;
    let kept = after.is_some_and(|c| c.size == stored.size && c.root == stored.root);
    match (status, kept) {
        (409 | 422, true) => None,
        (status, kept) => Some(format!(
            "a fork at size {} was answered {status}; stored checkpoint kept: {kept}",
            stored.size
        )),
    }
}

/// Waits (bounded) until the restarted log says it is healthy, and returns
/// what `/healthz` says. A log may hold sequencing while it starts (503 with
/// a status saying why); one that stays unhealthy is a failure, with its
/// reason.
async fn healthy(log: &LogClient) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + WITNESS_WAIT;
    loop {
        let unhealthy = match log.get_json("/healthz").await {
            Ok(health) => return Ok(health),
            Err(rootlog::client::ClientError::Api { body, .. }) => body.to_string(),
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            return Err(format!("the log stayed unhealthy: {unhealthy}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the log serves a checkpoint of `size` cosigned by the
/// witness (its `GET /checkpoint` serves only witnessed ones).
async fn wait_witnessed(log: &LogClient, keys: &Keys, size: u64) -> Option<Checkpoint> {
    let deadline = Instant::now() + WITNESS_WAIT;
    while Instant::now() < deadline {
        if let Ok(text) = log.checkpoint().await {
            if let Ok(cp) = verify_checkpoint(&keys.log, &text) {
                if cp.size == size && cosigned_by(&text, &keys.witness) {
                    return Some(cp);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Every entry of the restarted log, from its entry bundles.
async fn read_entries(url: &str, size: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    let tiles = rootlog::tiles::TileClient::new(url)?;
    let mut entries = Vec::with_capacity(size as usize);
    for bundle in 0..size.div_ceil(256) {
        let width = (size - bundle * 256).min(256) as u16;
        entries.extend(tiles.entries(bundle, width).await?);
    }
    anyhow::ensure!(
        entries.len() as u64 == size,
        "bundles hold {} entries",
        entries.len()
    );
    Ok(entries)
}

/// The root of every prefix of `entries` whose size is in `sizes`.
fn prefix_roots(entries: &[Vec<u8>], sizes: &BTreeSet<u64>) -> BTreeMap<u64, Hash> {
    let mut roots = BTreeMap::new();
    let mut tree = Frontier::new();
    if sizes.contains(&0) {
        roots.insert(0, tree.root());
    }
    for entry in entries {
        tree.append(leaf_hash(entry), |_, _| {});
        if sizes.contains(&tree.size()) {
            roots.insert(tree.size(), tree.root());
        }
    }
    roots
}

impl History {
    /// Checks the restarted log against everything seen, counting failures.
    /// Returns the tree size, or why the log could not be read back.
    async fn check_log(
        &mut self,
        server: &Server,
        keys: &Keys,
        seen: &Seen,
    ) -> Result<u64, String> {
        let client = server.client();
        let health = healthy(&client).await?;
        let size = health["tree_size"]
            .as_u64()
            .ok_or_else(|| format!("healthz without a tree size: {health}"))?;
        let served = wait_witnessed(&client, keys, size).await;
        if served.is_none() {
            eprintln!("FAILURE: the witness did not cosign the restarted tree of {size} within {WITNESS_WAIT:?}");
            self.tally.unwitnessed += 1;
        }
        let entries = read_entries(&server.url, size)
            .await
            .map_err(|e| format!("reading the entry bundles: {e:#}"))?;

        // Acknowledged entries: this cycle's through the entries API, every
        // one through the bundles.
        let mut lost = BTreeSet::new();
        for ack in &seen.acks {
            let stored = client.entry(ack.index).await.ok();
            if stored.is_none_or(|e| e.statement.as_bytes() != ack.bytes.as_slice()) {
                lost.insert(ack.index);
            }
        }
        for (index, bytes) in &self.acknowledged {
            if entries.get(*index as usize) != Some(bytes) {
                lost.insert(*index);
            }
        }
        let after_cut: BTreeSet<u64> = seen
            .acks
            .iter()
            .filter(|a| a.after_cut)
            .map(|a| a.index)
            .collect();
        for index in &lost {
            let when = if after_cut.contains(index) {
                self.tally.lost_after_cut += 1;
                "after"
            } else {
                "before"
            };
            eprintln!("FAILURE: entry {index}, acknowledged {when} the cut, is missing or changed (tree size {size})");
            self.acknowledged.remove(index);
        }
        self.tally.lost += lost.len() as u64;
        for ack in &seen.acks {
            if !lost.contains(&ack.index) {
                self.acknowledged.insert(ack.index, ack.bytes.clone());
            }
        }

        // Checkpoints: forks among everything seen, then each against the tree.
        let mut new = BTreeSet::new();
        for (source, cp) in &seen.checkpoints {
            let key = (cp.size, cp.root);
            if let std::collections::btree_map::Entry::Vacant(slot) = self.checkpoints.entry(key) {
                slot.insert(*source);
                new.insert(key);
            }
        }
        for &(size_seen, root) in &new {
            let forked = self
                .checkpoints
                .range((size_seen, [0u8; 32])..=(size_seen, [0xff; 32]))
                .any(|(&(_, other), _)| other != root);
            if forked && self.forked.insert(size_seen) {
                eprintln!("FAILURE: two different roots were signed for size {size_seen}");
                self.tally.forks += 1;
            }
        }
        let mut sizes: BTreeSet<u64> = self.checkpoints.keys().map(|&(s, _)| s).collect();
        sizes.insert(size);
        let roots = prefix_roots(&entries, &sizes);
        let current = roots
            .get(&size)
            .copied()
            .unwrap_or_else(|| Frontier::new().root());
        if let Some(served) = &served {
            if served.root != current {
                eprintln!("FAILURE: the served checkpoint of {size} does not match its entries");
                self.tally.inconsistent += 1;
            }
        }
        let mut inconsistent = Vec::new();
        for (&(cp_size, root), source) in &self.checkpoints {
            if self.broken.contains(&(cp_size, root)) {
                continue;
            }
            let why = if cp_size > size {
                Some(format!("beyond the restarted tree of {size}"))
            } else if roots.get(&cp_size) != Some(&root) {
                Some("not the root of the tree's prefix".to_string())
            } else if new.contains(&(cp_size, root)) && cp_size > 0 && cp_size < size {
                // The log's own proof, for the ones first seen this cycle.
                match client.consistency(cp_size, size).await {
                    Ok(proof) => verify_consistency(cp_size, size, &root, &current, &proof)
                        .err()
                        .map(|e| format!("consistency proof to {size}: {e}")),
                    Err(e) => Some(format!("no consistency proof to {size}: {e}")),
                }
            } else {
                None
            };
            if let Some(why) = why {
                eprintln!("FAILURE: checkpoint of size {cp_size} seen by {source:?} is inconsistent: {why}");
                inconsistent.push((cp_size, root));
            }
        }
        self.tally.inconsistent += inconsistent.len() as u64;
        self.broken.extend(inconsistent);
        Ok(size)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_entries_survive_power_cuts() {
    if !LoopFs::available("powercut") {
        return;
    }
    let bins = Bins::from_env();
    let (mut rng, seed) = Rng::from_env();
    let cycles = cycles();
    eprintln!(
        "powercut: {cycles} cycles, seed {seed} (set ROOTLOG_POWERCUT_SEED to repeat), binaries {}",
        bins.rootlog.display()
    );
    // Declared first, dropped last: the servers are gone before they unmount.
    let mut disks = Disks::create();
    let outside = tempfile::tempdir().unwrap();
    let data = disks.log();
    let site = disks.mirror_disk().join("site");

    // The log's key and origin first, for the witness.
    Server::try_start_bin(&bins.rootlog, &data, &["--origin", ORIGIN])
        .expect("the log starts")
        .stop();
    let signer = rootlog::identity::read_signer(&data).expect("log.skey");
    let mut witness = Witness {
        child: None,
        bin: bins.witness.clone(),
        data: disks.witness(),
        port: free_port(),
        log: format!("{ORIGIN}={}", signer.vkey()),
        stderr: outside.path().join("witness.stderr"),
    };
    witness.start().unwrap();
    let keys = Keys {
        log: signer.verifier(),
        witness: Verifier::cosignature_from_vkey(&witness.vkey()).expect("witness vkey"),
    };
    let witness_flag = format!("{}@{}", witness.vkey(), witness.url());
    let site_arg = site.to_str().unwrap().to_string();
    let log_args = [
        "--origin",
        ORIGIN,
        "--publish-dir",
        &site_arg,
        "--witness",
        &witness_flag,
        "--witness-quorum",
        "1",
        "--witness-interval",
        "100ms",
    ];
    let mut server = Server::try_start_bin(&bins.rootlog, &data, &log_args).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut history = History::default();
    let mut tenants: Vec<Arc<Tenant>> = Vec::new();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    for number in 1..=cycles {
        let quiet = number % 2 == 0;
        let cycle = Arc::new(Cycle {
            keys: keys.clone(),
            seen: Mutex::new(Seen::default()),
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            stop_sampler: AtomicBool::new(false),
        });
        let log = server.client();
        let first = next.load(Ordering::SeqCst);
        register_tenants(
            &log,
            &mut tenants,
            first + MAX_PER_CYCLE,
            &keys,
            &cycle.seen,
        )
        .await;
        let shared: Arc<Vec<Arc<Tenant>>> = Arc::new(tenants.clone());

        let sampler = tokio::spawn(sample(
            log.clone(),
            witness.url(),
            site.clone(),
            cycle.clone(),
        ));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                tokio::spawn(submitter(
                    log.clone(),
                    shared.clone(),
                    next.clone(),
                    // One left for the quiet cut's last statement.
                    first + MAX_PER_CYCLE - 1,
                    cycle.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.range(150, 1200))).await;
        if quiet {
            // Pause: every client's last submission answered.
            cycle.stop.store(true, Ordering::SeqCst);
            for c in &clients {
                while !c.is_finished() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        let moment = if quiet {
            // Let the servers settle a little, then one statement alone,
            // and the cut as soon as its answer is in.
            tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
            let n = next.fetch_add(1, Ordering::SeqCst);
            let bytes = statement(&shared, n);
            let (status, entry) = log.submit(&bytes).await.expect("the quiet statement");
            let answered = Instant::now();
            cycle.cut.store(true, Ordering::SeqCst);
            let delay = answered.elapsed();
            power_cut(&server, &witness, &disks);
            assert_eq!(status, 201, "the quiet statement");
            record_answer(&cycle.seen, &keys, bytes, &entry, false);
            history.tally.quiet_cycles += 1;
            format!(
                "quiet: cut {} µs after the 201 for index {}",
                delay.as_micros(),
                entry.index
            )
        } else {
            cycle.cut.store(true, Ordering::SeqCst);
            power_cut(&server, &witness, &disks);
            let acked = cycle.seen.lock().unwrap().acks.len();
            format!("under load: cut after {acked} acknowledgements")
        };
        server.kill();
        witness.kill();
        cycle.stop.store(true, Ordering::SeqCst);
        cycle.stop_sampler.store(true, Ordering::SeqCst);
        for task in clients.into_iter().chain([sampler]) {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        let e2fsck = disks.recover();
        let mut seen = std::mem::take(&mut *cycle.seen.lock().unwrap());
        history.tally.cycles += 1;
        history.tally.acknowledged += seen.acks.len() as u64;
        history.tally.bad_answers += seen.bad_answers;
        history.witness_answered = history.witness_answered.max(seen.witness_answered);
        history.witness_served = history.witness_served.max(seen.witness_served);
        let mirror_seen = seen
            .checkpoints
            .iter()
            .filter(|(s, _)| *s == Source::Mirror)
            .map(|(_, c)| c.size)
            .fold(history.mirror_size, u64::max);
        history.mirror_size = mirror_seen;

        // With the servers down: fsck, and the mirror as the cut left it.
        let fsck_size = match fsck(&bins.rootlog, &data) {
            Ok(size) => Some(size),
            Err(e) => {
                eprintln!("FAILURE: rootlog fsck after cut {number}: {e}");
                history.tally.fsck_failures += 1;
                None
            }
        };
        if site.join("checkpoint").exists() {
            match catch_unwind(AssertUnwindSafe(|| {
                common::tiles::verify_dir(&site, &keys.log)
            })) {
                Ok((published, _)) => {
                    if published.size < mirror_seen {
                        history.tally.mirror_rollbacks += 1;
                    }
                    history.mirror_size = published.size;
                    seen.checkpoints.push((Source::Mirror, published));
                }
                Err(_) => {
                    eprintln!("FAILURE: the mirror does not verify after cut {number}");
                    history.tally.mirror_failures += 1;
                }
            }
        }

        // The witness alone: it has not forgotten, and refuses a fork.
        if let Err(e) = witness.start() {
            eprintln!("FAILURE: {e}");
            history.tally.restart_failures += 1;
            break;
        }
        let stored = witness_checkpoint(&http, &witness.url(), &keys.log, &keys.witness).await;
        let stored_size = stored.as_ref().map_or(0, |c| c.size);
        if stored_size < history.witness_answered || stored_size < history.witness_served {
            eprintln!(
                "FAILURE: the witness rolled back to {stored_size}: it answered 200 for {} and served {} cosigned",
                history.witness_answered, history.witness_served
            );
            history.tally.witness_rollbacks += 1;
            // Counted once: from here on, only a further rollback counts.
            history.witness_answered = stored_size;
            history.witness_served = stored_size;
        }
        if let Some(stored) = stored {
            if let Some(why) = fork_refused(&http, &witness.url(), &signer, &keys, &stored).await {
                eprintln!("FAILURE: {why}");
                history.tally.witness_fork_accepted += 1;
            }
            seen.checkpoints.push((Source::Witness, stored));
        }

        // The log, and everything seen against its restarted tree.
        server = match Server::try_start_bin(&bins.rootlog, &data, &log_args) {
            Ok(server) => server,
            Err(stderr) => {
                eprintln!(
                    "FAILURE: the log did not restart after cut {number}: {}",
                    tail(&stderr)
                );
                history.tally.restart_failures += 1;
                // A mirror ahead of the log stops it; count that and go on
                // with a new mirror, to see what else this build loses.
                let aside = disks.mirror_disk().join(format!("site-refused-{number}"));
                if std::fs::rename(&site, aside).is_err() {
                    break;
                }
                history.mirror_size = 0;
                match Server::try_start_bin(&bins.rootlog, &data, &log_args) {
                    Ok(server) => server,
                    Err(stderr) => {
                        eprintln!("FAILURE: nor with a new mirror: {}", tail(&stderr));
                        break;
                    }
                }
            }
        };
        let tree = match history.check_log(&server, &keys, &seen).await {
            Ok(size) => size,
            Err(e) => {
                eprintln!("FAILURE: cannot read back the restarted log: {e}");
                history.tally.restart_failures += 1;
                break;
            }
        };
        if fsck_size.is_some_and(|s| s != tree) {
            eprintln!("FAILURE: fsck saw a tree of {fsck_size:?}, the restarted log {tree}");
            history.tally.fsck_failures += 1;
        }
        eprintln!(
            "cycle {number}/{cycles} {moment}; e2fsck exit {e2fsck:?}; tree {tree} after restart; witness holds {stored_size}; {} failures so far ({:.0} s)",
            history.tally.failures(),
            started.elapsed().as_secs_f64()
        );
    }
    drop(server);
    witness.kill();

    let t = &history.tally;
    eprintln!(
        "powercut summary: {} cycles ({} quiet), {} acknowledged entries, lost {} ({} acknowledged after the cut began), inconsistent checkpoints {}, forks {}, witness rollbacks {}, other failures {}, mirror rollbacks {} (not a failure); seed {seed}; {:.0} s",
        t.cycles,
        t.quiet_cycles,
        t.acknowledged,
        t.lost,
        t.lost_after_cut,
        t.inconsistent,
        t.forks,
        t.witness_rollbacks,
        t.other_failures(),
        t.mirror_rollbacks,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        t.failures(),
        0,
        "power cuts lost or forked something: {t:?}"
    );
    assert_eq!(t.cycles, cycles, "the run stopped early: {t:?}");
    assert!(
        t.acknowledged >= 2 * cycles,
        "too few submissions were acknowledged to mean anything: {t:?}"
    );
}

//! Shared test helpers: the real `rootlog-witness` binary as a child process
//! (killed on drop), a test log that builds RFC 6962 trees and signs
//! checkpoints with the library, request helpers, and the third party's
//! check of an evidence record.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rootlog_tlog::merkle::{
    consistency_plan, leaf_hash, verify_consistency, Frontier, Hash, NodeId,
};
use rootlog_tlog::note::{decode_hash_b64, encode_b64, open, Checkpoint, Note, Signer, Verifier};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rootlog-witness");

/// A running witness; killed when dropped.
pub struct WitnessProcess {
    child: Child,
    pub url: String,
    pub data: PathBuf,
    pub stderr_log: PathBuf,
}

impl WitnessProcess {
    /// Starts `rootlog-witness serve --data DATA --listen 127.0.0.1:0 ARGS...`
    /// and waits (bounded) for its "listening on" line.
    pub fn start(data: &Path, args: &[String]) -> WitnessProcess {
        match Self::try_start(data, args) {
            Ok(w) => w,
            Err(e) => panic!("witness did not start: {e}"),
        }
    }

    /// Like `start`, but returns the error output if the process exits first.
    pub fn try_start(data: &Path, args: &[String]) -> Result<WitnessProcess, String> {
        std::fs::create_dir_all(data).unwrap();
        let stderr_log = data.with_extension(format!("stderr-{}.log", unique()));
        let stderr = std::fs::File::create(&stderr_log).unwrap();
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn rootlog-witness");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("rootlog-witness: listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(50)) {
                return Ok(WitnessProcess {
                    child,
                    url,
                    data: data.to_path_buf(),
                    stderr_log,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(&stderr_log).unwrap_or_default();
                return Err(format!("exited with {status}: {err}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("no listening line within 30 s".into());
            }
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Kills the process and waits for it to exit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Runs `rootlog-witness ARGS` to completion and returns (success, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run rootlog-witness");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A log for tests: a key, a tree with every perfect node kept, and the
/// root at every size.
pub struct TestLog {
    pub origin: String,
    pub signer: Signer,
    frontier: Frontier,
    pub nodes: HashMap<NodeId, Hash>,
    pub roots: Vec<Hash>,
    salt: u64,
}

impl TestLog {
    pub fn new(origin: &str) -> TestLog {
        Self::with_signer(origin, Signer::generate(origin).unwrap(), 0)
    }

    /// A log with the given key; `salt` changes the leaves, so two logs with
    /// different salts and one key model a log that forked its history.
    pub fn with_signer(origin: &str, signer: Signer, salt: u64) -> TestLog {
        TestLog {
            origin: origin.to_string(),
            signer,
            frontier: Frontier::new(),
            nodes: HashMap::new(),
            roots: vec![Frontier::new().root()],
            salt,
        }
    }

    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// `--log ORIGIN=VKEY`
    pub fn flag(&self) -> String {
        format!("{}={}", self.origin, self.vkey())
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Appends leaves until the tree has `size` leaves.
    pub fn grow_to(&mut self, size: u64) {
        while self.frontier.size() < size {
            let i = self.frontier.size();
            let leaf = leaf_hash(format!("leaf {i} salt {}", self.salt).as_bytes());
            let nodes = &mut self.nodes;
            self.frontier.append(leaf, |id, h| {
                nodes.insert(id, *h);
            });
            self.roots.push(self.frontier.root());
        }
    }

    pub fn root(&self, size: u64) -> Hash {
        self.roots[size as usize]
    }

    /// The checkpoint of `size` signed by the log key.
    pub fn checkpoint(&self, size: u64) -> Note {
        let mut note = Note::new(Checkpoint::new(&self.origin, size, self.root(size)).to_text());
        note.signatures.push(self.signer.sign(note.text.as_bytes()));
        note
    }

    /// The consistency proof from `old` to `new` (old > 0).
    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        let plan = consistency_plan(old, new).unwrap();
        let hashes: Vec<Hash> = plan.nodes.iter().map(|id| self.nodes[id]).collect();
        plan.assemble(&hashes).unwrap()
    }
}

/// An add-checkpoint body.
pub fn body(old: u64, proof: &[Hash], note: &Note) -> String {
    let mut s = format!("old {old}\n");
    for h in proof {
        s.push_str(&encode_b64(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&note.to_text());
    s
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn post(client: &reqwest::Client, base: &str, body: impl Into<reqwest::Body>) -> Answer {
    let resp = client
        .post(format!("{base}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .expect("POST add-checkpoint");
    answer(resp).await
}

pub async fn get(client: &reqwest::Client, url: &str) -> Answer {
    answer(client.get(url).send().await.expect("GET")).await
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let body = resp.text().await.unwrap_or_default();
    Answer {
        status,
        content_type,
        body,
    }
}

/// `/<hex SHA-256 of origin>/checkpoint`
pub fn checkpoint_url(base: &str, origin: &str) -> String {
    format!(
        "{base}/{}/checkpoint",
        rootlog_witness::witness::origin_hash(origin)
    )
}

/// Polls `f` until it returns Some or the deadline passes.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a third party does with an evidence record and the log's vkey alone.
/// Returns the reason it proves.
pub fn check_evidence(record: &Value, log_vkey: &str) -> String {
    let log_key = Verifier::from_vkey(log_vkey).unwrap();
    let parse = |field: &str| {
        let note = Note::parse(record[field].as_str().unwrap().as_bytes()).unwrap();
        open(&note, std::slice::from_ref(&log_key)).expect("the log signed it");
        Checkpoint::parse(&note.text).unwrap()
    };
    let stored = parse("stored_checkpoint");
    let conflicting = parse("conflicting_checkpoint");
    assert_eq!(stored.origin, conflicting.origin);
    assert_eq!(record["origin"].as_str().unwrap(), stored.origin);
    let reason = record["reason"].as_str().unwrap().to_string();
    match reason.as_str() {
        "same_size_different_root" => {
            assert_eq!(stored.size, conflicting.size);
            assert_ne!(stored.root, conflicting.root);
        }
        "consistency_proof_failed" => {
            // The log's tree at the new size has another root at the stored
            // size: the proof verifies from that root to the signed one.
            assert_eq!(record["old"].as_u64().unwrap(), stored.size);
            let proof: Vec<_> = record["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| decode_hash_b64(h.as_str().unwrap()).unwrap())
                .collect();
            let prefix_root = decode_hash_b64(record["prefix_root"].as_str().unwrap()).unwrap();
            assert_ne!(prefix_root, stored.root);
            verify_consistency(
                stored.size,
                conflicting.size,
                &prefix_root,
                &conflicting.root,
                &proof,
            )
            .expect("the proof verifies from the prefix root to the signed root");
        }
        other => panic!("unknown reason {other}"),
    }
    assert!(record["observed_at"].as_str().unwrap().ends_with('Z'));
    reason
}

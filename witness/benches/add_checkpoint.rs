//! Throughput of `POST /add-checkpoint` against the real binary (release
//! build under `cargo bench`): N sequential growth requests, each with a
//! consistency proof, each answered only after the state is flushed.
//!
//! `cargo bench -p rootlog-witness --bench add_checkpoint [-- N]`

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use rootlog_tlog::merkle::{consistency_plan, leaf_hash, Frontier, Hash, NodeId};
use rootlog_tlog::note::{encode_b64, Checkpoint, Note, Signer};

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = "bench.example/log";
    let signer = Signer::generate(origin).expect("key");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rootlog-witness"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "bench-witness",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .arg("--log")
        .arg(format!("{origin}={}", signer.vkey()))
        .env("ROOTLOG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn witness");
    let stdout = child.stdout.take().expect("stdout");
    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("rootlog-witness: listening on ")
                .map(str::to_string)
        })
        .expect("listening line");

    // Build the tree and every request up front so only the witness is timed.
    let mut frontier = Frontier::new();
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    let mut roots = vec![frontier.root()];
    for i in 0..=n + 1 {
        frontier.append(leaf_hash(&i.to_be_bytes()), |id, h| {
            nodes.insert(id, *h);
        });
        roots.push(frontier.root());
    }
    let request = |old: u64, size: u64| {
        let mut note = Note::new(Checkpoint::new(origin, size, roots[size as usize]).to_text());
        note.signatures.push(signer.sign(note.text.as_bytes()));
        let mut body = format!("old {old}\n");
        if old > 0 {
            let plan = consistency_plan(old, size).expect("plan");
            let hashes: Vec<Hash> = plan.nodes.iter().map(|id| nodes[id]).collect();
            for h in plan.assemble(&hashes).expect("proof") {
                body.push_str(&encode_b64(&h));
                body.push('\n');
            }
        }
        body.push('\n');
        body.push_str(&note.to_text());
        body
    };
    let bodies: Vec<String> = (0..n).map(|k| request(k, k + 1)).collect();

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let elapsed = rt.block_on(async {
        let client = reqwest::Client::new();
        let start = Instant::now();
        for (k, body) in bodies.into_iter().enumerate() {
            let resp = client
                .post(format!("{url}/add-checkpoint"))
                .body(body)
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status().as_u16(), 200, "request {k}");
            let _ = resp.bytes().await;
        }
        start.elapsed()
    });
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "add-checkpoint: {n} sequential cosigned growth requests in {:.2} s: {:.0} requests/s, {:.2} ms each",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / n as f64
    );
}

//! One log and three real `rootlog-witness` processes, quorum 2: checkpoints
//! get cosigned, `wait=witnessed` and the tlog-proof file work, `rootlog
//! verify` accepts a good proof and refuses every kind of tampering, and the
//! log keeps sequencing (and serving its last witnessed checkpoint) while
//! witnesses are down, then catches up when they return.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{day, register, rootlog_bin, witness_bin, Server, Tenant};
use rootlog::client::verify_checkpoint;
use rootlog::note::{open, Checkpoint, Note, Signer, Verifier};

/// A free TCP port on 127.0.0.1 (witnesses keep their port across restarts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Witness {
    child: Option<Child>,
    data: PathBuf,
    port: u16,
    name: String,
    log: String,
}

impl Witness {
    fn start(data: PathBuf, name: &str, log: String) -> Witness {
        let mut w = Witness {
            child: None,
            data,
            port: free_port(),
            name: name.into(),
            log,
        };
        w.restart();
        w
    }

    fn restart(&mut self) {
        let mut child = Command::new(witness_bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--name",
                &self.name,
                "--log",
                &self.log,
                "--data",
            ])
            .arg(&self.data)
            .env("ROOTLOG_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("rootlog-witness: listening on"),
            "witness did not start: {line:?}"
        );
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn vkey(&self) -> String {
        let out = Command::new(witness_bin())
            .arg("vkey")
            .arg("--data")
            .arg(&self.data)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Cosigners among `witnesses` whose cosignature on the served checkpoint verifies.
fn cosigners(note_text: &str, witnesses: &[Verifier]) -> usize {
    let note = Note::parse(note_text.as_bytes()).unwrap();
    witnesses
        .iter()
        .filter(|w| {
            note.signatures
                .iter()
                .any(|s| w.matches(s) && w.verify(note.text.as_bytes(), &s.signature))
        })
        .count()
}

async fn served(server: &Server, log_key: &Verifier) -> (Checkpoint, String) {
    let text = server.client().checkpoint().await.unwrap();
    (verify_checkpoint(log_key, &text).unwrap(), text)
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn verify_cli(args: &[&str]) -> (i32, String) {
    // The dates here are long past; lateness is tested in tests/timeliness.rs.
    let out = Command::new(rootlog_bin())
        .arg("verify")
        .args(["--max-delay", "none"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_witnesses_quorum_two() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let origin = "witnessed.example/log";
    // First start creates the log key; the witnesses need its vkey.
    drop(Server::start(&data, &["--origin", origin]));
    let log_vkey = {
        let out = Command::new(rootlog_bin())
            .args(["vkey", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let log_key = Verifier::from_vkey(&log_vkey).unwrap();
    let mut witnesses: Vec<Witness> = (0..3)
        .map(|i| {
            Witness::start(
                dir.path().join(format!("w{i}")),
                &format!("witness-{i}.example"),
                format!("{origin}={log_vkey}"),
            )
        })
        .collect();
    let witness_keys: Vec<Verifier> = witnesses
        .iter()
        .map(|w| Verifier::cosignature_from_vkey(&w.vkey()).unwrap())
        .collect();
    let mut args = vec![
        "--witness-quorum".to_string(),
        "2".into(),
        "--witness-interval".into(),
        "200ms".into(),
        "--witness-wait".into(),
        "3s".into(),
    ];
    for w in &witnesses {
        args.push("--witness".into());
        args.push(format!("{}@{}", w.vkey(), w.url()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&data, &args);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let client = server.client();

    // Entries, then one submitted with wait=witnessed.
    for n in 0..10 {
        assert_eq!(
            client
                .submit(&tenant.statement(&day(n), n))
                .await
                .unwrap()
                .0,
            201
        );
    }
    let note = tenant.statement(&day(10), 10);
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!("{}/v1/roots?wait=witnessed", server.url))
        .body(note.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Index 0 is the registration, then the ten statements.
    assert_eq!(answer["index"], 11, "{answer}");
    let cp_text = answer["checkpoint"].as_str().unwrap();
    assert!(
        cosigners(cp_text, &witness_keys) >= 2,
        "wait=witnessed answered with {cp_text}"
    );
    let cp = verify_checkpoint(&log_key, cp_text).unwrap();
    assert!(cp.size >= 12);

    // /checkpoint carries at least two valid cosignatures.
    wait_until("the served checkpoint to cover 12 entries", || async {
        served(&server, &log_key).await.0.size >= 12
    })
    .await;
    let (_, text) = served(&server, &log_key).await;
    assert!(cosigners(&text, &witness_keys) >= 2, "{text}");
    // Cosignatures also verify from the witnesses' published 0x01 vkeys, as other clients do it.
    let note_parsed = Note::parse(text.as_bytes()).unwrap();
    assert!(open(&note_parsed, &witness_keys).is_ok());

    // The tlog-proof file, verified offline with `rootlog verify`.
    let proof = http
        .get(format!("{}/v1/roots/acme/{}/proof", server.url, day(10)))
        .send()
        .await
        .unwrap();
    assert_eq!(proof.status(), 200);
    let proof_text = proof.text().await.unwrap();
    assert!(proof_text.starts_with("c2sp.org/tlog-proof@v1\nindex 11\n"));
    let files = dir.path();
    std::fs::write(files.join("statement"), &note).unwrap();
    std::fs::write(files.join("proof"), &proof_text).unwrap();
    let (st, pf) = (files.join("statement"), files.join("proof"));
    let (st, pf) = (st.to_str().unwrap(), pf.to_str().unwrap());
    let wk: Vec<String> = witnesses.iter().map(|w| w.vkey()).collect();
    let tenant_vkey = tenant.signer.vkey();
    let good = [
        "--statement",
        st,
        "--proof",
        pf,
        "--log-key",
        &log_vkey,
        "--witness",
        &wk[0],
        "--witness",
        &wk[1],
        "--witness",
        &wk[2],
        "--quorum",
        "2",
        "--tenant-key",
        &tenant_vkey,
    ];
    let (code, out) = verify_cli(&good);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("VERIFIED") && out.contains("quorum 2 met"),
        "{out}"
    );

    // Each kind of tampering: exit 1 with the right message.
    let mut changed = note.clone();
    let pos = changed.iter().position(|&b| b == b'\n').unwrap() + 8;
    changed[pos] ^= 1;
    std::fs::write(files.join("statement-changed"), &changed).unwrap();
    let changed_path = files.join("statement-changed");
    let mut args = good.to_vec();
    args[1] = changed_path.to_str().unwrap();
    let (code, out) = verify_cli(&args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED"), "{out}");

    std::fs::write(
        files.join("proof-index"),
        proof_text.replacen("index 11", "index 9", 1),
    )
    .unwrap();
    let wrong_index = files.join("proof-index");
    let mut args = good.to_vec();
    args[3] = wrong_index.to_str().unwrap();
    let (code, out) = verify_cli(&args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not included at index 9"), "{out}");

    let other_log = Signer::generate(origin).unwrap().vkey();
    let mut args = good.to_vec();
    args[5] = &other_log;
    let (code, out) = verify_cli(&args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not signed by the log key"), "{out}");

    let stranger = Signer::generate("stranger.example").unwrap().vkey();
    let (code, out) = verify_cli(&[
        "--statement",
        st,
        "--proof",
        pf,
        "--log-key",
        &log_vkey,
        "--witness",
        &stranger,
        "--quorum",
        "1",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("quorum not met: 0"), "{out}");

    // A quorum of two from one real cosigner and a stranger: one counts.
    // Which two of the three cosigned the proof's checkpoint is up to timing.
    let proof_checkpoint = proof_text.split_once("\n\n").unwrap().1;
    let cosigner = (0..3)
        .find(|&i| cosigners(proof_checkpoint, &witness_keys[i..=i]) == 1)
        .expect("a witness cosigned the proof's checkpoint");
    let (code, out) = verify_cli(&[
        "--statement",
        st,
        "--proof",
        pf,
        "--log-key",
        &log_vkey,
        "--witness",
        &wk[cosigner],
        "--witness",
        &stranger,
        "--quorum",
        "2",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("quorum not met: 1"), "{out}");

    let other_tenant = Signer::generate("acme").unwrap().vkey();
    let mut args = good.to_vec();
    args[15] = &other_tenant;
    let (code, out) = verify_cli(&args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tenant"), "{out}");

    let (code, _) = verify_cli(&[
        "--statement",
        "/nonexistent",
        "--proof",
        pf,
        "--log-key",
        &log_vkey,
    ]);
    assert_eq!(code, 2);

    // One witness down: still two cosigners, the log keeps witnessing.
    witnesses[0].stop();
    for n in 11..15 {
        let response = http
            .post(format!("{}/v1/roots?wait=witnessed", server.url))
            .body(tenant.statement(&day(n), n))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    wait_until("witnessing with two witnesses", || async {
        served(&server, &log_key).await.0.size >= 16
    })
    .await;

    // Two down: sequencing goes on, the served checkpoint stays at the last witnessed size.
    witnesses[1].stop();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (frozen, _) = served(&server, &log_key).await;
    for n in 15..20 {
        assert_eq!(
            client
                .submit(&tenant.statement(&day(n), n))
                .await
                .unwrap()
                .0,
            201
        );
    }
    let response = http
        .post(format!("{}/v1/roots?wait=witnessed", server.url))
        .body(tenant.statement(&day(20), 20))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_witnessed_yet");
    assert_eq!(body["index"], 21);
    let health = client.get_json("/healthz").await.unwrap();
    assert_eq!(health["tree_size"], 22);
    assert_eq!(served(&server, &log_key).await.0.size, frozen.size);
    assert!(frozen.size < 22);

    // They come back: the log catches up.
    witnesses[0].restart();
    witnesses[1].restart();
    wait_until("the log to catch up with its witnesses", || async {
        served(&server, &log_key).await.0.size == 22
    })
    .await;
    let (_, text) = served(&server, &log_key).await;
    assert!(cosigners(&text, &witness_keys) >= 2);
}

/// The witness's watch mode against a real rootlog log: it polls the log's
/// checkpoint, builds consistency proofs from the log's tiles, and cosigns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_watches_a_rootlog_log_through_its_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "watched.example/log";
    let server = Server::start(&dir.path().join("log"), &["--origin", origin]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let client = server.client();
    let watcher = common::WatchingWitness::start(
        &dir.path().join("w"),
        origin,
        &server.log_key().vkey(),
        &server.url,
    );
    // Two growth steps, 300 then 700 entries: the second needs a consistency proof built from tiles.
    let mut n = 0u64;
    for target in [300u64, 700] {
        while n < target {
            assert_eq!(
                client
                    .submit(&tenant.statement(&day(n), n))
                    .await
                    .unwrap()
                    .0,
                201
            );
            n += 1;
        }
        // The registration is entry 0.
        watcher.wait_cosigned(target + 1).await;
    }
}

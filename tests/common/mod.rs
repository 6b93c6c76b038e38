//! Shared helpers for integration tests: spawn the real `rootlog` binary on
//! 127.0.0.1 with a temporary data directory, and build signed statements.
#![allow(dead_code)]

pub mod browser;
pub mod export;
pub mod garage;
pub mod loopfs;
pub mod nginx;
pub mod openapi;
pub mod tiles;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rootlog::merkle::{leaf_hash, Hash};
use rootlog::note::{Note, Signer, Verifier};
use rootlog::statement::{parse_date, ChainHead, Statement};

pub const ADMIN_TOKEN: &str = "integration-test-admin-token";

/// A port on 127.0.0.1 free a moment ago, for a server that must be told
/// its port (nginx, Garage, ChromeDriver).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `program arg` runs and succeeds: the tool a test needs is here.
pub fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the test `test` can run: `missing` says what it lacks and how
/// to install it (None: nothing). Under CI (`CI` set) a lack fails the
/// test; otherwise the developer is told loudly that it is skipped.
pub fn can_run(test: &str, missing: Option<&str>) -> bool {
    let Some(why) = missing else {
        return true;
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}, and CI is set so this test must run");
    }
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of passing tests, and this must be seen.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("\n######## SKIPPED {test}: {why}; set CI=1 to make this a failure ########\n\n")
            .as_bytes(),
    );
    false
}

pub fn rootlog_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rootlog")
}

/// A running `rootlog serve`; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub data: PathBuf,
    /// What the server wrote to stderr so far (the first MiB).
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts a server on an ephemeral port over `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Self::try_start(data, extra).expect("server did not start")
    }

    /// Starts a server, or returns what it printed if it exited instead.
    pub fn try_start(data: &Path, extra: &[&str]) -> Result<Server, String> {
        Self::try_start_bin(Path::new(rootlog_bin()), data, extra)
    }

    /// `try_start` with another `rootlog` binary (the power-cut test can
    /// run against binaries built from another commit).
    pub fn try_start_bin(bin: &Path, data: &Path, extra: &[&str]) -> Result<Server, String> {
        // Tests submit statements for days long past (`day(n)` counts from
        // 2020): no age limit unless a test sets one. Only this build's
        // binary knows these flags.
        // Admin endpoints on the public URL, unless the test places them:
        // most tests register tenants through `server.url`.
        let this_build = bin == Path::new(rootlog_bin());
        let mut defaults: Vec<&str> = Vec::new();
        if this_build && !extra.contains(&"--max-statement-age") {
            defaults.extend(["--max-statement-age", "none"]);
        }
        if this_build && !extra.contains(&"--admin-listen") && !extra.contains(&"--admin-on-public")
        {
            defaults.push("--admin-on-public");
        }
        Self::try_start_command(Command::new(bin), data, &defaults, extra)
    }

    /// Starts `rootlog serve` through `command` (the binary itself, or a
    /// wrapper such as `prlimit` whose arguments are already given), on an
    /// ephemeral port unless `extra` gives `--listen`.
    pub fn try_start_command(
        mut command: Command,
        data: &Path,
        age: &[&str],
        extra: &[&str],
    ) -> Result<Server, String> {
        let listen: &[&str] = if extra.contains(&"--listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        // Warnings only, unless the test chose a filter on `command`.
        if !command.get_envs().any(|(k, _)| k == "ROOTLOG_LOG") {
            command.env("ROOTLOG_LOG", "warn");
        }
        let mut child = command
            .arg("serve")
            .args(listen)
            .arg("--data")
            .arg(data)
            .args(age)
            .args(extra)
            .env("ROOTLOG_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("rootlog: listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        // Keeps reading (so the server never blocks on a full pipe) into
        // `written`, for a test to read with `Server::stderr`.
        let written = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = written.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap_or_else(|p| p.into_inner());
                if all.len() < 1 << 20 {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => Ok(Server {
                child: Some(child),
                url,
                data: data.to_path_buf(),
                stderr: written,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let all = written.lock().unwrap_or_else(|p| p.into_inner()).clone();
                Err(all)
            }
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            for _ in 0..200 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A client that makes one attempt per call: tests of the log see its
    /// answers as they come (429s and 503s included), not retried away.
    pub fn client(&self) -> rootlog::client::LogClient {
        rootlog::client::LogClient::new(&self.url).with_retry(rootlog::client::RetryPolicy::none())
    }

    /// The log's verifier, read with `rootlog vkey` like a user would.
    pub fn log_key(&self) -> Verifier {
        let out = Command::new(rootlog_bin())
            .arg("vkey")
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("rootlog vkey runs");
        assert!(
            out.status.success(),
            "rootlog vkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Verifier::from_vkey(String::from_utf8_lossy(&out.stdout).trim()).expect("valid log vkey")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A tenant with its key.
pub struct Tenant {
    pub id: String,
    pub signer: Signer,
}

impl Tenant {
    pub fn new(id: &str) -> Tenant {
        Tenant {
            id: id.to_string(),
            signer: Signer::generate(id).expect("key"),
        }
    }

    pub fn statement_text(
        &self,
        date: &str,
        records: u64,
        root: Hash,
        chain: Option<ChainHead>,
    ) -> String {
        Statement {
            tenant: self.id.clone(),
            date: parse_date(date).expect("date"),
            records,
            root,
            chain,
        }
        .to_text()
    }

    /// A signed statement note for `date` whose root is derived from `seed`.
    pub fn statement(&self, date: &str, seed: u64) -> Vec<u8> {
        let root = leaf_hash(&seed.to_be_bytes());
        sign_text(
            &self.signer,
            &self.statement_text(date, seed + 1, root, None),
        )
    }
}

/// Signs arbitrary note text.
pub fn sign_text(signer: &Signer, text: &str) -> Vec<u8> {
    let mut note = Note::new(text.to_string());
    note.signatures.push(signer.sign(text.as_bytes()));
    note.to_text().into_bytes()
}

/// The n-th day after 2020-01-01, as YYYY-MM-DD.
pub fn day(n: u64) -> String {
    let date = time::Date::from_calendar_date(2020, time::Month::January, 1).expect("date")
        + time::Duration::days(n as i64);
    rootlog::statement::format_date(date)
}

/// Runs `rootlog <args>`: (exit code, stdout, stderr).
pub fn run_rootlog(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(rootlog_bin())
        .args(args)
        .env("ROOTLOG_LOG", "warn")
        .output()
        .expect("rootlog runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub async fn register(server: &Server, tenant: &Tenant) {
    let (status, _) = server
        .client()
        .add_tenant(ADMIN_TOKEN, &tenant.id, &tenant.signer.vkey())
        .await
        .expect("register tenant");
    assert_eq!(status, 201);
}

/// Every file under a directory with its bytes, to compare a data directory before and after.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// The `rootlog-witness` binary beside `rootlog` (built by `cargo test --workspace`).
/// Starts the log over `data` once with `origin`, so that it makes its
/// key, and stops it: the log's vkey, which its witnesses need before the
/// log can be started naming them.
pub fn first_start(data: &Path, origin: &str) -> String {
    let mut first = Server::start(data, &["--origin", origin]);
    let vkey = first.log_key().vkey();
    first.stop();
    vkey
}

pub fn witness_bin() -> PathBuf {
    let path = Path::new(rootlog_bin()).with_file_name("rootlog-witness");
    assert!(
        path.exists(),
        "{} is missing: run the suite with `cargo test --workspace`",
        path.display()
    );
    path
}

/// A witness in watch mode, polling a tlog-tiles log every second (or, from
/// `start_pushed`, waiting for the log to push); killed when dropped.
pub struct WatchingWitness {
    child: Child,
    pub url: String,
    pub key: Verifier,
    /// Its vkey as `rootlog-witness vkey` prints it (for `rootlog serve --witness`).
    pub vkey: String,
    origin: String,
}

impl WatchingWitness {
    /// Starts a witness that trusts `log_vkey` for `origin` and watches the tiles at `log_url`.
    pub fn start(data: &Path, origin: &str, log_vkey: &str, log_url: &str) -> WatchingWitness {
        Self::spawn(data, origin, log_vkey, Some(log_url))
    }

    /// Starts a witness that trusts `log_vkey` for `origin` and cosigns what the log pushes.
    pub fn start_pushed(data: &Path, origin: &str, log_vkey: &str) -> WatchingWitness {
        Self::spawn(data, origin, log_vkey, None)
    }

    /// Like `start_pushed`, for a witness named `name` listening on `listen`
    /// (several witnesses of one log need names of their own; a restarted
    /// one keeps its address).
    pub fn start_named(
        data: &Path,
        name: &str,
        listen: &str,
        origin: &str,
        log_vkey: &str,
    ) -> WatchingWitness {
        Self::spawn_as(data, name, listen, origin, log_vkey, None)
    }

    fn spawn(data: &Path, origin: &str, log_vkey: &str, watch: Option<&str>) -> WatchingWitness {
        Self::spawn_as(
            data,
            "watcher.example",
            "127.0.0.1:0",
            origin,
            log_vkey,
            watch,
        )
    }

    fn spawn_as(
        data: &Path,
        name: &str,
        listen: &str,
        origin: &str,
        log_vkey: &str,
        watch: Option<&str>,
    ) -> WatchingWitness {
        let watch_args = match watch {
            Some(url) => vec!["--watch".to_string(), format!("{origin}={url}")],
            None => Vec::new(),
        };
        let mut child = Command::new(witness_bin())
            .args([
                "serve",
                "--listen",
                listen,
                "--name",
                name,
                "--poll-interval",
                "1",
            ])
            .args(["--log", &format!("{origin}={log_vkey}")])
            .args(&watch_args)
            .arg("--data")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("witness starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("witness prints its address");
        let url = line
            .trim()
            .strip_prefix("rootlog-witness: listening on ")
            .expect("witness address")
            .to_string();
        let out = Command::new(witness_bin())
            .arg("vkey")
            .arg("--data")
            .arg(data)
            .output()
            .expect("witness vkey");
        let vkey = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let key = Verifier::cosignature_from_vkey(&vkey).expect("witness key");
        WatchingWitness {
            child,
            url,
            key,
            vkey,
            origin: origin.to_string(),
        }
    }

    /// The size of the latest checkpoint this witness cosigned (0 if none), checking its cosignature.
    pub async fn cosigned_size(&self) -> u64 {
        self.cosigned().await.map(|c| c.size).unwrap_or(0)
    }

    /// The latest checkpoint this witness cosigned, if its cosignature verifies.
    pub async fn cosigned(&self) -> Option<rootlog::note::Checkpoint> {
        use sha2::Digest;
        let path = format!(
            "{}/{}/checkpoint",
            self.url,
            hex::encode(sha2::Sha256::digest(self.origin.as_bytes()))
        );
        let text = reqwest::get(&path).await.ok()?.text().await.ok()?;
        let note = Note::parse(text.as_bytes()).ok()?;
        let cosigned = note
            .signatures
            .iter()
            .any(|s| self.key.matches(s) && self.key.verify(note.text.as_bytes(), &s.signature));
        if !cosigned {
            return None;
        }
        rootlog::note::Checkpoint::parse(&note.text).ok()
    }

    /// Waits (at most 30 s) until the witness has cosigned a checkpoint of `size`.
    pub async fn wait_cosigned(&self, size: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.cosigned_size().await != size {
            assert!(
                std::time::Instant::now() < deadline,
                "the watching witness did not cosign size {size}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for WatchingWitness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until nothing in this process holds sled's lock on `db` any more:
/// sled's I/O threads finish their last writes after the `Db` is dropped,
/// and a `rootlog` process started before then would find it locked.
pub fn released(db: &Path) {
    let file = std::fs::File::open(db.join("db")).unwrap();
    file.lock().unwrap();
    file.unlock().unwrap();
}

/// The size of the checkpoint a static mirror in `dir` publishes, if any.
pub fn published_size(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("checkpoint")).ok()?;
    let note = rootlog::note::Note::parse(text.as_bytes()).ok()?;
    Some(rootlog::note::Checkpoint::parse(&note.text).ok()?.size)
}

/// Waits (up to 60 s) until the mirror in `dir` publishes a checkpoint of `size`.
pub fn wait_published(dir: &Path, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while published_size(dir) != Some(size) {
        assert!(
            std::time::Instant::now() < deadline,
            "mirror stuck at {:?}, expected {size}",
            published_size(dir)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

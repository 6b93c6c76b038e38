//! A real distributed object store for the tests that publish to one: a
//! Garage cluster of three nodes with replication factor 3, each node its
//! own process with its own temporary directory and loopback ports; a key
//! and a bucket with website access made through garage's own CLI. The
//! bucket also has the global alias `localhost`, so its website endpoint
//! answers `http://localhost:<web port>/...` (Garage takes the bucket from
//! the Host header), a URL every HTTP client can use as is.
//!
//! When `garage` is not installed, [`Garage::available`] fails the test if
//! `CI` is set, and otherwise prints a loud notice so the caller can skip.
//! Every node is killed, and its directory removed, on drop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Server;

/// The bucket the tests publish to.
pub const BUCKET: &str = "rootlog-mirror";

/// One Garage process.
struct Node {
    child: Option<Child>,
    config: PathBuf,
    web_port: u16,
    s3_port: u16,
}

/// A three-node Garage cluster on 127.0.0.1; killed when dropped.
pub struct Garage {
    nodes: Vec<Node>,
    /// Each node's `<id>@<address>`.
    ids: Vec<String>,
    pub key_id: String,
    pub secret: String,
    dir: tempfile::TempDir,
}

impl Garage {
    /// True if a `garage` binary runs; otherwise fails under CI or tells the
    /// developer loudly that the test is skipped.
    pub fn available(test: &str) -> bool {
        super::can_run(
            test,
            (!super::runs("garage", "--version"))
                .then_some("garage is not installed (cargo install garage --locked)"),
        )
    }

    /// Starts three nodes, connects them, applies a layout with one zone
    /// per node (so every object is on all three), and makes the key and
    /// the bucket.
    pub fn start() -> Garage {
        let dir = tempfile::tempdir().unwrap();
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand_byte()))
            .collect::<String>();
        let mut nodes = Vec::new();
        for i in 1..=3 {
            let home = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&home).unwrap();
            let (rpc, s3, web) = (super::free_port(), super::free_port(), super::free_port());
            let h = home.display();
            let config = home.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    r#"metadata_dir = "{h}/meta"
data_dir = "{h}/data"
db_engine = "sqlite"
replication_factor = 3
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"
# A frozen node (SIGSTOP) keeps its connections open: give up on it within
# seconds, as an operator of a latency-sensitive cluster would, instead of
# waiting out the default 5-minute RPC timeout before the quorum moves on.
rpc_timeout_msec = 5000
rpc_ping_timeout_msec = 2000

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[s3_web]
bind_addr = "127.0.0.1:{web}"
root_domain = ".web.garage.localhost"
"#
                ),
            )
            .unwrap();
            let mut node = Node {
                child: None,
                config,
                web_port: web,
                s3_port: s3,
            };
            node.spawn();
            nodes.push(node);
        }
        let mut garage = Garage {
            nodes,
            ids: Vec::new(),
            key_id: String::new(),
            secret: String::new(),
            dir,
        };
        let ids: Vec<String> = (0..3)
            .map(|i| garage.cli_on(i, &["node", "id", "-q"]).trim().to_string())
            .collect();
        for id in &ids[1..] {
            garage.cli(&["node", "connect", id]);
        }
        garage.ids = ids.clone();
        for (i, id) in ids.iter().enumerate() {
            let short = &id[..16];
            garage.cli(&[
                "layout",
                "assign",
                "-z",
                &format!("dc{}", i + 1),
                "-c",
                "1G",
                short,
            ]);
        }
        garage.cli(&["layout", "apply", "--version", "1"]);
        let key = garage.cli(&["key", "create", "rootlog-test"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("no {name} in {key}"))
        };
        garage.key_id = field("Key ID:");
        garage.secret = field("Secret key:");
        garage.cli(&["bucket", "create", BUCKET]);
        garage.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            BUCKET,
            "--key",
            "rootlog-test",
        ]);
        garage.cli(&["bucket", "website", "--allow", BUCKET]);
        garage.cli(&["bucket", "alias", BUCKET, "localhost"]);
        garage
    }

    /// Runs garage's CLI against node `i` until it succeeds (the cluster
    /// may still be settling), at most 30 s; its standard output.
    pub fn cli_on(&self, i: usize, args: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("garage")
                .arg("-c")
                .arg(&self.nodes[i].config)
                .args(args)
                .output()
                .expect("garage runs");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "garage {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Runs garage's CLI against the first node.
    pub fn cli(&self, args: &[&str]) -> String {
        self.cli_on(0, args)
    }

    /// The S3 endpoint (of the first node).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.nodes[0].s3_port)
    }

    /// The website endpoint of node `i`, with the mirror's `prefix`.
    pub fn web_url(&self, i: usize, prefix: &str) -> String {
        format!("http://localhost:{}/{prefix}", self.nodes[i].web_port)
    }

    /// The environment an S3 tool (and `rootlog`) reads its store from.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "garage".into()),
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
        ]
    }

    /// `rootlog serve` over `data` with this store's environment (admin
    /// endpoints on the public URL, no statement age limit, as
    /// `Server::start` does).
    pub fn server(&self, data: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut command = Command::new(super::rootlog_bin());
        command.envs(self.env());
        Server::try_start_command(
            command,
            data,
            &["--max-statement-age", "none", "--admin-on-public"],
            extra,
        )
    }

    /// Runs `rootlog <args>` with this store's environment: (exit code, stdout, stderr).
    pub fn rootlog(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(super::rootlog_bin())
            .args(args)
            .envs(self.env())
            .env("ROOTLOG_LOG", "warn")
            .output()
            .expect("rootlog runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Writes an object straight into the bucket (as someone else would).
    pub async fn put(&self, key: &str, bytes: &[u8]) {
        use object_store::ObjectStore;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("garage")
            .with_bucket_name(BUCKET)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .unwrap();
        store
            .put(&object_store::path::Path::from(key), bytes.to_vec().into())
            .await
            .unwrap();
    }

    /// SIGKILLs node `i` (a crash).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again on its directory and ports.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].spawn();
    }

    /// Waits (up to 60 s) until node 0 sees all three nodes up, asking it
    /// to connect to the others (nodes restarted together do not always
    /// find each other again by themselves).
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = self.cli(&["status"]);
            if !status.contains("FAILED") && status.matches("127.0.0.1:").count() >= 3 {
                return;
            }
            for id in &self.ids[1..] {
                let _ = Command::new("garage")
                    .arg("-c")
                    .arg(&self.nodes[0].config)
                    .args(["node", "connect", id])
                    .output();
            }
            assert!(Instant::now() < deadline, "garage never healed: {status}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// SIGSTOPs (`true`) or SIGCONTs node `i`: a node that hangs.
    pub fn freeze(&self, i: usize, frozen: bool) {
        let pid = self.nodes[i].child.as_ref().expect("node runs").id();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Node {
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.config.with_file_name("garage.log")).unwrap();
        let child = Command::new("garage")
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("garage starts");
        self.child = Some(child);
        // Ready when its S3 port answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_err() {
            assert!(Instant::now() < deadline, "garage did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen process must be woken to die promptly on some kernels.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        // A failing test leaves the nodes' logs to read.
        if std::thread::panicking() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()).keep();
            let _ = writeln!(
                std::io::stderr(),
                "garage: the cluster's directories and logs are kept in {}",
                kept.display()
            );
        }
    }
}

/// A random byte for the cluster's RPC secret.
fn rand_byte() -> u8 {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).expect("random");
    b[0]
}

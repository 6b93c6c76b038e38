//! The `rootlog` command: the log server and the tools its users run.
//! Exit codes: 0 success (or verified), 1 failure (or not verified), 2 bad usage.
//! Everything is printed through `rootlog::stdio` (a closed pipe ends the
//! printing quietly), which the lints below keep so.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The server allocates per request (HTTP buffers, JSON, proofs) and per batch
/// (sled's nodes); mimalloc does that in about half the CPU of glibc's malloc,
/// which on two cores shared with signature checks is throughput.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `--version`: the package version and the commit the binary was built
/// from (`<hash>`, `<hash>-dirty` or `unknown`; set by `build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ROOTLOG_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "rootlog",
    version = VERSION,
    about = "A transparency log for compliance archives' signed daily Merkle roots"
)]
struct Cli {
    /// Format of the log lines on stderr (filter them with ROOTLOG_LOG).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "ROOTLOG_LOG_FORMAT"
    )]
    log_format: rootlog::logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the log server.
    Serve(Box<ServeArgs>),
    /// Print the log's public key (vkey); reads only the key file, so it works while the server runs.
    Vkey {
        /// The log's data directory.
        #[arg(long, default_value = "rootlog-data", env = "ROOTLOG_DATA")]
        data: PathBuf,
    },
    /// Generate an Ed25519 signed-note key pair (for a tenant or a witness).
    Keygen {
        /// Key name; a tenant's key name must equal its tenant id.
        #[arg(long)]
        name: String,
        /// Directory to write <name>.skey (mode 0600) and <name>.vkey into.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Register or look up tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Build and sign a daily-root statement; prints the signed note.
    Statement(StatementArgs),
    /// Sign (or read) a statement, submit it, and print the entry with its proof.
    ///
    /// Exit codes: 0 logged (appended, or already logged identically), 1
    /// refused by the log (the reason is printed) or its answer does not
    /// verify, 2 bad usage, 3 the log could not be reached or stayed
    /// unavailable for --retry-for (running it again is safe).
    Submit(SubmitArgs),
    /// Verify a statement offline, from a receipt or a statement with its
    /// c2sp.org/tlog-proof file (exit 0 verified, 1 not verified, 3 could not check).
    Verify(VerifyArgs),
    /// Fetch a receipt of a logged statement, verify it, and save it.
    Receipt(ReceiptArgs),
    /// Audit a tenant's statement for a day online, via the log's tiles or a static mirror, with consistency against the last checkpoint audited.
    Audit(cli::audit::AuditArgs),
    /// Verify an archive's export manifest (hash chain, daily roots, chain heads) against the log, or offline from its receipts.
    VerifyExport(cli::audit::VerifyExportArgs),
    /// Write the log once as a static tlog-tiles mirror (stop the server first, or use serve --publish-dir).
    Publish {
        /// The log's data directory (sled locks it: the server must not be running).
        #[arg(long, default_value = "rootlog-data", env = "ROOTLOG_DATA")]
        data: PathBuf,
        /// The mirror directory (checkpoint, tile/..., locator/...), servable by any
        /// static web server, or an S3-compatible bucket: s3://BUCKET/PREFIX (configured
        /// from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        to: String,
        /// The server's TOML config file: its witnesses and quorum decide which
        /// checkpoint is published, and which checkpoints the locators carry.
        #[arg(long, env = "ROOTLOG_CONFIG")]
        config: Option<PathBuf>,
        /// A witness of the log's policy: <witness vkey>@<url> (repeat; as for `serve`).
        #[arg(long = "witness", value_name = "VKEY@URL")]
        witnesses: Vec<String>,
        /// Distinct witnesses whose cosignatures a published checkpoint needs [default: all of them].
        #[arg(long)]
        witness_quorum: Option<usize>,
    },
    /// Compute the RFC 6962 root of a day's record hashes (one per line, hex or base64).
    Root {
        /// File with one 32-byte record hash per line; standard input if omitted.
        input: Option<PathBuf>,
    },
    /// Check the stored log's integrity: every leaf, node, index row and checkpoint.
    ///
    /// sled locks the database, so run it while the server is stopped, or on
    /// a copy or backup of the data directory. Exit codes: 0 intact, 1
    /// findings, 2 bad usage or the check could not run.
    Fsck {
        /// The log's data directory (or a copy of it).
        #[arg(long, default_value = "rootlog-data", env = "ROOTLOG_DATA")]
        data: PathBuf,
        /// Print a machine-readable JSON summary instead of text (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Take a backup of a running log (admin token): every entry, checkpoint and
    /// cosignature up to its newest durable checkpoint. The log key is not in it.
    Backup {
        /// The log's admin listener (`serve --admin-listen`).
        #[arg(
            long,
            default_value = "http://127.0.0.1:8079",
            env = "ROOTLOG_ADMIN_URL"
        )]
        log: String,
        /// The backup file to write (written whole, then renamed into place).
        #[arg(long)]
        to: PathBuf,
        /// Admin token; defaults to $ROOTLOG_ADMIN_TOKEN, then --token-file.
        #[arg(long, env = "ROOTLOG_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// File holding the admin token (for example <data>/admin.token).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Restore a backup, a published mirror, or a backup continued from a
    /// mirror into a new data directory, re-verifying it: every checkpoint
    /// against the recomputed tree and the log key, every key-change entry
    /// against the log key. The directory appears only when all of it
    /// verified. Exit 0 restored, 1 the source does not verify (nothing is
    /// left behind), 2 bad usage.
    Restore {
        /// The backup file (from `rootlog backup`).
        #[arg(long, required_unless_present = "from_mirror")]
        from: Option<PathBuf>,
        /// A published tlog-tiles mirror to take entries from (after the
        /// backup's, if --from is given): a directory (`--publish-dir`,
        /// `rootlog publish`), an http(s) URL of a mirror or of the log, or a
        /// bucket, s3://BUCKET/PREFIX (`--publish-url`; AWS_* variables).
        #[arg(long, value_name = "DIR|URL|s3://BUCKET/PREFIX")]
        from_mirror: Option<String>,
        /// The new data directory (must not hold a log yet).
        #[arg(long)]
        data: PathBuf,
        /// The log's private key file (log.skey from your own key backup).
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// A TOML file with any of these settings (flags override it); see README.
    #[arg(long, env = "ROOTLOG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (created on first start) [default: rootlog-data].
    #[arg(long, env = "ROOTLOG_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ROOTLOG_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The log's origin (a schema-less URL); fixed at first start [default: localhost/rootlog].
    #[arg(long, env = "ROOTLOG_ORIGIN")]
    pub origin: Option<String>,
    /// Most submissions integrated (and flushed) as one batch [default: 4096].
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Milliseconds the sequencer waits for more submissions before committing a batch [default: 0].
    #[arg(long)]
    pub batch_wait_ms: Option<u64>,
    /// Most checked submissions that may wait for the sequencer; beyond it 503 with Retry-After [default: 65536].
    #[arg(long)]
    pub queue: Option<usize>,
    /// A witness to push checkpoints to: <witness vkey>@<url> (repeat for each witness).
    #[arg(long = "witness", value_name = "VKEY@URL")]
    pub witnesses: Vec<String>,
    /// Distinct witnesses that must cosign a checkpoint before it is served [default: all of them].
    #[arg(long)]
    pub witness_quorum: Option<usize>,
    /// Least time between two pushes to the witnesses [default: 1s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub witness_interval: Option<Duration>,
    /// Timeout of one add-checkpoint request [default: 5s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub witness_timeout: Option<Duration>,
    /// How long POST /v1/roots?wait=witnessed waits before answering 503 [default: 10s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub witness_wait: Option<Duration>,
    /// How long a starting log waits for every witness to tell its cosigned
    /// size before the answers of a quorum are enough to sequence [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub witness_check_wait: Option<Duration>,
    /// Refuse statements for days that ended longer ago than this (400
    /// stale_date); `none` turns the limit off, for an archive publishing its
    /// history once when it joins the log [default: 7d].
    #[arg(long, env = "ROOTLOG_MAX_STATEMENT_AGE", value_name = "DURATION|none")]
    pub max_statement_age: Option<String>,
    /// Keep a static tlog-tiles mirror (checkpoint, tile/..., locator/...) of the log in this directory.
    #[arg(long, env = "ROOTLOG_PUBLISH_DIR")]
    pub publish_dir: Option<PathBuf>,
    /// Keep a mirror in S3-compatible object storage too (or instead):
    /// s3://BUCKET/PREFIX, configured from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (path-style requests unless
    /// AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true).
    #[arg(long, env = "ROOTLOG_PUBLISH_URL", value_name = "s3://BUCKET/PREFIX")]
    pub publish_url: Option<String>,
    /// Requests per second per client IP, bursts of twice that; 0 = no limit [default: 0].
    #[arg(long)]
    pub rate_per_ip: Option<u32>,
    /// Submissions per second per tenant, bursts of twice that; 0 = no limit [default: 0].
    #[arg(long)]
    pub rate_per_tenant: Option<u32>,
    /// Requests served at once; beyond it 503 overloaded with Retry-After [default: 4096].
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Address of the admin listener, which alone serves the admin endpoints
    /// (tenant registration, key changes, backup) [default: 127.0.0.1:8079].
    #[arg(long, env = "ROOTLOG_ADMIN_LISTEN", conflicts_with = "admin_on_public")]
    pub admin_listen: Option<SocketAddr>,
    /// Serve the admin endpoints on --listen too, with no admin listener
    /// (only behind a proxy that keeps them from the public).
    #[arg(long)]
    pub admin_on_public: bool,
    /// Seconds between periodic integrity checks of the tree's right edge and latest checkpoint (0: off) [default: 60].
    #[arg(long)]
    pub check_interval: Option<u64>,
    /// MiB of full tiles and entry bundles kept in memory for GET /tile (0: none) [default: 64].
    #[arg(long)]
    pub tile_cache_mb: Option<usize>,
    /// Time a connection has to send a whole request head, when it opens and
    /// after each answer (so also how long a keep-alive connection may idle) [default: 10s].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub header_timeout: Option<Duration>,
    /// Most open connections; beyond it the longest-idle one is closed
    /// (lowered to fit the open-file limit) [default: 4096].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// A reverse proxy (CIDR, e.g. 10.0.0.5/32) whose X-Forwarded-For names
    /// the client for --rate-per-ip; repeat for each. From any other peer the
    /// header is ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// /healthz says "degraded" when an entry has waited longer than this
    /// for a checkpoint meeting the witness policy [default: 5m].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub witness_lag_limit: Option<Duration>,
    /// Answer /healthz with 503 (not 200) while "degraded", so a load
    /// balancer or monitor acts on a witnessing stall.
    #[arg(long)]
    pub degraded_unhealthy: bool,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Register a tenant with its vkey (needs the admin token).
    Add {
        /// The log's admin listener (`serve --admin-listen`).
        #[arg(
            long,
            default_value = "http://127.0.0.1:8079",
            env = "ROOTLOG_ADMIN_URL"
        )]
        log: String,
        /// Tenant id; also the name of its key.
        #[arg(long)]
        id: String,
        /// The tenant's vkey, or @FILE to read it from a file.
        #[arg(long)]
        vkey: String,
        /// Admin token; defaults to $ROOTLOG_ADMIN_TOKEN, then --token-file.
        #[arg(long, env = "ROOTLOG_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// File holding the admin token (for example <data>/admin.token).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Add a key to a registered tenant; logged as a tenant-key/v1 entry.
    AddKey(KeyChangeArgs),
    /// Retire a tenant's key: it signs nothing from now on, what it signed stands.
    RetireKey(KeyChangeArgs),
    /// Revoke a tenant's key (compromised): it signs nothing from now on, and
    /// auditors distrust what it alone signed for dates from --effective on.
    RevokeKey {
        #[command(flatten)]
        key: KeyChangeArgs,
        /// When the key stopped being trustworthy (RFC 3339, not later than now); default now.
        #[arg(long)]
        effective: Option<String>,
    },
    /// List every tenant of the log with its keys' status (no token needed).
    List {
        /// The log's base URL (the public listener; the admin one answers too).
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "ROOTLOG_URL")]
        log: String,
        /// Print the log's JSON answer instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a tenant's keys, with the log entries that changed them.
    Show {
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "ROOTLOG_URL")]
        log: String,
        #[arg(long)]
        id: String,
    },
}

/// Which key of which tenant, on which log, with which admin token.
#[derive(Args, Clone)]
pub struct KeyChangeArgs {
    /// The log's admin listener (`serve --admin-listen`).
    #[arg(
        long,
        default_value = "http://127.0.0.1:8079",
        env = "ROOTLOG_ADMIN_URL"
    )]
    pub log: String,
    /// Tenant id.
    #[arg(long)]
    pub id: String,
    /// The key's vkey, or @FILE to read it from a file.
    #[arg(long)]
    pub vkey: String,
    /// Admin token; defaults to $ROOTLOG_ADMIN_TOKEN, then --token-file.
    #[arg(long, env = "ROOTLOG_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the admin token (for example <data>/admin.token).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct StatementArgs {
    /// The tenant's skey file; its key name is the tenant id.
    #[arg(long)]
    pub key: PathBuf,
    /// Tenant id (defaults to the key's name, which it must equal).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// Number of records that day.
    #[arg(long)]
    pub records: u64,
    /// The RFC 6962 root over that day's records (see `rootlog root`), hex
    /// or base64 (the statement always carries it in base64).
    #[arg(long)]
    pub root: String,
    /// Optional hash-chain head at end of day: "<seq> <hash>", the hash in hex or base64.
    #[arg(long)]
    pub chain: Option<String>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A receipt (from `rootlog submit --receipt` or `rootlog receipt`):
    /// the statement, its proof and the tenant's key history in one file.
    #[arg(long, conflicts_with_all = ["statement", "proof"], required_unless_present_all = ["statement", "proof"])]
    pub receipt: Option<PathBuf>,
    /// The statement file (the signed note exactly as logged).
    #[arg(long, requires = "proof")]
    pub statement: Option<PathBuf>,
    /// The c2sp.org/tlog-proof@v1 file (from GET /v1/roots/{tenant}/{date}/proof).
    #[arg(long, requires = "statement")]
    pub proof: Option<PathBuf>,
    #[command(flatten)]
    pub keys: cli::keys::KeyArgs,
    #[command(flatten)]
    pub verdict: cli::keys::VerdictArgs,
}

#[derive(Args)]
pub struct ReceiptArgs {
    /// The log's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "ROOTLOG_URL")]
    pub log: String,
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// Where to write the receipt (written only once it verifies).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep trying for up to this long while the log is unreachable or
    /// answers 429/503 (for example `not_witnessed_yet`); `0` tries once.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub retry_for: Duration,
    #[command(flatten)]
    pub keys: cli::keys::KeyArgs,
    #[command(flatten)]
    pub verdict: cli::keys::VerdictArgs,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The log's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "ROOTLOG_URL")]
    pub log: String,
    /// The log's vkey: when given, the answer's checkpoint signature and proof are verified.
    #[arg(long)]
    pub log_key: Option<String>,
    /// A signed statement file to submit as is.
    #[arg(long, conflicts_with_all = ["key", "date", "records", "root", "chain", "tenant"])]
    pub statement: Option<PathBuf>,
    /// Build the statement from these flags instead (same as `rootlog statement`).
    #[arg(long, requires_all = ["date", "records", "root"])]
    pub key: Option<PathBuf>,
    /// Tenant id (defaults to the key's name, which it must equal).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub date: Option<String>,
    /// Number of records that day.
    #[arg(long)]
    pub records: Option<u64>,
    /// The RFC 6962 root over that day's records, hex or base64.
    #[arg(long)]
    pub root: Option<String>,
    /// Optional hash-chain head at end of day: "<seq> <hash>", the hash in hex or base64.
    #[arg(long)]
    pub chain: Option<String>,
    /// Keep trying for up to this long when the log is unreachable, drops
    /// the connection, times out, or answers 429 or 503 (honouring
    /// Retry-After), with exponential backoff and jitter; `0` tries once.
    /// Safe: the same statement again is answered with the entry already
    /// logged. A 4xx other than 429 is never retried.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub retry_for: Duration,
    /// Answer once the entry is durable (`durable`), or once a checkpoint
    /// meeting the log's witness policy covers it (`witnessed`).
    #[arg(long, value_enum, default_value = "durable")]
    pub wait: cli::WaitFor,
    /// Save a receipt (the statement, its proof into the earliest witnessed
    /// checkpoint, the tenant's key history) to FILE, once it verifies with
    /// --log-key; implies --wait witnessed.
    #[arg(long, value_name = "FILE", requires = "log_key")]
    pub receipt: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    rootlog::logging::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => cli::serve(*args),
        Command::Vkey { data } => cli::vkey(&data),
        Command::Keygen { name, out_dir } => cli::keygen(&name, &out_dir),
        Command::Tenant(TenantCommand::Add {
            log,
            id,
            vkey,
            token,
            token_file,
        }) => cli::tenant_add(&log, &id, &vkey, token, token_file),
        Command::Tenant(TenantCommand::List { log, json }) => cli::tenant_list(&log, json),
        Command::Tenant(TenantCommand::Show { log, id }) => cli::tenant_show(&log, &id),
        Command::Tenant(TenantCommand::AddKey(key)) => cli::tenant_key_change(&key, "add", None),
        Command::Tenant(TenantCommand::RetireKey(key)) => {
            cli::tenant_key_change(&key, "retire", None)
        }
        Command::Tenant(TenantCommand::RevokeKey { key, effective }) => {
            cli::tenant_key_change(&key, "revoke", effective.as_deref())
        }
        Command::Statement(args) => cli::statement(&args),
        Command::Submit(args) => cli::submit(args),
        Command::Verify(args) => cli::verify(&args),
        Command::Receipt(args) => cli::receipt(&args),
        Command::Audit(args) => cli::audit::audit(&args),
        Command::VerifyExport(args) => cli::audit::verify_export(&args),
        Command::Root { input } => cli::root(input),
        Command::Publish {
            data,
            to,
            config,
            witnesses,
            witness_quorum,
        } => cli::publish(&data, &to, config.as_deref(), &witnesses, witness_quorum),
        Command::Fsck { data, json } => Ok(cli::fsck(&data, json)),
        Command::Backup {
            log,
            to,
            token,
            token_file,
        } => cli::backup::backup(&log, &to, token, token_file),
        Command::Restore {
            from,
            from_mirror,
            data,
            key,
        } => cli::backup::restore(
            cli::backup::RestoreFrom {
                backup: from.as_deref(),
                mirror: from_mirror.as_deref(),
            },
            &data,
            &key,
        ),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            rootlog::errln!("rootlog: {e:#}");
            ExitCode::from(1)
        }
    };
    // Output that was asked for and lost (not merely left unread) is a failure.
    match rootlog::stdio::stdout_error() {
        Some(e) => {
            rootlog::errln!("rootlog: cannot write to standard output: {e}");
            ExitCode::from(1)
        }
        None => code,
    }
}

//! The bodies of the `rootlog` subcommands. Each returns its exit code;
//! errors become exit code 1 with a one-line message.
//!
//! A command with more than a page of its own lives in a module named after
//! it (`tenant`, `submit`, `verify`, `fsck`, `audit`, `backup`, `keys` for
//! the trusted keys every verifier takes); serving, publishing, `vkey`,
//! `keygen` and `root`, with the helpers the commands share, are here.

pub mod audit;
pub mod backup;
mod fsck;
pub mod keys;
mod submit;
mod tenant;
mod verify;

pub use fsck::fsck;
pub use submit::{statement, submit};
pub(crate) use tenant::admin_token;
pub use tenant::{tenant_add, tenant_key_change, tenant_list, tenant_show};
pub use verify::{receipt, verify};

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use rootlog::audit::parse_hash;
use rootlog::merkle::{leaf_hash, Frontier};
use rootlog::note::{encode_b64, Signer};
use rootlog::sequencer::BatchConfig;
use rootlog::server::{self, ServeConfig};
use rootlog::witnessing::{WitnessPolicy, WitnessSpec};

use crate::ServeArgs;

/// What `rootlog submit` waits for before it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WaitFor {
    /// The entry is durable in the log (its batch's checkpoint covers it).
    Durable,
    /// A checkpoint meeting the log's witness policy covers it.
    Witnessed,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Settings a `--config` TOML file may hold; flags override them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
    origin: Option<String>,
    max_batch: Option<usize>,
    batch_wait_ms: Option<u64>,
    queue: Option<usize>,
    publish_dir: Option<PathBuf>,
    publish_url: Option<String>,
    rate_per_ip: Option<u32>,
    rate_per_tenant: Option<u32>,
    max_in_flight: Option<usize>,
    admin_listen: Option<std::net::SocketAddr>,
    #[serde(default)]
    admin_on_public: bool,
    check_interval: Option<u64>,
    tile_cache_mb: Option<usize>,
    #[serde(default)]
    witness: Vec<WitnessEntry>,
    witness_quorum: Option<usize>,
    #[serde(default, with = "humantime_serde_opt")]
    witness_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    witness_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    witness_wait: Option<Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    witness_check_wait: Option<Duration>,
    max_statement_age: Option<String>,
    #[serde(default, with = "humantime_serde_opt")]
    header_timeout: Option<Duration>,
    max_connections: Option<usize>,
    #[serde(default)]
    trusted_proxies: Vec<ipnet::IpNet>,
    #[serde(default, with = "humantime_serde_opt")]
    witness_lag_limit: Option<Duration>,
    #[serde(default)]
    degraded_unhealthy: bool,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessEntry {
    vkey: String,
    url: String,
}

/// Durations in the config file are humantime strings ("1s", "500ms").
mod humantime_serde_opt {
    use serde::Deserialize;
    use std::time::Duration;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Reads a `--config` file (an empty one when there is none).
fn read_config(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
    match path {
        Some(path) => toml::from_str(
            &fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a valid rootlog config", path.display())),
        None => Ok(ConfigFile::default()),
    }
}

/// The witnesses of the config file and then of the flags, with the quorum
/// (flag, else file, else all of them); the timing settings at their defaults.
fn witness_policy(
    file: &ConfigFile,
    flags: &[String],
    quorum: Option<usize>,
) -> anyhow::Result<WitnessPolicy> {
    let mut witnesses = Vec::new();
    for w in &file.witness {
        witnesses.push(
            format!("{}@{}", w.vkey, w.url)
                .parse::<WitnessSpec>()
                .map_err(|e| anyhow::anyhow!("config witness: {e}"))?,
        );
    }
    for w in flags {
        witnesses.push(
            w.parse::<WitnessSpec>()
                .map_err(|e| anyhow::anyhow!("--witness: {e}"))?,
        );
    }
    let quorum = quorum.or(file.witness_quorum).unwrap_or(witnesses.len());
    let policy = WitnessPolicy {
        witnesses,
        quorum,
        interval: file.witness_interval.unwrap_or(Duration::from_secs(1)),
        timeout: file.witness_timeout.unwrap_or(Duration::from_secs(5)),
    };
    policy.validate().map_err(|e| anyhow::anyhow!(e))?;
    Ok(policy)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = read_config(args.config.as_deref())?;
    let mut witnessing = witness_policy(&file, &args.witnesses, args.witness_quorum)?;
    if let Some(interval) = args.witness_interval {
        witnessing.interval = interval;
    }
    if let Some(timeout) = args.witness_timeout {
        witnessing.timeout = timeout;
    }
    let max_statement_age = match args
        .max_statement_age
        .as_deref()
        .or(file.max_statement_age.as_deref())
        .unwrap_or("7d")
    {
        "none" => None,
        text => Some(
            rootlog::timebound::parse_duration(text)
                .map_err(|e| anyhow::anyhow!("--max-statement-age: {e}"))?,
        ),
    };
    let config = ServeConfig {
        data: args
            .data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from("rootlog-data")),
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080))),
        origin: args.origin.or(file.origin),
        batch: BatchConfig {
            max_batch: args.max_batch.or(file.max_batch).unwrap_or(4096).max(1),
            max_wait: Duration::from_millis(args.batch_wait_ms.or(file.batch_wait_ms).unwrap_or(0)),
            queue_capacity: args.queue.or(file.queue).unwrap_or(65536).max(1),
        },
        witnessing,
        witness_wait: args
            .witness_wait
            .or(file.witness_wait)
            .unwrap_or(Duration::from_secs(10)),
        witness_check_wait: args
            .witness_check_wait
            .or(file.witness_check_wait)
            .unwrap_or(Duration::from_secs(30)),
        max_statement_age,
        publish_dir: args.publish_dir.or(file.publish_dir),
        publish_url: args
            .publish_url
            .or(file.publish_url)
            .map(|url| url.parse())
            .transpose()
            .context("--publish-url")?,
        // Admin endpoints on their own loopback listener unless the
        // operator says otherwise explicitly.
        admin_listen: if args.admin_on_public
            || (file.admin_on_public && args.admin_listen.is_none())
        {
            None
        } else {
            Some(
                args.admin_listen
                    .or(file.admin_listen)
                    .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8079))),
            )
        },
        limits: rootlog::limits::LimitConfig {
            per_ip: args.rate_per_ip.or(file.rate_per_ip).unwrap_or(0),
            per_tenant: args.rate_per_tenant.or(file.rate_per_tenant).unwrap_or(0),
            max_in_flight: args.max_in_flight.or(file.max_in_flight).unwrap_or(4096),
        },
        check_interval: Duration::from_secs(
            args.check_interval.or(file.check_interval).unwrap_or(60),
        ),
        tile_cache_bytes: args
            .tile_cache_mb
            .or(file.tile_cache_mb)
            .unwrap_or(64)
            .saturating_mul(1024 * 1024),
        trusted_proxies: rootlog::limits::TrustedProxies(
            file.trusted_proxies
                .iter()
                .chain(&args.trusted_proxies)
                .copied()
                .collect(),
        ),
        witness_lag_limit: args
            .witness_lag_limit
            .or(file.witness_lag_limit)
            .unwrap_or(Duration::from_secs(300)),
        degraded_is_unhealthy: args.degraded_unhealthy || file.degraded_unhealthy,
        conn_limits: rootlog::listener::ConnLimits {
            header_timeout: args
                .header_timeout
                .or(file.header_timeout)
                .unwrap_or(Duration::from_secs(10)),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(4096)
                .max(1),
        },
    };
    runtime()?.block_on(server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}

pub fn publish(
    data: &Path,
    to: &str,
    config: Option<&Path>,
    witnesses: &[String],
    quorum: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let policy = witness_policy(&read_config(config)?, witnesses, quorum)?;
    let target = rootlog::publish::Target::parse(to).context("--to")?;
    let size = rootlog::publish::publish_once(data, &target, &policy)?;
    rootlog::errln!(
        "published the checkpoint of size {size} and its tiles to {}",
        target.describe()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn vkey(data: &Path) -> anyhow::Result<ExitCode> {
    rootlog::outln!("{}", rootlog::identity::read_signer(data)?.vkey());
    Ok(ExitCode::SUCCESS)
}

/// A file name for a key name (key names may contain '/').
fn key_file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn keygen(name: &str, out_dir: &Path) -> anyhow::Result<ExitCode> {
    let signer = Signer::generate(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    fs::create_dir_all(out_dir)?;
    let stem = key_file_stem(name);
    let skey_path = out_dir.join(format!("{stem}.skey"));
    let vkey_path = out_dir.join(format!("{stem}.vkey"));
    rootlog::identity::write_private_file(&skey_path, format!("{}\n", signer.skey()).as_bytes())?;
    fs::write(&vkey_path, format!("{}\n", signer.vkey()))
        .with_context(|| format!("cannot write {}", vkey_path.display()))?;
    rootlog::errln!(
        "wrote {} (private, mode 0600) and {}",
        skey_path.display(),
        vkey_path.display()
    );
    rootlog::outln!("{}", signer.vkey());
    Ok(ExitCode::SUCCESS)
}

/// A value given directly or as @FILE.
pub(crate) fn value_or_file(value: &str) -> anyhow::Result<String> {
    match value.strip_prefix('@') {
        Some(path) => Ok(fs::read_to_string(path)
            .with_context(|| format!("cannot read {path}"))?
            .trim()
            .to_string()),
        None => Ok(value.trim().to_string()),
    }
}

pub fn root(input: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    match &input {
        Some(path) => {
            text = fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            std::io::stdin().read_to_string(&mut text)?;
        }
    }
    let mut tree = Frontier::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let hash = parse_hash(line).with_context(|| {
            format!(
                "line {}: {line:?} is not a 32-byte hash in hex or base64",
                n + 1
            )
        })?;
        tree.append(leaf_hash(&hash), |_, _| {});
    }
    rootlog::outln!("records {}\nroot {}", tree.size(), encode_b64(&tree.root()));
    Ok(ExitCode::SUCCESS)
}

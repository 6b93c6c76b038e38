//! The bodies of the `rootlog` subcommands. Each returns its exit code;
//! errors become exit code 1 with a one-line message.

pub mod audit;
pub mod backup;
pub mod keys;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use rootlog::audit::parse_hash;
use rootlog::client::{ClientError, LogClient, RetryPolicy};
use rootlog::merkle::{leaf_hash, Frontier};
use rootlog::note::{encode_b64, parse_decimal_u64, Note, Signer, Verifier};
use rootlog::receipt::Receipt;
use rootlog::sequencer::BatchConfig;
use rootlog::server::{self, ServeConfig};
use rootlog::statement::{parse_date, ChainHead, Statement};
use rootlog::tenant_key::{KeyStatus, TenantRecord};
use rootlog::tlogproof::TlogProof;
use rootlog::verdict::{Check, Report};
use rootlog::verify::{judge_statement, StatementEvidence};
use rootlog::witnessing::{WitnessPolicy, WitnessSpec};

use crate::{ServeArgs, StatementArgs, SubmitArgs};

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
    to: &Path,
    config: Option<&Path>,
    witnesses: &[String],
    quorum: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let policy = witness_policy(&read_config(config)?, witnesses, quorum)?;
    let size = rootlog::publish::publish_once(data, to, &policy)?;
    rootlog::errln!(
        "published the checkpoint of size {size} and its tiles to {}",
        to.display()
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

pub fn tenant_add(
    log: &str,
    id: &str,
    vkey: &str,
    token: Option<String>,
    token_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let token = admin_token(token, token_file)?;
    let vkey = value_or_file(vkey)?;
    let (status, body) = runtime()?.block_on(LogClient::new(log).add_tenant(&token, id, &vkey))?;
    rootlog::errln!(
        "{}",
        if status == 201 {
            "registered"
        } else {
            "already registered with this key"
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn admin_token(
    token: Option<String>,
    token_file: Option<PathBuf>,
) -> anyhow::Result<String> {
    Ok(match (token, token_file) {
        (Some(t), _) => t,
        (None, Some(path)) => fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?.trim().to_string(),
        (None, None) => bail!("the admin token is needed: set ROOTLOG_ADMIN_TOKEN, or pass --token or --token-file <data>/admin.token"),
    })
}

/// `tenant add-key`, `retire-key`, `revoke-key`: prints the tenant record and
/// the key-change entry with its proof.
pub fn tenant_key_change(
    args: &crate::KeyChangeArgs,
    action: &str,
    effective: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let token = admin_token(args.token.clone(), args.token_file.clone())?;
    let vkey = value_or_file(&args.vkey)?;
    let client = LogClient::new(&args.log);
    let (status, body) =
        runtime()?.block_on(client.change_key(&token, &args.id, action, &vkey, effective))?;
    let index = &body["entry"]["index"];
    rootlog::errln!(
        "{}",
        if status == 201 {
            format!("logged: {action} at index {index}")
        } else {
            format!("already so: the entry at index {index} did it")
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

/// `tenant list`: every tenant of the log with its keys' status, as the
/// log's JSON (`--json`) or one line per tenant and one per key.
pub fn tenant_list(log: &str, json: bool) -> anyhow::Result<ExitCode> {
    let body = runtime()?.block_on(LogClient::new(log).get_json("/v1/tenants"))?;
    if json {
        rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let tenants: Vec<TenantRecord> = serde_json::from_value(body["tenants"].clone())
        .context("the log's answer to GET /v1/tenants is not a list of tenant records")?;
    rootlog::out!("{}", tenants_text(&tenants));
    Ok(ExitCode::SUCCESS)
}

/// The text `tenant list` prints: per tenant, its id, whether a key of it
/// signs now and when it was registered, then each key with the log entries
/// that added and stopped it (an auditor fetches those to check them).
fn tenants_text(tenants: &[TenantRecord]) -> String {
    let mut out = String::new();
    for tenant in tenants {
        let state = if tenant.active { "active" } else { "inactive" };
        out.push_str(&format!(
            "{}  {state}  registered {}\n",
            tenant.id, tenant.created_at
        ));
        for key in &tenant.keys {
            let status = match key.status {
                KeyStatus::Active => "active",
                KeyStatus::Retired => "retired",
                KeyStatus::Revoked => "revoked",
            };
            out.push_str(&format!(
                "  {status:<8} {}  added {} (entry {})",
                key.vkey, key.added_at, key.added_index
            ));
            // The first stop is the retirement, or the revocation of a key
            // never retired; a later revocation of a retired key follows it.
            if let (Some(at), Some(index)) = (&key.changed_at, key.changed_index) {
                let first = if key.revoked_index.is_some() || key.status == KeyStatus::Retired {
                    "retired"
                } else {
                    "revoked"
                };
                out.push_str(&format!(", {first} {at} (entry {index})"));
            }
            if let (Some(at), Some(index)) = (&key.revoked_at, key.revoked_index) {
                out.push_str(&format!(", revoked {at} (entry {index})"));
            }
            out.push('\n');
        }
    }
    let active = tenants.iter().filter(|t| t.active).count();
    let noun = if tenants.len() == 1 {
        "tenant"
    } else {
        "tenants"
    };
    out.push_str(&format!("{} {noun}, {active} active\n", tenants.len()));
    out
}

pub fn tenant_show(log: &str, id: &str) -> anyhow::Result<ExitCode> {
    let body = runtime()?.block_on(LogClient::new(log).get_json(&format!("/v1/tenants/{id}")))?;
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

fn read_signer(path: &Path) -> anyhow::Result<Signer> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    Signer::from_skey(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `--chain "<seq> <hash>"`: the hash in hex or base64, like every hash
/// the CLI takes (`rootlog::audit::parse_hash`).
fn parse_chain(chain: &str) -> anyhow::Result<ChainHead> {
    let (seq, hash) = chain
        .trim()
        .split_once(' ')
        .context("--chain must be \"<seq> <hash>\" (the hash in hex or base64)")?;
    let seq = parse_decimal_u64(seq).context("--chain sequence number must be a decimal")?;
    let hash =
        parse_hash(hash).context("--chain hash must be 32 bytes in hex (64 digits) or base64")?;
    Ok(ChainHead { seq, hash })
}

/// Builds and signs a statement from flags.
fn build_statement(args: &StatementArgs) -> anyhow::Result<Vec<u8>> {
    let signer = read_signer(&args.key)?;
    let tenant = args
        .tenant
        .clone()
        .unwrap_or_else(|| signer.name().to_string());
    if tenant != signer.name() {
        bail!("the key is named {:?} but the tenant is {tenant:?}: a tenant's key name must equal its id", signer.name());
    }
    let date = parse_date(&args.date)
        .with_context(|| format!("--date {:?} is not a calendar date YYYY-MM-DD", args.date))?;
    let root = parse_hash(&args.root)
        .context("--root must be 32 bytes in hex (64 digits) or base64 (see `rootlog root`)")?;
    let chain = args.chain.as_deref().map(parse_chain).transpose()?;
    let statement = Statement {
        tenant,
        date,
        records: args.records,
        root,
        chain,
    };
    let text = statement.to_text();
    Statement::parse_text(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut note = Note::new(text);
    note.signatures.push(signer.sign(note.text.as_bytes()));
    Ok(note.to_text().into_bytes())
}

pub fn statement(args: &StatementArgs) -> anyhow::Result<ExitCode> {
    rootlog::out!("{}", String::from_utf8_lossy(&build_statement(args)?));
    Ok(ExitCode::SUCCESS)
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let note = match (&args.statement, &args.key) {
        (Some(path), _) => {
            fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, Some(key)) => build_statement(&StatementArgs {
            key: key.clone(),
            tenant: args.tenant.clone(),
            date: args.date.clone().unwrap_or_default(),
            records: args.records.unwrap_or_default(),
            root: args.root.clone().unwrap_or_default(),
            chain: args.chain.clone(),
        })?,
        (None, None) => bail!("give --statement FILE, or --key with --date, --records and --root"),
    };
    let witnessed = args.wait == WaitFor::Witnessed || args.receipt.is_some();
    let client = LogClient::new(&args.log).with_retry(RetryPolicy::for_duration(args.retry_for));
    let rt = runtime()?;
    let (status, entry) = match rt.block_on(client.submit_waiting(&note, witnessed)) {
        Ok(answer) => answer,
        Err(e) => return Ok(submit_failed(&args.log, "submitting the statement", &e)),
    };
    if let Some(vkey) = &args.log_key {
        let log_key = Verifier::from_vkey(&value_or_file(vkey)?)
            .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
        let checkpoint = entry
            .verify(&log_key, Some(&note))
            .map_err(|e| anyhow::anyhow!("the log's answer does not verify: {e}"))?;
        rootlog::errln!(
            "verified: entry {} is in the log's signed checkpoint of size {}",
            entry.index,
            checkpoint.size
        );
        if let Some(path) = &args.receipt {
            let (_, statement) = rootlog::statement::parse_submission(&note)
                .map_err(|e| anyhow::anyhow!("the statement: {e}"))?;
            let receipt =
                match rt.block_on(client.receipt(&statement.tenant, &statement.date_string())) {
                    Ok(receipt) => receipt,
                    Err(e) => {
                        rootlog::errln!("the statement is logged at index {}", entry.index);
                        return Ok(submit_failed(&args.log, "fetching the receipt", &e));
                    }
                };
            // Checked with the log key alone (the log's witness policy was
            // met when the proof's checkpoint was chosen); a receipt that
            // does not verify is not kept.
            let trust = rootlog::verify::Trust {
                log_key: &log_key,
                origin: None,
                witnesses: &[],
                quorum: 0,
                tenant_key: None,
            };
            let judged = receipt.judge(&trust, rootlog::timebound::MaxDelay::None);
            let failed: Vec<&str> = judged
                .checks
                .iter()
                .filter(|c| c.result == rootlog::verdict::Outcome::Fail)
                .map(|c| c.detail.as_str())
                .collect();
            if !failed.is_empty() {
                bail!("the log's receipt does not verify: {}", failed.join("; "));
            }
            save_receipt(path, &receipt)?;
            rootlog::errln!("saved the receipt to {}", path.display());
        }
    }
    rootlog::errln!(
        "{}",
        if status == 201 {
            "appended"
        } else {
            "already in the log (identical statement)"
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&entry)?);
    Ok(ExitCode::SUCCESS)
}

/// Says why `rootlog submit` did not get its answer, and returns the exit
/// code: 3 when the log could not be reached or stayed unavailable (nothing
/// wrong with the statement: running the same command again is safe), 1
/// when the log refused the statement or answered something unusable.
fn submit_failed(log: &str, doing: &str, e: &ClientError) -> ExitCode {
    rootlog::errln!("rootlog submit: {doing} at {log}: {e}");
    let last = match e {
        ClientError::GaveUp { last, .. } => last.as_ref(),
        other => other,
    };
    if let ClientError::Api { code, body, .. } = last {
        match code.as_str() {
            "not_witnessed_yet" => rootlog::errln!(
                "the statement is logged (index {}), but no checkpoint meeting the log's witness policy covered it in time; fetch the receipt later with `rootlog receipt`",
                body["index"]
            ),
            "conflict" => rootlog::errln!(
                "a different statement for this tenant and day is already logged (index {}): it can never be replaced. Do not \"fix\" it; find out how two statements for one day came to be signed",
                body["existing"]["index"]
            ),
            _ => {}
        }
    }
    if e.is_transient() {
        rootlog::errln!("the log could not take the statement now, which says nothing against it: running the same command again is safe (an identical statement is answered with the entry already logged); --retry-for sets how long to keep trying");
        ExitCode::from(3)
    } else {
        ExitCode::from(1)
    }
}

/// Exit code 2: the command cannot even be attempted (unreadable file, malformed key).
fn usage(command: &str, message: String) -> anyhow::Result<ExitCode> {
    rootlog::errln!("rootlog {command}: {message}");
    Ok(ExitCode::from(2))
}

/// `rootlog verify`: a receipt, or a statement with its proof file, offline,
/// by the one rule every verifier applies (`rootlog::verify::judge_statement`).
pub fn verify(args: &crate::VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = match keys::Keys::parse(&args.keys) {
        Ok(k) => k,
        Err(e) => return usage("verify", e),
    };
    let max_delay = match args.verdict.max_delay() {
        Ok(d) => d,
        Err(e) => return usage("verify", e),
    };
    let trust = keys.trust(args.keys.origin.as_deref());
    let mut report = Report::new("verify", max_delay);
    let read =
        |path: &Path| fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    match (&args.receipt, &args.statement, &args.proof) {
        (Some(path), _, _) => {
            let bytes = match read(path) {
                Ok(b) => b,
                Err(e) => return usage("verify", e),
            };
            match Receipt::parse(&bytes) {
                Ok(receipt) => report.statements.push(receipt.judge(&trust, max_delay)),
                Err(e) => report
                    .checks
                    .push(Check::fail("receipt", format!("{}: {e}", path.display()))),
            }
        }
        (None, Some(statement), Some(proof)) => {
            let (statement, proof_bytes) = match (read(statement), read(proof)) {
                (Ok(s), Ok(p)) => (s, p),
                (Err(e), _) | (_, Err(e)) => return usage("verify", e),
            };
            match TlogProof::parse(&proof_bytes) {
                Ok(parsed) => {
                    let evidence = StatementEvidence {
                        entry: &statement,
                        index: parsed.index,
                        checkpoint: &parsed.checkpoint,
                        inclusion_proof: &parsed.inclusion_proof,
                        expected: None,
                        key_history: None,
                    };
                    report
                        .statements
                        .push(judge_statement(&evidence, &trust, max_delay).0);
                }
                Err(e) => report.checks.push(Check::fail(
                    "proof",
                    format!("the proof file {}: {e}", proof.display()),
                )),
            }
        }
        _ => {
            return usage(
                "verify",
                "give --receipt FILE, or --statement FILE and --proof FILE".into(),
            )
        }
    }
    Ok(keys::emit(report, args.verdict.json))
}

/// `rootlog receipt`: fetches a logged statement's receipt, verifies it
/// like `rootlog verify --receipt` would, and saves it only if it verified.
pub fn receipt(args: &crate::ReceiptArgs) -> anyhow::Result<ExitCode> {
    let keys = match keys::Keys::parse(&args.keys) {
        Ok(k) => k,
        Err(e) => return usage("receipt", e),
    };
    let max_delay = match args.verdict.max_delay() {
        Ok(d) => d,
        Err(e) => return usage("receipt", e),
    };
    let trust = keys.trust(args.keys.origin.as_deref());
    let mut report = Report::new("receipt", max_delay);
    let client = LogClient::new(&args.log).with_retry(RetryPolicy::for_duration(args.retry_for));
    let fetched = runtime()?.block_on(client.receipt(&args.tenant, &args.date));
    match fetched {
        Ok(receipt) => {
            let judged = receipt.judge(&trust, max_delay);
            let verified = judged.verdict() == rootlog::verdict::Verdict::Verified;
            report.statements.push(judged);
            if verified {
                save_receipt(&args.out, &receipt)?;
                report.checks.push(Check::pass(
                    "receipt",
                    format!("saved to {}", args.out.display()),
                ));
            }
        }
        Err(e) => report.checks.push(client_check("receipt", &e)),
    }
    Ok(keys::emit(report, args.verdict.json))
}

/// A client error as a check: the log unreachable or not ready is unknown
/// (exit 3); an answer that is wrong failed.
fn client_check(check: &'static str, e: &ClientError) -> Check {
    match e {
        _ if e.is_transient() => Check::unknown(check, e.to_string()),
        ClientError::Http(_) => Check::unknown(check, e.to_string()),
        ClientError::Api { status, .. } if *status == 404 || *status >= 500 => {
            Check::unknown(check, e.to_string())
        }
        _ => Check::fail(check, e.to_string()),
    }
}

/// Writes a receipt durably (temporary name, fsync, rename, directory fsync):
/// it is the archive's proof, kept for years.
fn save_receipt(path: &Path, receipt: &Receipt) -> anyhow::Result<()> {
    rootlog::durable::replace_file(path, receipt.to_json().as_bytes())
        .with_context(|| format!("cannot write the receipt {}", path.display()))
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

/// `rootlog fsck`: the full integrity check. Handles its own errors, because
/// "could not check" (exit 2) must not look like "found damage" (exit 1).
pub fn fsck(data: &Path, json: bool) -> ExitCode {
    match run_fsck(data, json) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            rootlog::errln!("rootlog fsck: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Opens the data directory without creating anything and runs the check;
/// Ok(intact).
fn run_fsck(data: &Path, json: bool) -> anyhow::Result<bool> {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressStyle};
    use rootlog::fsck::{check_store, Stage};
    use rootlog::storage::{Store, StoreError};

    if !data.is_dir() {
        bail!(
            "{} is not a directory (give the log's data directory with --data)",
            data.display()
        );
    }
    let log_key = rootlog::identity::read_signer(data)?.verifier();
    let db = data.join("db");
    // sled opens its files for writing even to read them: a read-only copy
    // (a snapshot mounted read-only) is checked through a scratch copy of
    // sled's own small files, the tree files read where they are, so the
    // directory is never changed.
    let mut scratch = None;
    let opened = match Store::open_existing(&db) {
        Err(StoreError::Sled(sled::Error::Io(io)))
            if matches!(
                io.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            let dir = ScratchDir::new()?;
            Store::copy_sled_files(&db, dir.path())?;
            let opened = Store::open_existing_from(&db, dir.path());
            scratch = Some(dir);
            opened
        }
        other => other,
    };
    let store = match opened {
        Ok(store) => store,
        Err(StoreError::Sled(sled::Error::Io(io)))
            if io.to_string().contains("could not acquire lock") =>
        {
            bail!("the database {} is locked by another process, most likely a running `rootlog serve`: stop the server first, or run fsck on a copy or backup of the data directory", db.display())
        }
        Err(StoreError::Sled(sled::Error::Io(io))) if io.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "{} holds no database (is --data the log's data directory?)",
                data.display()
            )
        }
        Err(
            e @ (StoreError::Io { .. }
            | StoreError::Sled(sled::Error::Io(_))
            | StoreError::Legacy(_)),
        ) => {
            bail!("cannot check the database {}: {e}", db.display())
        }
        // sled found its own data damaged, or the stored size cannot be:
        // that is a finding, not a failure to check.
        Err(e @ (StoreError::Sled(_) | StoreError::Corrupt(_) | StoreError::Invalid { .. })) => {
            let report = rootlog::fsck::Report::unreadable(
                &db.display().to_string(),
                format!("the database cannot be opened: {e}; restore the data directory from a backup (rootlog restore)"),
            );
            return print_fsck(&report, data, 0.0, json);
        }
    };

    // The bar goes to stderr and only to a terminal, so pipes and --json stay clean.
    let bar = if !json && std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    let counted = ProgressStyle::with_template(
        "{msg:12} [{bar:40}] {human_pos}/{human_len} ({elapsed}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let open_ended = ProgressStyle::with_template("{msg:12} {spinner} {human_pos} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut current: Option<Stage> = None;
    let mut progress = |stage: Stage, done: u64, total: Option<u64>| {
        if current != Some(stage) {
            current = Some(stage);
            bar.reset();
            let (style, msg) = match stage {
                Stage::Tree => (counted.clone(), "leaves"),
                Stage::Indexes => (open_ended.clone(), "index rows"),
                Stage::Checkpoints => (open_ended.clone(), "checkpoints"),
            };
            bar.set_style(style);
            bar.set_message(msg);
        }
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let started = std::time::Instant::now();
    let report = check_store(&store, &log_key, &mut progress)
        .with_context(|| format!("cannot read the database {}", db.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    drop(store);
    drop(scratch);
    print_fsck(&report, data, elapsed, json)
}

/// Prints a check's report (text or JSON); Ok(intact).
fn print_fsck(
    report: &rootlog::fsck::Report,
    data: &Path,
    elapsed: f64,
    json: bool,
) -> anyhow::Result<bool> {
    if json {
        /// The report with the run time after it, fields in report order.
        #[derive(serde::Serialize)]
        struct Summary<'a> {
            #[serde(flatten)]
            report: &'a rootlog::fsck::Report,
            elapsed_seconds: f64,
        }
        let summary = Summary {
            report,
            elapsed_seconds: elapsed,
        };
        rootlog::outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(report.ok);
    }
    let c = &report.checked;
    rootlog::outln!(
        "log {} at {}, tree size {}",
        report.origin.as_deref().unwrap_or("(no origin recorded)"),
        data.display(),
        report.tree_size
    );
    rootlog::outln!(
        "checked {} leaves, {} nodes, {} index rows, {} checkpoints in {elapsed:.1} s ({:.0} leaves/s)",
        c.leaves,
        c.nodes,
        c.index_rows,
        c.checkpoints,
        c.leaves as f64 / elapsed.max(1e-9)
    );
    if report.ok {
        rootlog::outln!("ok: the stored log is intact");
    } else {
        rootlog::outln!("FAILED: {} finding(s)", report.findings_total);
        for finding in &report.findings {
            rootlog::outln!("  {finding}");
        }
        let hidden = report.findings_total - report.findings.len() as u64;
        if hidden > 0 {
            rootlog::outln!(
                "  ... and {hidden} more (the list stops at {})",
                report.findings.len()
            );
        }
    }
    Ok(report.ok)
}

/// A private directory under the system's temporary directory, removed
/// with everything in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> anyhow::Result<Self> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let path = std::env::temp_dir().join(format!("rootlog-fsck-{}", hex::encode(random)));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

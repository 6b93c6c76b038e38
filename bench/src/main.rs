//! `rootlog-bench`: load generator, bulk loader and machine-limit probes for
//! rootlog and rootlog-witness. Every scenario targets a server URL the
//! caller gives (scripts/bench starts them on 127.0.0.1), runs for a bounded
//! time, prints a human report on stderr and one `result ...` line on stdout.
//! `export` builds an archive export (manifest and receipts) for measuring
//! `rootlog verify-export`, and `sha-baseline` the single-core SHA-256 rate
//! it is read against.

mod bulk;
mod conn;
mod driver;
mod export;
mod limits;
mod reads;
mod rng;
mod startup;
mod statements;
mod stats;
mod submit;
mod sync_probe;
mod usage;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use stats::parse_duration;

/// The generator shares the cores with the server it measures; mimalloc keeps
/// its allocations cheap, as it does the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rootlog-bench",
    version,
    about = "Benchmarks for rootlog and rootlog-witness"
)]
struct Cli {
    /// Threads of the generator's async runtime (it shares the machine with the server).
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Durable submissions over HTTP: closed loop, or open loop with --rate.
    Submit {
        #[arg(long)]
        log: String,
        /// Admin token, to register the run's tenants.
        #[arg(long, env = "ROOTLOG_ADMIN_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        duration: Duration,
        /// Offered statements per second (open loop; latency from the scheduled send).
        #[arg(long)]
        rate: Option<f64>,
        /// Tenants to register (default: one per client, more if dates run out).
        #[arg(long)]
        tenants: Option<usize>,
        /// Statements to pre-sign (default: rate x duration, or 15,000/s x duration).
        #[arg(long)]
        statements: Option<usize>,
        /// Threads that pre-sign (before the clock starts).
        #[arg(long, default_value_t = 2)]
        sign_threads: usize,
        /// Submit with ?wait=witnessed: each answer waits for a checkpoint
        /// meeting the log's witness policy (submit → witnessed latency).
        #[arg(long)]
        wait_witnessed: bool,
    },
    /// Inclusion proofs at random indexes (GET /v1/proof/inclusion?index=&size=).
    Proofs {
        #[arg(long)]
        log: String,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        duration: Duration,
        /// Verify one answer in this many against the checkpoint (0: none).
        #[arg(long, default_value_t = 1024)]
        verify_every: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Random full level-0 tiles (GET /tile/0/<N>); skipped if the log serves no tiles.
    Tiles {
        #[arg(long)]
        log: String,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Build a log of N entries directly through the library (a normal data directory).
    Load {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        entries: u64,
        /// Tenants (default 1000, more if N needs more distinct dates).
        #[arg(long)]
        tenants: Option<u64>,
        /// Entries per store batch (one flush and one checkpoint each). Measured:
        /// 100,000 made sled's memory balloon (7 GB at 3 x 10^5 entries) and ran slower.
        #[arg(long, default_value_t = 25_000)]
        batch: usize,
        #[arg(long)]
        origin: Option<String>,
        /// Signing threads.
        #[arg(long, default_value_t = 2)]
        sign_threads: usize,
        /// Close and reopen the database after this many entries, which bounds
        /// sled's memory during the load (0: never).
        #[arg(long, default_value_t = 250_000)]
        reopen_every: u64,
    },
    /// Concurrent witness add-checkpoint with consistency proofs, one origin per client.
    Witness {
        #[arg(long)]
        witness: String,
        /// The log's skey file (the witness must trust its vkey for every origin).
        #[arg(long)]
        log_key: PathBuf,
        /// Origins are <prefix>/<client> (default: the key's name).
        #[arg(long)]
        origin_prefix: Option<String>,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: Duration,
        /// Checkpoints pre-signed per client.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
    /// Print the `--log ORIGIN=VKEY` flags a witness needs for `witness --clients N`.
    WitnessLogs {
        #[arg(long)]
        log_key: PathBuf,
        #[arg(long)]
        origin_prefix: Option<String>,
        #[arg(long, default_value_t = 64)]
        clients: usize,
    },
    /// Single-core rates of verify_strict, node_hash, the statement check and signing.
    Limits {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Latency of a 4 KiB append + fdatasync in DIR (the disk's floor under every acknowledgement).
    Sync {
        #[arg(long)]
        dir: PathBuf,
        /// Seconds to probe (at most 2,000 syncs).
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
    },
    /// Where a data directory's bytes go: stored rows by kind against the files on disk.
    Du {
        #[arg(long)]
        data: PathBuf,
    },
    /// Build an archive export against a log (records, manifest, statements,
    /// verified receipts) for measuring `rootlog verify-export`.
    Export {
        #[arg(long)]
        log: String,
        /// Admin token, to register the export's tenant.
        #[arg(long, env = "ROOTLOG_ADMIN_TOKEN")]
        token: String,
        /// The log's vkey, or @FILE (the receipts are verified before they are written).
        #[arg(long)]
        log_key: String,
        /// Directory for manifest.json and receipts/.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10_000_000)]
        records: u64,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long, default_value = "2025-01-01")]
        first_day: String,
    },
    /// Single-core SHA-256 over LEAVES 33-byte and NODES 65-byte messages
    /// (what verify-export hashes), as the limit its rate is read against.
    ShaBaseline {
        #[arg(long)]
        leaves: u64,
        #[arg(long)]
        nodes: u64,
    },
    /// Time from spawning `rootlog serve` on DATA to its first successful GET /checkpoint.
    Startup {
        /// The rootlog binary.
        #[arg(long)]
        bin: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "120s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

fn read_signer(path: &std::path::Path) -> anyhow::Result<rootlog::note::Signer> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    rootlog::note::Signer::from_skey(text.trim())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads.max(1))
            .enable_all()
            .build()
    };
    match cli.command {
        Command::Submit {
            log,
            token,
            clients,
            duration,
            rate,
            tenants,
            statements,
            sign_threads,
            wait_witnessed,
        } => runtime()?.block_on(submit::run(submit::SubmitArgs {
            log,
            token,
            clients,
            duration,
            rate,
            tenants,
            statements,
            sign_threads,
            wait_witnessed,
        })),
        Command::Proofs {
            log,
            clients,
            duration,
            verify_every,
            seed,
        } => runtime()?.block_on(reads::proofs(reads::ReadArgs {
            log,
            clients,
            duration,
            verify_every,
            seed,
        })),
        Command::Tiles {
            log,
            clients,
            duration,
            seed,
        } => runtime()?.block_on(reads::tiles(reads::ReadArgs {
            log,
            clients,
            duration,
            verify_every: 0,
            seed,
        })),
        Command::Load {
            data,
            entries,
            tenants,
            batch,
            origin,
            sign_threads,
            reopen_every,
        } => bulk::run(bulk::LoadArgs {
            reopen_every,
            data: &data,
            entries,
            tenants,
            batch: batch.max(1),
            origin: origin.as_deref(),
            threads: sign_threads,
        }),
        Command::Witness {
            witness,
            log_key,
            origin_prefix,
            clients,
            duration,
            requests,
        } => {
            let log_key = read_signer(&log_key)?;
            let origin_prefix = origin_prefix.unwrap_or_else(|| log_key.name().to_string());
            runtime()?.block_on(witness::run(witness::WitnessArgs {
                witness,
                log_key,
                origin_prefix,
                clients,
                duration,
                requests_per_client: requests,
            }))
        }
        Command::WitnessLogs {
            log_key,
            origin_prefix,
            clients,
        } => {
            let key = read_signer(&log_key)?;
            let prefix = origin_prefix.unwrap_or_else(|| key.name().to_string());
            for k in 0..clients.max(1) {
                println!("--log={}={}", witness::origin(&prefix, k), key.vkey());
            }
            Ok(())
        }
        Command::Export {
            log,
            token,
            log_key,
            out,
            records,
            days,
            first_day,
        } => {
            let first_day = rootlog::statement::parse_date(&first_day)
                .ok_or_else(|| anyhow::anyhow!("--first-day {first_day:?} is not YYYY-MM-DD"))?;
            runtime()?.block_on(export::run(export::ExportArgs {
                log,
                token,
                log_key,
                out,
                records,
                days,
                first_day,
            }))
        }
        Command::ShaBaseline { leaves, nodes } => export::sha_baseline(leaves, nodes),
        Command::Du { data } => usage::run(&data),
        Command::Limits { seconds } => limits::run(seconds),
        Command::Sync { dir, seconds } => sync_probe::run(&dir, seconds),
        Command::Startup { bin, data, timeout } => startup::run(&bin, &data, timeout),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rootlog-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

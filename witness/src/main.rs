//! rootlog-witness command line: `serve`, `vkey`, `evidence`.
//!
//! `serve` prints `rootlog-witness: listening on http://ADDR` on stdout once
//! the socket is bound (tests and scripts parse it); everything else is
//! logged with tracing on stderr. Everything is printed through
//! `rootlog_runtime::stdio` (a closed pipe ends the printing quietly), which the
//! lints below keep so.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use rootlog_witness::config::Config;
use rootlog_witness::state::{read_evidence, Store};
use rootlog_witness::witness::Witness;
use rootlog_witness::{http, key, watch};

/// As in the log server: every request allocates (HTTP, note parsing, the
/// consistency proof), and mimalloc does it in about half glibc's CPU.
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
    name = "rootlog-witness",
    version = VERSION,
    about = "An independent tlog-witness (c2sp.org/tlog-witness v1.0.0)"
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
    log_format: rootlog_runtime::logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the witness.
    Serve {
        /// Data directory (key, database, evidence).
        #[arg(long, default_value = "rootlog-witness-data")]
        data: PathBuf,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
        /// The witness's name (its key name); required at first start, fixed after.
        #[arg(long)]
        name: Option<String>,
        /// TOML file listing logs ([[log]] origin, vkeys, watch).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A log to witness: ORIGIN=VKEY[,VKEY...] (repeatable).
        #[arg(long = "log", value_name = "ORIGIN=VKEY[,VKEY...]")]
        logs: Vec<String>,
        /// Poll a tlog-tiles log: ORIGIN=URL (repeatable; the origin needs keys).
        #[arg(long = "watch", value_name = "ORIGIN=URL")]
        watches: Vec<String>,
        /// Seconds between watch-mode polls.
        #[arg(long, default_value_t = 5.0)]
        poll_interval: f64,
    },
    /// Print the witness's public key (0x01 vkey, as witnesses publish it).
    Vkey {
        #[arg(long, default_value = "rootlog-witness-data")]
        data: PathBuf,
    },
    /// Print the stored evidence of log misbehaviour as JSON.
    Evidence {
        #[arg(long, default_value = "rootlog-witness-data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The log's scheme: ROOTLOG_LOG filters, --log-format picks the format.
    rootlog_runtime::logging::init(cli.log_format);
    let result = match cli.command {
        Command::Serve {
            data,
            listen,
            name,
            config,
            logs,
            watches,
            poll_interval,
        } => serve(data, listen, name, config, logs, watches, poll_interval),
        Command::Vkey { data } => {
            key::read_key(&data).map(|k| rootlog_runtime::outln!("{}", k.vkey()))
        }
        Command::Evidence { data } => read_evidence(&data).and_then(|list| {
            rootlog_runtime::outln!("{}", serde_json::to_string_pretty(&list)?);
            Ok(())
        }),
    };
    if let Err(e) = result {
        rootlog_runtime::errln!("rootlog-witness: error: {e:#}");
        return ExitCode::from(1);
    }
    // Output that was asked for and lost (not merely left unread) is a failure.
    if let Some(e) = rootlog_runtime::stdio::stdout_error() {
        rootlog_runtime::errln!("rootlog-witness: cannot write to standard output: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

#[allow(clippy::too_many_arguments)]
fn serve(
    data: PathBuf,
    listen: String,
    name: Option<String>,
    config: Option<PathBuf>,
    logs: Vec<String>,
    watches: Vec<String>,
    poll_interval: f64,
) -> anyhow::Result<()> {
    if !(poll_interval.is_finite() && poll_interval > 0.0) {
        anyhow::bail!("--poll-interval must be a positive number of seconds");
    }
    let config = Config::build(config.as_deref(), &logs, &watches)?;
    if config.logs.is_empty() {
        tracing::warn!(
            "no logs configured (--log or --config): every checkpoint will be refused with 404"
        );
    }
    let signer = key::load_or_create(&data, name.as_deref())?;
    let store = Store::open(&data)?;
    let witness = Arc::new(Witness::new(signer, &config, store)?);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(name = witness.name(), vkey = %witness.vkey(), logs = config.logs.len(), "witness ready");
        for (origin, log) in &config.logs {
            if let Some(url) = &log.watch {
                watch::spawn(
                    Arc::clone(&witness),
                    origin.clone(),
                    url.clone(),
                    Duration::from_secs_f64(poll_interval),
                )?;
            }
        }
        rootlog_runtime::outln!("rootlog-witness: listening on http://{addr}");
        // Header timeout and a connection cap under the open-file limit, as
        // the log's: a client holding sockets cannot take the witness offline.
        let fd_limit = rootlog_runtime::listener::raise_fd_limit();
        let defaults = rootlog_runtime::listener::ConnLimits::default();
        let limits = rootlog_runtime::listener::ConnLimits {
            max_connections: rootlog_runtime::listener::fitting_cap(defaults.max_connections, fd_limit),
            ..defaults
        };
        rootlog_runtime::listener::serve(
            listener,
            http::router(witness),
            limits,
            Default::default(),
            shutdown(),
        )
        .await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

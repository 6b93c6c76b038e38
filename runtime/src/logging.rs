//! How the log and the witness write their own log: to stderr, filtered by
//! `ROOTLOG_LOG` (tracing `EnvFilter` syntax, default `info`), as text or
//! as one JSON object per line (`--log-format`, `ROOTLOG_LOG_FORMAT`), with
//! colour codes only when stderr is a terminal — never into a file or the
//! journal. The audit trail (target `rootlog::audit`) goes the same way.

use std::io::IsTerminal;

/// The format of the process's log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Installs the process's log subscriber. Call once, first thing.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROOTLOG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

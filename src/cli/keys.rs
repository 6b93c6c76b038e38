//! The trust an auditor brings: the log key, the trusted witnesses and their
//! quorum, optionally the tenant's key. Shared by `verify`, `audit` and
//! `verify-export`, so every command reads keys the same way.

use clap::Args;

use rootlog::note::Verifier;
use rootlog::verify::Trust;

use super::value_or_file;

/// Key flags (each value a vkey, or @FILE holding one).
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// The log's vkey (or @FILE).
    #[arg(long)]
    pub log_key: String,
    /// The log's origin, if it differs from the log key's name.
    #[arg(long)]
    pub origin: Option<String>,
    /// A trusted witness's vkey, 0x01 or cosignature/v1 form (or @FILE); repeat for each.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// Trusted witnesses that must have cosigned the checkpoint [default: all given].
    #[arg(long)]
    pub quorum: Option<usize>,
    /// The tenant's vkey (or @FILE), to check the statements' signatures as well.
    #[arg(long)]
    pub tenant_key: Option<String>,
}

/// The parsed keys.
pub struct Keys {
    pub log_key: Verifier,
    pub witnesses: Vec<Verifier>,
    pub quorum: usize,
    pub tenant_key: Option<Verifier>,
}

fn parse_key(what: &str, value: &str, cosignature: bool) -> Result<Verifier, String> {
    let text = value_or_file(value).map_err(|e| format!("{what}: {e:#}"))?;
    let parsed = if cosignature {
        Verifier::cosignature_from_vkey(&text)
    } else {
        Verifier::from_vkey(&text)
    };
    parsed.map_err(|e| format!("{what} {text:?}: {e}"))
}

impl Keys {
    /// Parses every key; an error is bad usage (exit 2), with the flag named.
    pub fn parse(args: &KeyArgs) -> Result<Keys, String> {
        let log_key = parse_key("--log-key", &args.log_key, false)?;
        let witnesses = args
            .witnesses
            .iter()
            .map(|w| parse_key("--witness", w, true))
            .collect::<Result<Vec<_>, _>>()?;
        let tenant_key = args
            .tenant_key
            .as_deref()
            .map(|t| parse_key("--tenant-key", t, false))
            .transpose()?;
        let quorum = args.quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(format!(
                "--quorum {quorum} is more than the {} --witness keys given",
                witnesses.len()
            ));
        }
        Ok(Keys {
            log_key,
            witnesses,
            quorum,
            tenant_key,
        })
    }

    /// What `rootlog::verify` checks against.
    pub fn trust<'a>(&'a self, origin: Option<&'a str>) -> Trust<'a> {
        Trust {
            log_key: &self.log_key,
            origin,
            witnesses: &self.witnesses,
            quorum: self.quorum,
            tenant_key: self.tenant_key.as_ref(),
        }
    }
}

/// How a verifier judges time and reports (shared by verify, audit and verify-export).
#[derive(Args, Debug, Clone)]
pub struct VerdictArgs {
    /// How long after the end of its day (UTC) a statement may be logged
    /// before it is late (NOT VERIFIED); `none` accepts late statements (for
    /// history published when an archive joined the log) and still reports
    /// them as late.
    #[arg(long, default_value = "2d", value_name = "DURATION|none")]
    pub max_delay: String,
    /// Print one JSON document (docs/verdict-json.md) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl VerdictArgs {
    /// The parsed `--max-delay`; an error is bad usage.
    pub fn max_delay(&self) -> Result<rootlog::timebound::MaxDelay, String> {
        rootlog::timebound::MaxDelay::parse(&self.max_delay)
            .map_err(|e| format!("--max-delay: {e}"))
    }
}

/// Prints `report` (text or JSON) and returns its exit code.
pub fn emit(report: rootlog::verdict::Report, json: bool) -> std::process::ExitCode {
    let report = report.finish();
    if json {
        rootlog::outln!("{}", report.json());
    } else {
        rootlog::out!("{}", report.text());
    }
    std::process::ExitCode::from(report.exit_code)
}

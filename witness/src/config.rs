//! Which logs the witness follows: origins, their trusted keys and optional
//! tlog-tiles URLs to watch, from `--log`/`--watch` flags and a TOML file:
//!
//! ```toml
//! [[log]]
//! origin = "log.example.com/rootlog"
//! vkeys = ["log.example.com/rootlog+1234abcd+AbC..."]
//! watch = "https://log.example.com/rootlog"   # optional
//! ```
//!
//! Flags and file merge: keys of the same origin are united.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use rootlog_tlog::note::{KeyKind, Verifier};
use serde::Deserialize;

use crate::protocol::TrustedLog;

/// One followed log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub log: TrustedLog,
    /// tlog-tiles URL prefix to poll (`<url>/checkpoint`, `<url>/tile/...`).
    pub watch: Option<String>,
}

/// Every followed log, by origin.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub logs: BTreeMap<String, LogConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    log: Vec<FileLog>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    origin: String,
    vkeys: Vec<String>,
    watch: Option<String>,
}

impl Config {
    /// Builds the configuration from an optional TOML file and the
    /// `--log ORIGIN=VKEY[,VKEY...]` and `--watch ORIGIN=URL` flags.
    pub fn build(file: Option<&Path>, logs: &[String], watches: &[String]) -> anyhow::Result<Self> {
        let mut config = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            config
                .add_toml(&text)
                .with_context(|| format!("in the config file {}", path.display()))?;
        }
        for flag in logs {
            let (origin, vkeys) = split_flag(flag, "--log", "ORIGIN=VKEY[,VKEY...]")?;
            let vkeys: Vec<String> = vkeys.split(',').map(str::to_string).collect();
            config.add_log(origin, &vkeys, None)?;
        }
        for flag in watches {
            let (origin, url) = split_flag(flag, "--watch", "ORIGIN=URL")?;
            let Some(entry) = config.logs.get_mut(origin) else {
                bail!("--watch {origin}: the log has no keys; add --log {origin}=VKEY or a [[log]] entry");
            };
            entry.watch = Some(check_url(url)?);
        }
        Ok(config)
    }

    /// Adds the `[[log]]` entries of a TOML document.
    pub fn add_toml(&mut self, text: &str) -> anyhow::Result<()> {
        let file: FileConfig = toml::from_str(text)?;
        for log in file.log {
            let watch = log.watch.as_deref().map(check_url).transpose()?;
            self.add_log(&log.origin, &log.vkeys, watch)?;
        }
        Ok(())
    }

    fn add_log(
        &mut self,
        origin: &str,
        vkeys: &[String],
        watch: Option<String>,
    ) -> anyhow::Result<()> {
        if origin.is_empty() || origin.chars().any(|c| c.is_control()) {
            bail!("invalid origin {origin:?}: it must be a non-empty line of text");
        }
        if vkeys.is_empty() {
            bail!("log {origin}: at least one vkey is needed");
        }
        let entry = self
            .logs
            .entry(origin.to_string())
            .or_insert_with(|| LogConfig {
                log: TrustedLog {
                    origin: origin.to_string(),
                    verifiers: Vec::new(),
                },
                watch: None,
            });
        for vkey in vkeys {
            let v = Verifier::from_vkey(vkey.trim())
                .map_err(|e| anyhow::anyhow!("log {origin}: vkey {vkey:?}: {e}"))?;
            if v.kind() != KeyKind::Ed25519 {
                bail!("log {origin}: vkey {vkey:?} is not an Ed25519 (type 0x01) log key");
            }
            let dup = entry
                .log
                .verifiers
                .iter()
                .any(|o| o.name() == v.name() && o.key_id() == v.key_id());
            if !dup {
                entry.log.verifiers.push(v);
            }
        }
        if watch.is_some() {
            entry.watch = watch;
        }
        Ok(())
    }
}

fn split_flag<'a>(flag: &'a str, name: &str, shape: &str) -> anyhow::Result<(&'a str, &'a str)> {
    match flag.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a, b)),
        _ => bail!("{name} {flag:?}: expected {shape}"),
    }
}

fn check_url(url: &str) -> anyhow::Result<String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("watch URL {url:?} must start with http:// or https://");
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootlog_tlog::note::Signer;

    #[test]
    fn flags_and_toml_merge() {
        let a = Signer::generate("a.example/log").unwrap();
        let b = Signer::generate("a.example/log").unwrap();
        let toml = format!(
            "[[log]]\norigin = \"a.example/log\"\nvkeys = [\"{}\"]\nwatch = \"http://127.0.0.1:1/x/\"\n",
            a.vkey()
        );
        let mut c = Config::default();
        c.add_toml(&toml).unwrap();
        c.add_log("a.example/log", &[b.vkey(), a.vkey()], None)
            .unwrap();
        let log = &c.logs["a.example/log"];
        assert_eq!(log.log.verifiers.len(), 2);
        assert_eq!(log.watch.as_deref(), Some("http://127.0.0.1:1/x"));
    }

    #[test]
    fn refusals() {
        let a = Signer::generate("a.example/log").unwrap();
        let mut c = Config::default();
        assert!(c.add_log("o", &["nope".into()], None).is_err());
        assert!(c
            .add_log("o", &[a.cosignature_verifier().vkey()], None)
            .is_err());
        assert!(c.add_log("", &[a.vkey()], None).is_err());
        assert!(c
            .add_toml("[[log]]\norigin = \"o\"\nvkeys = []\nextra = 1\n")
            .is_err());
        assert!(Config::build(None, &[], &["o=http://x".into()]).is_err());
        assert!(Config::build(None, &["o".into()], &[]).is_err());
        let ok = Config::build(None, &[format!("o={}", a.vkey())], &["o=ftp://x".into()]);
        assert!(ok.is_err());
    }
}

//! The trust settings the auditor controls on the page (the log's vkey, the
//! witness vkeys, the quorum, the max delay), as the page hands them over in
//! JSON, and their parsing into what `rootlog_tlog::verify` checks against.
//! The rules are the CLI's (`rootlog verify --log-key --witness --quorum
//! --max-delay`): a witness key may be a note key or a cosignature/v1 key,
//! the quorum defaults to every witness given and may not exceed them, the
//! max delay defaults to `2d`. A malformed setting is the page's "bad
//! usage": it is reported as an error, never as a verdict.

use rootlog_tlog::note::Verifier;
use rootlog_tlog::timebound::MaxDelay;
use rootlog_tlog::verify::Trust;
use serde::Deserialize;

/// The settings as JSON: `{"log_key": "...", "origin": null, "witnesses":
/// ["..."], "quorum": 1, "max_delay": "2d"}`; all but `log_key` optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    pub log_key: String,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub witnesses: Vec<String>,
    #[serde(default)]
    pub quorum: Option<usize>,
    #[serde(default)]
    pub max_delay: Option<String>,
}

/// The parsed settings; [`Keys::trust`] borrows them as a [`Trust`].
pub struct Keys {
    pub log_key: Verifier,
    pub origin: Option<String>,
    pub witnesses: Vec<Verifier>,
    pub quorum: usize,
    pub max_delay: MaxDelay,
}

impl Keys {
    /// Parses settings given as JSON text; the error names the setting.
    pub fn from_json(json: &str) -> Result<Keys, String> {
        let settings: TrustSettings =
            serde_json::from_str(json).map_err(|e| format!("trust settings: {e}"))?;
        Keys::parse(&settings)
    }

    pub fn parse(s: &TrustSettings) -> Result<Keys, String> {
        let log_key = Verifier::from_vkey(s.log_key.trim())
            .map_err(|e| format!("log key {:?}: {e}", s.log_key))?;
        let witnesses = s
            .witnesses
            .iter()
            .map(|w| {
                Verifier::cosignature_from_vkey(w.trim())
                    .map_err(|e| format!("witness key {w:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = s.quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(format!(
                "quorum {quorum} is more than the {} witness keys given",
                witnesses.len()
            ));
        }
        let max_delay = MaxDelay::parse(s.max_delay.as_deref().unwrap_or("2d"))
            .map_err(|e| format!("max delay: {e}"))?;
        Ok(Keys {
            log_key,
            origin: s.origin.clone().filter(|o| !o.is_empty()),
            witnesses,
            quorum,
            max_delay,
        })
    }

    /// What `rootlog_tlog::verify` checks against. The page never checks a
    /// tenant key beside the key history the log publishes.
    pub fn trust(&self) -> Trust<'_> {
        Trust {
            log_key: &self.log_key,
            origin: self.origin.as_deref(),
            witnesses: &self.witnesses,
            quorum: self.quorum,
            tenant_key: None,
        }
    }
}

/// The settings as the page shows them back ("what this page trusts"):
/// `{"log": "name+keyid", "witnesses": ["name+keyid"], "quorum": K,
/// "max_delay": "2d"}`, or the error naming the malformed setting.
pub fn describe(json: &str) -> Result<String, String> {
    let keys = Keys::from_json(json)?;
    let named = |v: &Verifier| format!("{}+{:08x}", v.name(), v.key_id());
    let settings: TrustSettings =
        serde_json::from_str(json).map_err(|e| format!("trust settings: {e}"))?;
    Ok(serde_json::json!({
        "log": named(&keys.log_key),
        "witnesses": keys.witnesses.iter().map(named).collect::<Vec<_>>(),
        "quorum": keys.quorum,
        "max_delay": settings.max_delay.unwrap_or_else(|| "2d".into()),
    })
    .to_string())
}

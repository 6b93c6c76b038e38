//! Locators: small per-tenant files a static mirror publishes beside its
//! tiles (`locator/<tenant>/<YYYY-MM>` and `locator/<tenant>/keys`, JSON,
//! docs/locators.md), so an auditor reading only the mirror finds one
//! tenant's statement without scanning every entry bundle, and gets the
//! earliest witnessed checkpoint covering it (the tight "logged by" bound).
//!
//! This module owns the two formats, their paths, and their parsing. The
//! publisher (`crate::publish`) writes them; the auditor
//! (`crate::client::Auditor`) reads them.
//!
//! Invariants a reader may rely on, and what it must not:
//!
//! - A locator is a hint, never evidence. Every entry it names is read from
//!   its entry bundle and proven included from the tiles; every checkpoint it
//!   carries is verified (log signature, witness quorum, consistency with the
//!   latest checkpoint, inclusion) before it bounds a time. A locator that
//!   lies can make an audit slower (it falls back to scanning) or its time
//!   bound looser, never make a wrong statement pass.
//! - The publisher writes a month's locator whole, atomically, listing only
//!   entries below the size of the checkpoint it is about to publish; it is
//!   written after that checkpoint's tiles and bundles and before the
//!   checkpoint itself. So between those two writes (or after a crash there,
//!   until the publisher retries) a locator may name an entry the published
//!   checkpoint does not cover yet: readers ignore such entries.
//! - `keys` lists the tenant's key-change entries below its `tree_size`; it
//!   is rewritten in every publishing step that publishes a key change of
//!   the tenant. Like the log API's tenant answer it is trusted for
//!   completeness in `--lookup auto`; `--lookup scan` reads every bundle.

use serde::{Deserialize, Serialize};

use crate::statement::{format_date, is_valid_tenant_id, parse_date};

/// The `locator` field of a month locator.
pub const MONTH_FORMAT: &str = "rootlog-locator/v1";
/// The `locator` field of a key-change locator.
pub const KEYS_FORMAT: &str = "rootlog-locator-keys/v1";
/// The directory of the locators in a mirror.
pub const DIR: &str = "locator";
/// Largest locator a reader accepts: 31 days, each with a checkpoint note
/// of at most 64 KiB, fit easily; anything larger is not a locator.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Where one tenant's statements of one month are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthLocator {
    /// Always [`MONTH_FORMAT`].
    pub locator: String,
    pub tenant: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The size of the checkpoint the publisher wrote this for: every listed
    /// index is below it.
    pub tree_size: u64,
    /// One per day that has a statement, in date order.
    pub days: Vec<LocatedDay>,
}

/// One day of a [`MonthLocator`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocatedDay {
    /// `YYYY-MM-DD`, within the locator's month.
    pub date: String,
    /// The statement's leaf index.
    pub index: u64,
    /// The earliest checkpoint covering the entry that meets the log's
    /// witness policy: the signed note with its cosignatures.
    pub checkpoint: String,
}

/// The indexes of one tenant's key-change entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLocator {
    /// Always [`KEYS_FORMAT`].
    pub locator: String,
    pub tenant: String,
    /// The size of the checkpoint the publisher wrote this for.
    pub tree_size: u64,
    /// Every key-change entry of the tenant below `tree_size`, ascending.
    pub key_changes: Vec<u64>,
}

/// `YYYY-MM` of a date.
pub fn month_of(date: time::Date) -> String {
    format_date(date)[..7].to_string()
}

/// Whether `month` is `YYYY-MM` of a real month.
fn is_month(month: &str) -> bool {
    month.len() == 7 && parse_date(&format!("{month}-01")).is_some()
}

/// The path of a month locator, relative to the locator directory.
pub fn month_file(tenant: &str, month: &str) -> String {
    format!("{tenant}/{month}")
}

/// The path of a key-change locator, relative to the locator directory.
pub fn keys_file(tenant: &str) -> String {
    format!("{tenant}/keys")
}

/// The URL path of a month locator below a mirror's prefix.
pub fn month_path(tenant: &str, month: &str) -> String {
    format!("{DIR}/{}", month_file(tenant, month))
}

/// The URL path of a key-change locator below a mirror's prefix.
pub fn keys_path(tenant: &str) -> String {
    format!("{DIR}/{}", keys_file(tenant))
}

impl MonthLocator {
    /// The locator as a file.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Parses a month locator fetched for (`tenant`, `month`): it must be of
    /// this format, name that tenant and month, and list each day once, in
    /// the month, in order. Nothing in it is verified here.
    pub fn parse(bytes: &[u8], tenant: &str, month: &str) -> Result<Self, String> {
        let locator: MonthLocator =
            serde_json::from_slice(bytes).map_err(|e| format!("not a month locator: {e}"))?;
        if locator.locator != MONTH_FORMAT {
            return Err(format!(
                "a locator of format {:?}, not {MONTH_FORMAT}",
                locator.locator
            ));
        }
        if locator.tenant != tenant || locator.month != month {
            return Err(format!(
                "it is the locator of {} {}, not of {tenant} {month}",
                locator.tenant, locator.month
            ));
        }
        let mut previous: Option<&str> = None;
        for day in &locator.days {
            let in_month = parse_date(&day.date)
                .is_some_and(|d| format_date(d) == day.date && day.date.starts_with(month));
            if !in_month || previous.is_some_and(|p| p >= day.date.as_str()) {
                return Err(format!(
                    "day {:?} is not a date of {month} after the one before it",
                    day.date
                ));
            }
            previous = Some(&day.date);
        }
        Ok(locator)
    }

    /// The day listed for `date`, if any.
    pub fn day(&self, date: time::Date) -> Option<&LocatedDay> {
        let date = format_date(date);
        self.days.iter().find(|d| d.date == date)
    }
}

impl KeyLocator {
    /// The locator as a file.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Parses a key-change locator fetched for `tenant`.
    pub fn parse(bytes: &[u8], tenant: &str) -> Result<Self, String> {
        let locator: KeyLocator =
            serde_json::from_slice(bytes).map_err(|e| format!("not a key-change locator: {e}"))?;
        if locator.locator != KEYS_FORMAT {
            return Err(format!(
                "a locator of format {:?}, not {KEYS_FORMAT}",
                locator.locator
            ));
        }
        if locator.tenant != tenant {
            return Err(format!(
                "it is the key-change locator of {}, not of {tenant}",
                locator.tenant
            ));
        }
        Ok(locator)
    }
}

/// Whether a (tenant, month) pair names a locator file that can exist:
/// tenant ids and months are path-safe by their syntax (no `/`, no leading
/// dot), which is what lets them be path components.
pub fn valid_name(tenant: &str, month: &str) -> bool {
    is_valid_tenant_id(tenant) && is_month(month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locator() -> MonthLocator {
        MonthLocator {
            locator: MONTH_FORMAT.into(),
            tenant: "acme".into(),
            month: "2026-11".into(),
            tree_size: 10,
            days: vec![
                LocatedDay {
                    date: "2026-11-02".into(),
                    index: 3,
                    checkpoint: "c".into(),
                },
                LocatedDay {
                    date: "2026-11-20".into(),
                    index: 7,
                    checkpoint: "c".into(),
                },
            ],
        }
    }

    #[test]
    fn a_month_locator_round_trips_and_is_checked_against_what_was_asked() {
        let l = locator();
        let bytes = l.to_json();
        assert_eq!(MonthLocator::parse(&bytes, "acme", "2026-11").unwrap(), l);
        let date = parse_date("2026-11-20").unwrap();
        assert_eq!(l.day(date).map(|d| d.index), Some(7));
        assert!(MonthLocator::parse(&bytes, "beta", "2026-11").is_err());
        assert!(MonthLocator::parse(&bytes, "acme", "2026-12").is_err());
        let mut other = l.clone();
        other.days[1].date = "2026-12-01".into();
        assert!(MonthLocator::parse(&other.to_json(), "acme", "2026-11").is_err());
        let mut other = l.clone();
        other.days.swap(0, 1);
        assert!(MonthLocator::parse(&other.to_json(), "acme", "2026-11").is_err());
        let mut other = l;
        other.locator = "something-else".into();
        assert!(MonthLocator::parse(&other.to_json(), "acme", "2026-11").is_err());
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(month_path("acme", "2026-11"), "locator/acme/2026-11");
        assert_eq!(keys_path("acme"), "locator/acme/keys");
        assert_eq!(month_of(parse_date("2026-01-31").unwrap()), "2026-01");
        assert!(valid_name("acme", "2026-11"));
        assert!(!valid_name("acme", "2026-13"));
        assert!(!valid_name("../x", "2026-11"));
        let keys = KeyLocator {
            locator: KEYS_FORMAT.into(),
            tenant: "acme".into(),
            tree_size: 5,
            key_changes: vec![0, 4],
        };
        assert_eq!(KeyLocator::parse(&keys.to_json(), "acme").unwrap(), keys);
        assert!(KeyLocator::parse(&keys.to_json(), "beta").is_err());
    }
}

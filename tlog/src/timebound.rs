//! When an entry was logged, as a bound others attest: pure functions over a
//! checkpoint note and the verifier's trust.
//!
//! A `cosignature/v1` line carries the time at which its signer saw the
//! checkpoint. Every entry a checkpoint covers was in the log by then. So
//! a checkpoint covering an entry, cosigned by trusted witnesses, bounds
//! when the entry was logged by the witnesses' word, not the log's:
//!
//! - with a K-of-N witness policy the bound is the K-th earliest valid
//!   timestamp among the trusted witnesses: any K-1 of them could lie about
//!   their time, the K-th could not without a K-th witness lying too;
//! - without witnesses (K = 0) the only clock is the log's own: it
//!   cosigns each checkpoint it makes at its integration time (with the
//!   `cosignature/v1` form of its own key), and the bound is that claim,
//!   labelled everywhere as the log's own.
//!
//! The earliest covering checkpoint gives the tightest bound; any later one
//! gives a looser but still valid one. A statement for day D is *late* when
//! its bound is after the end of D (UTC) plus the verifier's `max_delay`.

use crate::note::{Note, NoteSignature, Verifier};

/// Who attests a time bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attested {
    /// The K-th earliest of the trusted witnesses' timestamps (K = `quorum`).
    Witnesses { quorum: usize },
    /// The log's own cosignature: its claim, not independent evidence.
    LogClaim,
}

impl Attested {
    /// Stable name for JSON output: `witnesses` or `log_claim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Attested::Witnesses { .. } => "witnesses",
            Attested::LogClaim => "log_claim",
        }
    }
}

/// A time (Unix seconds, UTC) by which everything a checkpoint covers was
/// in the log, and who attests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound {
    pub time: u64,
    pub attested: Attested,
}

impl TimeBound {
    /// The time as RFC 3339, UTC, to the second.
    pub fn rfc3339(&self) -> String {
        rfc3339(self.time)
    }

    /// The bound in words: "2026-12-04T16:00:00Z (attested by 2 witnesses)".
    pub fn describe(&self) -> String {
        match self.attested {
            Attested::Witnesses { quorum } => format!(
                "{} (the {} earliest of the trusted witnesses' cosignature times)",
                self.rfc3339(),
                ordinal(quorum)
            ),
            Attested::LogClaim => format!(
                "{} (the log's own claim: no witness policy, so nobody else attests it)",
                self.rfc3339()
            ),
        }
    }
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

/// Unix seconds as RFC 3339 UTC (`1970-01-01T00:00:00Z` for out-of-range values).
pub fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// The time bound of a checkpoint `note` (already verified as the log's)
/// under the verifier's trust: `witnesses` (cosignature/v1 verifiers) with
/// `quorum`, or, with quorum 0, the log's own cosignature by `log_key`
/// (its 0x01 key; the cosignature form is derived). None when fewer than
/// `quorum` trusted witnesses left a valid timestamp, or (quorum 0) the log
/// did not timestamp this checkpoint.
pub fn logged_by(
    note: &Note,
    witnesses: &[Verifier],
    quorum: usize,
    log_key: &Verifier,
) -> Option<TimeBound> {
    bound(note, witnesses, quorum, log_key, |key, sig| {
        key.verify(note.text.as_bytes(), &sig.signature)
    })
}

/// [`logged_by`] without checking any signature: for a log reading its own
/// stored checkpoints, whose cosignatures it verified when it stored them
/// and whose own timestamp it wrote. A verifier never uses this.
pub fn logged_by_stored(
    note: &Note,
    witnesses: &[Verifier],
    quorum: usize,
    log_key: &Verifier,
) -> Option<TimeBound> {
    bound(note, witnesses, quorum, log_key, |_, _| true)
}

/// The one rule of both: the `quorum`-th earliest timestamp of the trusted
/// witnesses' cosignatures that `valid` accepts (or, with quorum 0, the
/// log's own).
fn bound(
    note: &Note,
    witnesses: &[Verifier],
    quorum: usize,
    log_key: &Verifier,
    valid: impl Fn(&Verifier, &NoteSignature) -> bool,
) -> Option<TimeBound> {
    let time_of = |key: &Verifier| {
        note.signatures.iter().find_map(|sig| {
            (key.matches(sig) && valid(key, sig))
                .then(|| key.cosignature_timestamp(sig))
                .flatten()
        })
    };
    if quorum == 0 {
        let time = time_of(&log_key.as_cosignature())?;
        return Some(TimeBound {
            time,
            attested: Attested::LogClaim,
        });
    }
    let mut times: Vec<u64> = witnesses.iter().filter_map(time_of).collect();
    if times.len() < quorum {
        return None;
    }
    times.sort_unstable();
    Some(TimeBound {
        time: times[quorum - 1],
        attested: Attested::Witnesses { quorum },
    })
}

/// How long after the end of its day a statement may be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxDelay {
    Seconds(u64),
    /// Late statements are accepted (and still reported as late).
    None,
}

impl MaxDelay {
    /// The default: two days.
    pub const DEFAULT: MaxDelay = MaxDelay::Seconds(2 * 86_400);

    /// Parses `none` or a duration such as `2d`, `36h`, `90m`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() == "none" {
            return Ok(MaxDelay::None);
        }
        parse_duration(text).map(MaxDelay::Seconds)
    }
}

/// Parses a duration of whole seconds: `7d`, `36h`, `90m`, `45s`, or
/// combinations such as `1d12h` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text.trim())
        .map(|d| d.as_secs())
        .map_err(|e| format!("{text:?} is not a duration such as 2d, 36h or 90m ({e}), nor none"))
}

/// Unix seconds at the end of `date` (the next day's midnight, UTC).
pub fn end_of_day(date: time::Date) -> u64 {
    let next = date.next_day().unwrap_or(date);
    let secs = next.midnight().assume_utc().unix_timestamp();
    u64::try_from(secs).unwrap_or(0)
}

/// Whether a statement for `date` logged by `bound` was on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    OnTime,
    /// Logged `by` seconds after the end of its day; `accepted` when the
    /// verifier's max delay is `none`.
    Late {
        after_day: u64,
        accepted: bool,
    },
}

/// Judges a statement for `date` logged by `bound` against `max_delay`.
pub fn timeliness(date: time::Date, bound: &TimeBound, max_delay: MaxDelay) -> Timeliness {
    let end = end_of_day(date);
    let after_day = bound.time.saturating_sub(end);
    match max_delay {
        MaxDelay::Seconds(limit) if after_day <= limit => Timeliness::OnTime,
        MaxDelay::Seconds(_) => Timeliness::Late {
            after_day,
            accepted: false,
        },
        MaxDelay::None if after_day <= MaxDelay::DEFAULT_SECONDS => Timeliness::OnTime,
        MaxDelay::None => Timeliness::Late {
            after_day,
            accepted: true,
        },
    }
}

impl MaxDelay {
    /// The default delay in seconds (what `none` still reports lateness against).
    pub const DEFAULT_SECONDS: u64 = 2 * 86_400;
}

/// A number of seconds in words: "3 days 4 hours", "17 minutes".
pub fn describe_seconds(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let unit = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match (d, h, m) {
        (0, 0, 0) => unit(secs, "second"),
        (0, 0, m) => unit(m, "minute"),
        (0, h, 0) => unit(h, "hour"),
        (0, h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
        (d, 0, _) => unit(d, "day"),
        (d, h, _) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;

    fn checkpoint(log: &Signer) -> Note {
        let mut note =
            Note::new("example.org/log\n3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n".into());
        note.signatures.push(log.sign(note.text.as_bytes()));
        note
    }

    #[test]
    fn the_kth_earliest_witness_time_bounds_it() {
        let log = Signer::generate("example.org/log").unwrap();
        let ws: Vec<Signer> = (0..3)
            .map(|i| Signer::generate(&format!("w{i}.example")).unwrap())
            .collect();
        let trusted: Vec<Verifier> = ws.iter().map(|w| w.cosignature_verifier()).collect();
        let mut note = checkpoint(&log);
        for (w, t) in ws.iter().zip([300u64, 100, 200]) {
            let sig = w.cosign(note.text.as_bytes(), t);
            note.signatures.push(sig);
        }
        let at = |k| logged_by(&note, &trusted, k, &log.verifier()).map(|b| b.time);
        assert_eq!((at(1), at(2), at(3)), (Some(100), Some(200), Some(300)));
        let stored = |k| logged_by_stored(&note, &trusted, k, &log.verifier()).map(|b| b.time);
        assert_eq!(
            (stored(1), stored(2), stored(3)),
            (Some(100), Some(200), Some(300))
        );
        // A witness outside the trusted set counts for nothing.
        assert_eq!(logged_by(&note, &trusted[..2], 3, &log.verifier()), None);
        // A tampered timestamp does not verify and is not counted.
        let mut forged = note.clone();
        forged.signatures[2].signature[7] ^= 1;
        assert_eq!(
            logged_by(&forged, &trusted, 2, &log.verifier()).map(|b| b.time),
            Some(300)
        );
    }

    #[test]
    fn without_witnesses_the_log_claims_its_time() {
        let log = Signer::generate("example.org/log").unwrap();
        let mut note = checkpoint(&log);
        assert_eq!(logged_by(&note, &[], 0, &log.verifier()), None);
        note.signatures
            .push(log.cosign(note.text.as_bytes(), 1_700_000_000));
        let bound = logged_by(&note, &[], 0, &log.verifier()).unwrap();
        assert_eq!(bound.attested, Attested::LogClaim);
        assert_eq!(bound.rfc3339(), "2023-11-14T22:13:20Z");
        // The log reading its own stored note gets the same bound unverified.
        assert_eq!(
            logged_by_stored(&note, &[], 0, &log.verifier()),
            Some(bound)
        );
    }

    #[test]
    fn late_means_after_the_day_plus_the_delay() {
        let day = time::macros::date!(2026 - 12 - 01);
        let end = end_of_day(day);
        let bound = |t| TimeBound {
            time: t,
            attested: Attested::LogClaim,
        };
        let two_days = MaxDelay::parse("2d").unwrap();
        assert_eq!(
            timeliness(day, &bound(end - 10), two_days),
            Timeliness::OnTime
        );
        assert_eq!(
            timeliness(day, &bound(end + 2 * 86_400), two_days),
            Timeliness::OnTime
        );
        assert_eq!(
            timeliness(day, &bound(end + 2 * 86_400 + 1), two_days),
            Timeliness::Late {
                after_day: 2 * 86_400 + 1,
                accepted: false
            }
        );
        assert_eq!(
            timeliness(day, &bound(end + 400 * 86_400), MaxDelay::None),
            Timeliness::Late {
                after_day: 400 * 86_400,
                accepted: true
            }
        );
        assert!(MaxDelay::parse("soon").is_err());
        assert_eq!(
            MaxDelay::parse("36h").unwrap(),
            MaxDelay::Seconds(36 * 3600)
        );
        assert_eq!(describe_seconds(90_061), "1 day 1 hour");
    }
}

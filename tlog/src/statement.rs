//! The daily-root statement (README, "The daily-root statement"; its rules
//! and error codes are `POST /v1/roots` in openapi.yaml): the log's leaf. A
//! signed note whose text is exactly
//!
//! ```text
//! daily-root/v1
//! tenant <tenant id>
//! date <YYYY-MM-DD>
//! records <decimal>
//! root <base64 32 bytes>
//! chain <decimal seq> <base64 32 bytes>   (optional)
//! ```
//!
//! This module parses and validates statements; it does no I/O. Uniqueness per
//! (tenant, date) and tenant registration are the store's business.

use crate::merkle::{Hash, EMPTY_ROOT};
use crate::note::{
    decode_hash_b64, encode_b64, open, parse_decimal_u64, Note, NoteError, Verifier, MAX_SIGNATURES,
};

/// The first line of every statement.
pub const FORMAT_LINE: &str = "daily-root/v1";
/// The largest whole note accepted.
pub const MAX_STATEMENT_BYTES: usize = 16 * 1024;

/// The archive's hash-chain head at the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: Hash,
}

/// A parsed statement text.
///
/// Invariant of parsed values: `tenant` is a valid tenant id, `date` has a
/// four-digit year, and `records == 0` implies `root == EMPTY_ROOT`; then
/// `parse_text(&s.to_text()) == Ok(s)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub tenant: String,
    pub date: time::Date,
    pub records: u64,
    pub root: Hash,
    pub chain: Option<ChainHead>,
}

/// Why a statement was refused. `code()` is the stable API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("statement is larger than {MAX_STATEMENT_BYTES} bytes")]
    TooLarge,
    #[error("malformed note: {0}")]
    MalformedNote(String),
    #[error("statement text: {0}")]
    BadFormat(String),
    #[error("two signature lines by the same key {name} ({key_id:08x})")]
    DuplicateSignature { name: String, key_id: u32 },
    #[error("bad date: {0}")]
    BadDate(String),
    #[error("stale date: {0}")]
    StaleDate(String),
    #[error("no signature by a registered key of tenant {0}")]
    Unsigned(String),
    #[error("signature by {0} does not verify")]
    BadSignature(String),
}

impl StatementError {
    /// Stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            StatementError::TooLarge => "statement_too_large",
            StatementError::MalformedNote(_) => "malformed_note",
            StatementError::BadFormat(_) => "bad_statement_format",
            StatementError::DuplicateSignature { .. } => "duplicate_signature",
            StatementError::BadDate(_) => "bad_date",
            StatementError::StaleDate(_) => "stale_date",
            StatementError::Unsigned(_) => "unsigned_statement",
            StatementError::BadSignature(_) => "bad_signature",
        }
    }
}

impl Statement {
    /// Parses statement text exactly (every line ends in '\n', no extra lines,
    /// canonical base64 and decimals, root = empty-tree hash when records = 0,
    /// valid tenant id, real calendar date).
    pub fn parse_text(text: &str) -> Result<Self, StatementError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad_format("the statement text must end in a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() != 5 && lines.len() != 6 {
            return Err(bad_format(&format!(
                "expected 5 or 6 lines (daily-root/v1, tenant, date, records, root, optional chain), got {}",
                lines.len()
            )));
        }
        if lines[0] != FORMAT_LINE {
            return Err(bad_format(&format!(
                "the first line must be {FORMAT_LINE:?}, got {:?}",
                lines[0]
            )));
        }
        // Each value is taken verbatim after "<keyword> ": an extra space,
        // a tab or a CR stays in the value and fails its strict check.
        let tenant = field(lines[1], "tenant")?;
        if !is_valid_tenant_id(tenant) {
            return Err(bad_format(&format!(
                "tenant id {tenant:?} must match [a-z0-9][a-z0-9._-]{{0,62}}"
            )));
        }
        let date_str = field(lines[2], "date")?;
        let date = parse_date(date_str).ok_or_else(|| {
            StatementError::BadDate(format!(
                "{date_str:?} is not a real calendar date written YYYY-MM-DD"
            ))
        })?;
        let records_str = field(lines[3], "records")?;
        let records = parse_decimal_u64(records_str).ok_or_else(|| {
            bad_format(&format!(
                "records {records_str:?} must be a decimal with no sign or leading zeros that fits in 64 bits"
            ))
        })?;
        let root = hash_field(field(lines[4], "root")?, "root")?;
        if records == 0 && root != EMPTY_ROOT {
            return Err(bad_format(&format!(
                "records is 0, so root must be the empty-tree hash {}",
                encode_b64(&EMPTY_ROOT)
            )));
        }
        let chain = match lines.get(5) {
            None => None,
            Some(line) => {
                let value = field(line, "chain")?;
                let (seq_str, hash_str) = value
                    .split_once(' ')
                    .ok_or_else(|| bad_format("chain must be \"chain <seq> <base64 hash>\""))?;
                let seq = parse_decimal_u64(seq_str).ok_or_else(|| {
                    bad_format(&format!(
                        "chain seq {seq_str:?} must be a decimal with no sign or leading zeros that fits in 64 bits"
                    ))
                })?;
                let hash = hash_field(hash_str, "chain hash")?;
                Some(ChainHead { seq, hash })
            }
        };
        Ok(Statement {
            tenant: tenant.to_string(),
            date,
            records,
            root,
            chain,
        })
    }

    /// The canonical text.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{FORMAT_LINE}\ntenant {}\ndate {}\nrecords {}\nroot {}\n",
            self.tenant,
            format_date(self.date),
            self.records,
            encode_b64(&self.root)
        );
        if let Some(chain) = &self.chain {
            out.push_str(&format!(
                "chain {} {}\n",
                chain.seq,
                encode_b64(&chain.hash)
            ));
        }
        out
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(&self) -> String {
        format_date(self.date)
    }
}

/// `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn is_valid_tenant_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= 63
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Parses `YYYY-MM-DD` (a real calendar date, four-digit year).
pub fn parse_date(s: &str) -> Option<time::Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

/// `YYYY-MM-DD`.
///
/// Years outside 0..=9999 (which `parse_date` never yields) do not round-trip.
pub fn format_date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses a submitted note structurally: size limit, note syntax, at most 100
/// signatures, no two lines by the same (name, key ID), and the statement text.
/// Signatures are not verified here.
pub fn parse_submission(bytes: &[u8]) -> Result<(Note, Statement), StatementError> {
    // First, so an oversized body costs nothing more.
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(StatementError::TooLarge);
    }
    let note = Note::parse(bytes).map_err(|e| match e {
        NoteError::Malformed(why) => StatementError::MalformedNote(why),
        other => StatementError::MalformedNote(other.to_string()),
    })?;
    // Note::parse enforces this already; kept so the rule stays local and visible.
    if note.signatures.len() > MAX_SIGNATURES {
        return Err(StatementError::MalformedNote(
            NoteError::TooManySignatures.to_string(),
        ));
    }
    for (i, sig) in note.signatures.iter().enumerate() {
        let duplicate = note.signatures[..i]
            .iter()
            .any(|earlier| earlier.name == sig.name && earlier.key_id == sig.key_id);
        if duplicate {
            return Err(StatementError::DuplicateSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
            });
        }
    }
    let statement = Statement::parse_text(&note.text)?;
    Ok((note, statement))
}

/// The date window: from 1970-01-01 to `today` + 1 day.
pub fn check_date(date: time::Date, today: time::Date) -> Result<(), StatementError> {
    let earliest = time::macros::date!(1970 - 01 - 01);
    if date < earliest {
        return Err(StatementError::BadDate(format!(
            "{} is before {}",
            format_date(date),
            format_date(earliest)
        )));
    }
    // At the end of the calendar `next_day` is None; then today is the limit.
    let latest = today.next_day().unwrap_or(today);
    if date > latest {
        return Err(StatementError::BadDate(format!(
            "{} is later than tomorrow ({}, UTC)",
            format_date(date),
            format_date(latest)
        )));
    }
    Ok(())
}

/// The log's age limit on statements: a day that ended more than
/// `max_age` seconds before `now` (Unix seconds) is refused, so an archive
/// cannot publish a skipped day long afterwards over rewritten records.
/// An archive joining the log publishes its history once, with the limit
/// turned off (`--max-statement-age none`); verifiers still report those
/// statements as late.
pub fn check_age(date: time::Date, now: u64, max_age: u64) -> Result<(), StatementError> {
    let ended = crate::timebound::end_of_day(date);
    if ended.saturating_add(max_age) < now {
        return Err(StatementError::StaleDate(format!(
            "{} ended {} ago, more than this log's --max-statement-age of {}; a day's root is published within days of its end (an archive joining the log publishes its history once with an operator who turned the limit off)",
            format_date(date),
            crate::timebound::describe_seconds(now - ended),
            crate::timebound::describe_seconds(max_age)
        )));
    }
    Ok(())
}

/// Signed-note rules against the tenant's registered keys: a registered key's
/// signature that fails rejects; at least one must verify; others are ignored.
/// Returns the canonical vkeys of the keys whose signatures verified.
pub fn verify_tenant_signatures(
    note: &Note,
    tenant: &str,
    keys: &[Verifier],
) -> Result<Vec<String>, StatementError> {
    match open(note, keys) {
        Ok(verified) => Ok(verified
            .iter()
            .filter_map(|&i| keys.iter().find(|k| k.matches(&note.signatures[i])))
            .map(Verifier::vkey)
            .collect()),
        Err(NoteError::InvalidSignature { name, .. }) => Err(StatementError::BadSignature(name)),
        Err(_) => Err(StatementError::Unsigned(tenant.to_string())),
    }
}

/// The value of a `<keyword> <value>` line.
fn field<'a>(line: &'a str, keyword: &str) -> Result<&'a str, StatementError> {
    line.strip_prefix(keyword)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| bad_format(&format!("expected a \"{keyword} \" line, got {line:?}")))
}

fn hash_field(value: &str, what: &str) -> Result<Hash, StatementError> {
    decode_hash_b64(value).ok_or_else(|| {
        bad_format(&format!(
            "{what} {value:?} must be canonical standard base64 of 32 bytes"
        ))
    })
}

fn bad_format(why: &str) -> StatementError {
    StatementError::BadFormat(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_grammar() {
        assert!(is_valid_tenant_id("a"));
        assert!(is_valid_tenant_id("0a._-"));
        assert!(is_valid_tenant_id(&"a".repeat(63)));
        assert!(!is_valid_tenant_id(&"a".repeat(64)));
        assert!(!is_valid_tenant_id(""));
        assert!(!is_valid_tenant_id("-a"));
        assert!(!is_valid_tenant_id("aB"));
    }

    #[test]
    fn dates_round_trip() {
        let d = parse_date("2000-02-29").unwrap();
        assert_eq!(format_date(d), "2000-02-29");
        assert_eq!(parse_date("1900-02-29"), None);
        assert_eq!(parse_date("2026-1-01"), None);
        assert_eq!(parse_date("२०२६-01-01"), None);
    }

    #[test]
    fn empty_day_statement() {
        let text = format!(
            "daily-root/v1\ntenant t\ndate 2026-01-01\nrecords 0\nroot {}\n",
            encode_b64(&EMPTY_ROOT)
        );
        let st = Statement::parse_text(&text).unwrap();
        assert_eq!(st.to_text(), text);
    }
}

//! The daily-root statement (DESIGN.md §4): the log's leaf. A signed note whose
//! text is exactly
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

use crate::merkle::Hash;
use crate::note::{Note, Verifier};

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
        let _ = text;
        todo!()
    }

    /// The canonical text.
    pub fn to_text(&self) -> String {
        todo!()
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(&self) -> String {
        format_date(self.date)
    }
}

/// `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn is_valid_tenant_id(id: &str) -> bool {
    let _ = id;
    todo!()
}

/// Parses `YYYY-MM-DD` (a real calendar date, four-digit year).
pub fn parse_date(s: &str) -> Option<time::Date> {
    let _ = s;
    todo!()
}

/// `YYYY-MM-DD`.
pub fn format_date(date: time::Date) -> String {
    let _ = date;
    todo!()
}

/// Parses a submitted note structurally: size limit, note syntax, at most 100
/// signatures, no two lines by the same (name, key ID), and the statement text.
/// Signatures are not verified here.
pub fn parse_submission(bytes: &[u8]) -> Result<(Note, Statement), StatementError> {
    let _ = bytes;
    todo!()
}

/// The date window: from 1970-01-01 to `today` + 1 day.
pub fn check_date(date: time::Date, today: time::Date) -> Result<(), StatementError> {
    let _ = (date, today);
    todo!()
}

/// Signed-note rules against the tenant's registered keys: a registered key's
/// signature that fails rejects; at least one must verify; others are ignored.
pub fn verify_tenant_signatures(
    note: &Note,
    tenant: &str,
    keys: &[Verifier],
) -> Result<(), StatementError> {
    let _ = (note, tenant, keys);
    todo!()
}

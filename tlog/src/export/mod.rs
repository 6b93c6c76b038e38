//! An archive's export manifest (`schema_version "1.0"`, see
//! docs/export-manifest.md) and what it must agree with: its own hash chain,
//! and, day by day, the tenant's daily-root statements in the log.
//!
//! This is what `rootlog verify-export` runs: an audit of the archive's
//! export (not of the log, which `rootlog::audit` checks online, nor one
//! statement, which [`crate::verify`] checks offline). It lives in the pure
//! core so that the auditor's page checks a dropped manifest by the same code.
//!
//! Pure: [`check_manifest`] turns a parsed manifest into what each day's
//! statement must say ([`DayExpectation`]) plus every internal problem;
//! [`check_manifest_json`] does the same from the file's bytes, fast (an
//! export of 10^7 records is gigabytes of JSON): the records array is read
//! in parallel runs, without allocating per record, and the roots are
//! computed on every core; both share the checks, so their results are the
//! same. [`compare_day`] compares one day with the statement the log holds.
//! Fetching and the log-side proofs are the caller's (`rootlog::client::Auditor`,
//! the page).
//!
//! Definitions relied on (the documentation repeats them):
//! - a record's day is the UTC calendar date of its `captured_at`;
//! - a day's root is the RFC 6962 root over that day's records in manifest
//!   (seq) order, each leaf being the 32 raw bytes of the record's `sha256`,
//!   so its leaf hash is SHA-256(0x00 || sha256) — what `rootlog root` computes;
//! - the chain head before the range is `range.prev_hash`; it may be left out
//!   only when the first record is the chain's genesis (seq 0 or 1), and then
//!   the first record's `prev_hash` must be 64 zeros.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use crate::merkle::{leaf_hash, Frontier, Hash};
use crate::note::encode_b64;
use crate::statement::{format_date, parse_date, Statement};

mod chain;
mod fields;
mod read;
mod roots;
pub mod verdict;

use chain::*;
pub use fields::to_hex;
use fields::*;
use read::*;
use roots::*;

/// The manifest version this module understands.
pub const SCHEMA_VERSION: &str = "1.0";

/// An export manifest. Fields not listed here are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema_version: String,
    pub tenant_id: String,
    pub range: Range,
    pub records: Vec<Record>,
    #[serde(default)]
    pub chain_proof: Option<ChainProof>,
}

/// The days the export covers, inclusive, and the chain head before them.
#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: String,
    /// Hex SHA-256 of the record just before the first one (the chain head
    /// before the range); may be omitted at the chain's genesis.
    #[serde(default)]
    pub prev_hash: Option<String>,
}

/// One archived record.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// Hex SHA-256 of the record.
    pub sha256: String,
    /// Hex SHA-256 of the previous record (64 zeros at genesis).
    pub prev_hash: String,
    /// RFC 3339 capture time; its UTC date is the record's day.
    pub captured_at: String,
}

/// The archive's claim about the end of the chain.
#[derive(Debug, Clone, Deserialize)]
pub struct ChainProof {
    pub head_seq: u64,
    /// Hex SHA-256 of the last record.
    pub head_hash: String,
    /// Hex RFC 6962 root over every record of the export, in order.
    #[serde(default)]
    pub merkle_root: Option<String>,
    /// Where the daily roots were published (informational).
    #[serde(default)]
    pub published_to: Option<String>,
}

/// The archive's hash-chain head at some point: a record's seq and sha256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

/// What the tenant's statement for one day must say, from the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayExpectation {
    pub date: time::Date,
    pub records: u64,
    pub root: Hash,
    /// The chain head at the end of the day (the last record captured on
    /// or before it), if the chain has started by then.
    pub head: Option<Head>,
}

/// The manifest, checked on its own.
#[derive(Debug, Clone)]
pub struct ManifestCheck {
    pub tenant: String,
    pub from: time::Date,
    pub to: time::Date,
    /// Every day of the range, in order, with what its statement must say.
    pub days: Vec<DayExpectation>,
    /// Problems found in the manifest itself, in record order.
    pub problems: Vec<String>,
}

/// The manifest cannot be checked at all (as opposed to checked and found wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

/// The longest range accepted, so a typo in a date cannot ask for decades of lookups.
pub const MAX_DAYS: i64 = 3660;

/// The manifest's fields besides its records, as read by [`check_manifest_json`].
#[derive(Debug, Clone)]
pub struct ManifestHeader {
    pub schema_version: String,
    pub tenant_id: String,
    pub range: Range,
    pub chain_proof: Option<ChainProof>,
    /// How many records it lists, and the first and last one's seq.
    pub records: usize,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

/// Why a manifest could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not JSON of the manifest's shape.
    #[error("{0}")]
    Json(String),
    /// JSON of the right shape whose header cannot be checked.
    #[error("{0}")]
    Manifest(ManifestError),
}

/// Checks the manifest's own consistency and computes each day's expectation.
pub fn check_manifest(m: &Manifest) -> Result<ManifestCheck, ManifestError> {
    let mut span = Span::default();
    for r in &m.records {
        span.push(&RecordRef {
            seq: r.seq,
            sha256: Cow::Borrowed(&r.sha256),
            prev_hash: Cow::Borrowed(&r.prev_hash),
            captured_at: Cow::Borrowed(&r.captured_at),
        });
    }
    let header = ManifestHeader {
        schema_version: m.schema_version.clone(),
        tenant_id: m.tenant_id.clone(),
        range: m.range.clone(),
        chain_proof: m.chain_proof.clone(),
        records: m.records.len(),
        first_seq: m.records.first().map(|r| r.seq),
        last_seq: m.records.last().map(|r| r.seq),
    };
    join(&header, vec![span.close()], 1)
}

/// Reads a manifest file (JSON, docs/export-manifest.md) and checks it as
/// [`check_manifest`] does, using up to `threads` threads: the records are
/// read in parallel runs (split where a record starts, each split verified
/// by the run before it, see [`read_records`]), days' roots and the root
/// over all records computed in parallel. The result is the same for any
/// number of threads.
pub fn check_manifest_json(
    bytes: &[u8],
    threads: usize,
) -> Result<(ManifestHeader, ManifestCheck), LoadError> {
    let (header, spans) =
        read_manifest(bytes, threads.max(1), SPLIT_MIN).map_err(LoadError::Json)?;
    let check = join(&header, spans, threads.max(1)).map_err(LoadError::Manifest)?;
    Ok((header, check))
}

/// Compares a day's expectation with the statement the log holds for it
/// (already proven to be in the log); returns every disagreement.
pub fn compare_day(expected: &DayExpectation, statement: &Statement) -> Vec<String> {
    let date = format_date(expected.date);
    let mut out = Vec::new();
    if statement.records != expected.records {
        out.push(format!(
            "{date}: the log's statement says {} records but the export has {}",
            statement.records, expected.records
        ));
    }
    if statement.root != expected.root {
        out.push(format!(
            "{date}: root in the log is {} but the records give {}",
            encode_b64(&statement.root),
            encode_b64(&expected.root)
        ));
    }
    match (&statement.chain, &expected.head) {
        (Some(chain), Some(head)) => {
            if chain.seq != head.seq || chain.hash != head.hash {
                out.push(format!(
                    "{date}: the log's chain line is seq {} hash {} but the export's chain head at the end of the day is seq {} hash {}",
                    chain.seq,
                    to_hex(&chain.hash),
                    head.seq,
                    to_hex(&head.hash)
                ));
            }
        }
        (Some(chain), None) => out.push(format!(
            "{date}: the log's chain line is seq {} but the export has no record on or before this day",
            chain.seq
        )),
        (None, Some(head)) if expected.records > 0 => out.push(format!(
            "{date}: the log's statement has no chain line, so it does not pin the export's chain head (seq {})",
            head.seq
        )),
        (None, _) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::ChainHead;
    use sha2::{Digest, Sha256};

    /// A valid manifest: `n` records over two days from genesis.
    fn manifest(n: u64) -> Manifest {
        let mut records = Vec::new();
        let mut prev = ZERO_HASH;
        for seq in 1..=n {
            let sha: Hash = Sha256::digest(format!("message {seq}")).into();
            let hour = if seq <= n / 2 {
                "2026-11-23T10"
            } else {
                "2026-11-24T10"
            };
            records.push(Record {
                seq,
                sha256: to_hex(&sha),
                prev_hash: to_hex(&prev),
                captured_at: format!("{hour}:00:{:02}Z", seq % 60),
            });
            prev = sha;
        }
        Manifest {
            schema_version: "1.0".into(),
            tenant_id: "acme".into(),
            range: Range {
                from: "2026-11-23".into(),
                to: "2026-11-24".into(),
                prev_hash: None,
            },
            chain_proof: Some(ChainProof {
                head_seq: n,
                head_hash: to_hex(&prev),
                merkle_root: None,
                published_to: None,
            }),
            records,
        }
    }

    #[test]
    fn a_valid_manifest_has_no_problems_and_the_expected_days() {
        let m = manifest(10);
        let check = check_manifest(&m).unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!(check.days.len(), 2);
        assert_eq!(check.days[0].records, 5);
        assert_eq!(check.days[0].head.map(|h| h.seq), Some(5));
        assert_eq!(check.days[1].head.map(|h| h.seq), Some(10));
        let statement = Statement {
            tenant: "acme".into(),
            date: check.days[1].date,
            records: 5,
            root: check.days[1].root,
            chain: check.days[1].head.map(|h| ChainHead {
                seq: h.seq,
                hash: h.hash,
            }),
        };
        assert!(compare_day(&check.days[1], &statement).is_empty());
        let other = Statement {
            root: check.days[0].root,
            ..statement
        };
        let problems = compare_day(&check.days[1], &other);
        assert!(
            problems[0].starts_with("2026-11-24: root in the log is"),
            "{problems:?}"
        );
    }

    /// What the fast reader makes of `json`, read with `threads` threads and
    /// every manifest split (no minimum size), as comparable data.
    fn fast(json: &[u8], threads: usize) -> Result<(Vec<DayExpectation>, Vec<String>), String> {
        let (header, spans) = read_manifest(json, threads, 0)?;
        let check = join(&header, spans, threads).map_err(|e| e.0)?;
        Ok((check.days, check.problems))
    }

    fn serde_path(json: &[u8]) -> Result<(Vec<DayExpectation>, Vec<String>), String> {
        let m: Manifest = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let check = check_manifest(&m).map_err(|e| e.0)?;
        Ok((check.days, check.problems))
    }

    fn to_json(m: &Manifest, extra: Option<&str>) -> Vec<u8> {
        let records: Vec<serde_json::Value> = m
            .records
            .iter()
            .map(|r| {
                let mut v = serde_json::json!({
                    "seq": r.seq, "sha256": r.sha256, "prev_hash": r.prev_hash,
                    "captured_at": r.captured_at,
                });
                if let Some(extra) = extra {
                    v["note"] = serde_json::Value::from(extra);
                }
                v
            })
            .collect();
        let cp = m.chain_proof.as_ref().unwrap();
        serde_json::to_vec_pretty(&serde_json::json!({
            "schema_version": m.schema_version,
            "tenant_id": m.tenant_id,
            "range": { "from": m.range.from, "to": m.range.to },
            "records": records,
            "chain_proof": { "head_seq": cp.head_seq, "head_hash": cp.head_hash, "merkle_root": cp.merkle_root },
            "generated_by": { "nested": [1, 2, {"x": "}, {"}] },
        }))
        .unwrap()
    }

    #[test]
    fn the_parallel_reader_agrees_with_serde_for_any_split() {
        let mut m = manifest(300);
        let all: Vec<Hash> = m
            .records
            .iter()
            .map(|r| leaf_hash(&hex_hash(&r.sha256).unwrap()))
            .collect();
        let mut tree = Frontier::new();
        for leaf in &all {
            tree.append(*leaf, |_, _| {});
        }
        m.chain_proof.as_mut().unwrap().merkle_root = Some(to_hex(&tree.root()));
        let mut variants = vec![to_json(&m, None)];
        // Strings that look like record boundaries, to mislead the cuts.
        variants.push(to_json(&m, Some("a}, {\"seq\": 1, \"sha256\": \"\"}, {")));
        variants.push(to_json(&m, Some("}\n,\n{")));
        let mut tampered = m.clone();
        tampered.records.swap(100, 101);
        tampered.records[200].captured_at = "2026-11-30T10:00:00Z".into();
        tampered.records[250].captured_at = "2026-11-24T10:00:00+05:00".into();
        tampered.records[7].sha256 = "zz".into();
        variants.push(to_json(&tampered, Some("},{")));
        for json in &variants {
            let expected = serde_path(json).unwrap();
            for threads in [1, 2, 3, 7, 64] {
                assert_eq!(fast(json, threads).unwrap(), expected, "{threads} threads");
            }
        }
        let problems = serde_path(&variants[3]).unwrap().1;
        assert!(
            problems.iter().any(|p| p.contains("(position 102)")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("outside the range")),
            "{problems:?}"
        );
        // Not JSON of the shape: refused by both, never half-read.
        for bad in [
            &b"{\"records\": [}"[..],
            b"[]",
            b"{\"schema_version\": \"1.0\", \"schema_version\": \"1.0\"}",
            b"{} x",
        ] {
            assert!(fast(bad, 2).is_err());
            assert!(serde_path(bad).is_err());
        }
    }

    #[test]
    fn the_direct_date_path_agrees_with_time() {
        for text in [
            "2026-11-20T00:00:00Z",
            "2026-11-20T23:59:59Z",
            "2024-02-29T12:00:00Z",
            "2026-02-29T12:00:00Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T10:00:60Z",
            "2026-11-20T10:00:00z",
            "2026-11-20T23:00:00-02:00",
            "2026-13-01T00:00:00Z",
            "2026-11-20 00:00:00Z",
        ] {
            let by_time = time::OffsetDateTime::parse(text, &Rfc3339)
                .ok()
                .map(|t| t.to_offset(time::UtcOffset::UTC).date());
            assert_eq!(utc_day(text), by_time, "{text}");
        }
    }

    #[test]
    fn tampering_is_named() {
        let mut m = manifest(10);
        m.records[3].sha256 = to_hex(&[7u8; 32]);
        let p = check_manifest(&m).unwrap().problems;
        assert!(
            p.contains(&"record seq 5: prev_hash does not match seq 4's sha256".to_string()),
            "{p:?}"
        );

        let mut m = manifest(10);
        m.records.remove(4);
        let p = check_manifest(&m).unwrap().problems;
        assert!(
            p.contains(&"record seq 6: follows seq 4, so seq 5 is missing".to_string()),
            "{p:?}"
        );

        let mut m = manifest(10);
        m.records.swap(2, 3);
        let p = check_manifest(&m).unwrap().problems;
        assert!(
            p.iter()
                .any(|x| x.starts_with("record seq 3 (position 4): follows seq 4")),
            "{p:?}"
        );

        let mut m = manifest(10);
        m.range.from = "2026-11-24".into();
        let p = check_manifest(&m).unwrap().problems;
        assert!(p.iter().any(|x| x.contains("outside the range")), "{p:?}");

        let mut m = manifest(10);
        m.records.remove(0);
        let p = check_manifest(&m).unwrap().problems;
        assert!(
            p.iter()
                .any(|x| x.starts_with("range.prev_hash is missing")),
            "{p:?}"
        );

        let mut m = manifest(3);
        m.schema_version = "2.0".into();
        assert!(check_manifest(&m).is_err());
    }
}

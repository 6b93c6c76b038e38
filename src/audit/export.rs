//! An archive's export manifest (`schema_version "1.0"`, see
//! docs/export-manifest.md) and what it must agree with: its own hash chain,
//! and, day by day, the tenant's daily-root statements in the log.
//!
//! Pure: [`check_manifest`] turns a parsed manifest into what each day's
//! statement must say ([`DayExpectation`]) plus every internal problem;
//! [`compare_day`] compares one day with the statement the log holds.
//! Fetching and the log-side proofs are the caller's (`client::Auditor`).
//!
//! Definitions relied on (the documentation repeats them):
//! - a record's day is the UTC calendar date of its `captured_at`;
//! - a day's root is the RFC 6962 root over that day's records in manifest
//!   (seq) order, each leaf being the 32 raw bytes of the record's `sha256`,
//!   so its leaf hash is SHA-256(0x00 || sha256) — what `rootlog root` computes;
//! - the chain head before the range is `range.prev_hash`; it may be left out
//!   only when the first record is the chain's genesis (seq 0 or 1), and then
//!   the first record's `prev_hash` must be 64 zeros.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use crate::merkle::{leaf_hash, Frontier, Hash};
use crate::note::encode_b64;
use crate::statement::{format_date, parse_date, Statement};

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

const ZERO_HASH: Hash = [0u8; 32];

fn hex_hash(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

/// Lower-case hex of a hash, as the manifest writes them.
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// Checks the manifest's own consistency and computes each day's expectation.
pub fn check_manifest(m: &Manifest) -> Result<ManifestCheck, ManifestError> {
    if m.schema_version != SCHEMA_VERSION {
        return Err(ManifestError(format!(
            "schema_version {:?} is not supported (this verifier reads {SCHEMA_VERSION:?})",
            m.schema_version
        )));
    }
    if !crate::statement::is_valid_tenant_id(&m.tenant_id) {
        return Err(ManifestError(format!(
            "tenant_id {:?} is not a valid tenant id",
            m.tenant_id
        )));
    }
    let date = |what: &str, s: &str| {
        parse_date(s).ok_or_else(|| ManifestError(format!("{what} {s:?} is not a date YYYY-MM-DD")))
    };
    let from = date("range.from", &m.range.from)?;
    let to = date("range.to", &m.range.to)?;
    if to < from {
        return Err(ManifestError(format!(
            "range.to {} is before range.from {}",
            m.range.to, m.range.from
        )));
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(ManifestError(format!(
            "the range {}..{} is longer than {MAX_DAYS} days",
            m.range.from, m.range.to
        )));
    }

    let mut problems = Vec::new();
    let range_prev = match &m.range.prev_hash {
        Some(text) => match hex_hash(text) {
            Some(h) => Some(h),
            None => {
                problems.push(format!("range.prev_hash {text:?} is not 64 hex digits"));
                None
            }
        },
        None => None,
    };

    // Records by day, in manifest order; and the chain walk.
    let mut by_day: BTreeMap<time::Date, Vec<(u64, Hash)>> = BTreeMap::new();
    let mut everything = Frontier::new();
    let mut previous: Option<(u64, Hash)> = None;
    for (position, record) in m.records.iter().enumerate() {
        let seq = record.seq;
        let sha = hex_hash(&record.sha256);
        if sha.is_none() {
            problems.push(format!(
                "record seq {seq}: sha256 {:?} is not 64 hex digits",
                record.sha256
            ));
        }
        let prev_hash = hex_hash(&record.prev_hash);
        if prev_hash.is_none() {
            problems.push(format!(
                "record seq {seq}: prev_hash {:?} is not 64 hex digits",
                record.prev_hash
            ));
        }
        match previous {
            None => {
                // The first record links to the head before the range.
                match (range_prev, seq) {
                    (Some(expected), _) => {
                        if prev_hash.is_some_and(|p| p != expected) {
                            problems.push(format!(
                                "record seq {seq}: prev_hash does not match range.prev_hash (the chain head before the range)"
                            ));
                        }
                    }
                    (None, 0 | 1) => {
                        if prev_hash.is_some_and(|p| p != ZERO_HASH) {
                            problems.push(format!(
                                "record seq {seq}: the chain's first record must have a prev_hash of 64 zeros (or give range.prev_hash)"
                            ));
                        }
                    }
                    (None, _) => problems.push(format!(
                        "range.prev_hash is missing: the first record (seq {seq}) is not the chain's genesis, so the chain head before the range must be given"
                    )),
                }
            }
            Some((prev_seq, prev_sha)) => {
                if prev_seq.checked_add(1) != Some(seq) {
                    if seq > prev_seq {
                        let missing = if seq - prev_seq == 2 {
                            format!("seq {} is missing", prev_seq + 1)
                        } else {
                            format!("seqs {}..={} are missing", prev_seq + 1, seq - 1)
                        };
                        problems.push(format!(
                            "record seq {seq}: follows seq {prev_seq}, so {missing}"
                        ));
                    } else {
                        problems.push(format!(
                            "record seq {seq} (position {}): follows seq {prev_seq}; seq numbers must increase by one",
                            position + 1
                        ));
                    }
                }
                if prev_hash.is_some_and(|p| p != prev_sha) {
                    problems.push(format!(
                        "record seq {seq}: prev_hash does not match seq {prev_seq}'s sha256"
                    ));
                }
            }
        }
        let day = match time::OffsetDateTime::parse(&record.captured_at, &Rfc3339) {
            Ok(t) => Some(t.to_offset(time::UtcOffset::UTC).date()),
            Err(_) => {
                problems.push(format!(
                    "record seq {seq}: captured_at {:?} is not an RFC 3339 time",
                    record.captured_at
                ));
                None
            }
        };
        let sha = sha.unwrap_or(ZERO_HASH);
        if let Some(day) = day {
            if day < from || day > to {
                problems.push(format!(
                    "record seq {seq}: captured on {} (UTC), outside the range {}..{}",
                    format_date(day),
                    m.range.from,
                    m.range.to
                ));
            } else {
                by_day.entry(day).or_default().push((seq, sha));
            }
        }
        everything.append(leaf_hash(&sha), |_, _| {});
        previous = Some((seq, sha));
    }

    if let Some(cp) = &m.chain_proof {
        match previous {
            Some((seq, sha)) => {
                if cp.head_seq != seq {
                    problems.push(format!(
                        "chain_proof.head_seq is {} but the last record is seq {seq}",
                        cp.head_seq
                    ));
                }
                if hex_hash(&cp.head_hash) != Some(sha) {
                    problems.push(format!(
                        "chain_proof.head_hash does not match the last record's (seq {seq}) sha256"
                    ));
                }
            }
            None => {
                if range_prev.is_some_and(|p| hex_hash(&cp.head_hash) != Some(p)) {
                    problems.push(
                        "chain_proof.head_hash does not match range.prev_hash in an export without records".into(),
                    );
                }
            }
        }
        if let Some(root) = &cp.merkle_root {
            if hex_hash(root) != Some(everything.root()) {
                problems.push(format!(
                    "chain_proof.merkle_root is {root} but the records give {}",
                    to_hex(&everything.root())
                ));
            }
        }
    }

    // Each day's expectation; the chain head carries over days without records.
    let mut head = match (range_prev, m.records.first()) {
        (Some(hash), Some(first)) if first.seq > 0 => Some(Head {
            seq: first.seq - 1,
            hash,
        }),
        _ => None,
    };
    let mut days = Vec::new();
    let mut day = from;
    loop {
        let records = by_day.get(&day).map(Vec::as_slice).unwrap_or_default();
        let mut tree = Frontier::new();
        for (seq, sha) in records {
            tree.append(leaf_hash(sha), |_, _| {});
            head = Some(Head {
                seq: *seq,
                hash: *sha,
            });
        }
        days.push(DayExpectation {
            date: day,
            records: tree.size(),
            root: tree.root(),
            head,
        });
        match day.next_day() {
            Some(next) if next <= to => day = next,
            _ => break,
        }
    }
    Ok(ManifestCheck {
        tenant: m.tenant_id.clone(),
        from,
        to,
        days,
        problems,
    })
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

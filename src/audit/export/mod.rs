//! An archive's export manifest (`schema_version "1.0"`, see
//! docs/export-manifest.md) and what it must agree with: its own hash chain,
//! and, day by day, the tenant's daily-root statements in the log.
//!
//! Pure: [`check_manifest`] turns a parsed manifest into what each day's
//! statement must say ([`DayExpectation`]) plus every internal problem;
//! [`check_manifest_json`] does the same from the file's bytes, fast (an
//! export of 10^7 records is gigabytes of JSON): the records array is read
//! in parallel runs, without allocating per record, and the roots are
//! computed on every core; both share the checks, so their results are the
//! same. [`compare_day`] compares one day with the statement the log holds.
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

use std::borrow::Cow;
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

/// Hex digit values by byte; 0xFF for a byte that is not a hex digit.
const HEX: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// 64 hex digits (either case) as a hash.
fn hex_hash(text: &str) -> Option<Hash> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let (hi, lo) = (HEX[usize::from(b[2 * i])], HEX[usize::from(b[2 * i + 1])]);
        if (hi | lo) & 0xF0 != 0 {
            return None;
        }
        *byte = hi << 4 | lo;
    }
    Some(out)
}

/// Lower-case hex of a hash, as the manifest writes them.
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// Two ASCII digits as a number.
fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

/// The UTC date of an RFC 3339 time. The form archives write,
/// `YYYY-MM-DDTHH:MM:SSZ`, is read directly (the date is the text's own);
/// any other form (offsets, fractions, lower case) goes through `time`'s
/// full RFC 3339 parser, which also decides everything the direct path
/// does not accept.
fn utc_day(text: &str) -> Option<time::Date> {
    let b = text.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let year = b[..4].iter().try_fold(0i32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0'))
        });
        let fields = (
            year,
            two_digits(&b[5..7]),
            two_digits(&b[8..10]),
            two_digits(&b[11..13]),
            two_digits(&b[14..16]),
            two_digits(&b[17..19]),
        );
        if let (Some(y), Some(m), Some(d), Some(h), Some(min), Some(sec)) = fields {
            if h < 24 && min < 60 && sec < 60 {
                if let Some(date) = time::Month::try_from(m)
                    .ok()
                    .and_then(|m| time::Date::from_calendar_date(y, m, d).ok())
                {
                    return Some(date);
                }
            }
        }
    }
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
}

/// A record as read, its strings borrowed from the manifest's bytes when
/// they hold no escapes. Fields not listed are ignored.
#[derive(Deserialize)]
struct RecordRef<'a> {
    seq: u64,
    #[serde(borrow)]
    sha256: Cow<'a, str>,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    captured_at: Cow<'a, str>,
}

/// A problem found while reading records, before its record's place in
/// the whole manifest is known.
enum Pending {
    Text(String),
    /// `seq` follows `prev_seq` but is not larger (the message names the
    /// record's position, 1-based, in the manifest).
    Order {
        seq: u64,
        prev_seq: u64,
    },
}

/// The order of a record's problems in the list: by record, then this.
const PHASE_SHA: u8 = 0;
const PHASE_PREV: u8 = 1;
const PHASE_LINK: u8 = 2;
const PHASE_TIME: u8 = 3;
const PHASE_RANGE: u8 = 4;

/// What a run of consecutive records comes to, checked on its own: each
/// record's hashes, day and leaf hash, and the chain between its records.
/// The link of its first record to the record before the run is checked
/// when runs are joined ([`join`]), so runs can be read in parallel.
#[derive(Default)]
struct Span {
    /// Each record's leaf hash, `SHA-256(0x00 || sha256)`.
    leaves: Vec<Hash>,
    /// The records' UTC days (None: `captured_at` unreadable), as runs of
    /// (day, how many consecutive records have it). Runs, not one entry per
    /// record: every byte stored per record is fresh memory, which is a
    /// large share of reading a big manifest.
    days: Vec<(Option<time::Date>, usize)>,
    /// The records' seqs as runs of (first seq, count) of consecutive seqs.
    seqs: Vec<(u64, usize)>,
    /// The first record's seq and prev_hash.
    first: Option<(u64, Option<Hash>)>,
    /// The last record's seq and sha256 (zeros if unreadable).
    last: Option<(u64, Hash)>,
    /// (record index within the run, phase, problem).
    problems: Vec<(usize, u8, Pending)>,
    /// Per day, the last record of that day in this run.
    heads: BTreeMap<time::Date, (u64, Hash)>,
    /// The day of the run's latest records, not yet in `heads`.
    current: Option<(time::Date, u64, Hash)>,
}

/// The chain link from the record `(prev_seq, prev_sha)` to the record
/// `seq` whose prev_hash is `prev_hash`.
fn link(prev: (u64, Hash), seq: u64, prev_hash: Option<Hash>) -> Vec<Pending> {
    let (prev_seq, prev_sha) = prev;
    let mut out = Vec::new();
    if prev_seq.checked_add(1) != Some(seq) {
        if seq > prev_seq {
            let missing = if seq - prev_seq == 2 {
                format!("seq {} is missing", prev_seq + 1)
            } else {
                format!("seqs {}..={} are missing", prev_seq + 1, seq - 1)
            };
            out.push(Pending::Text(format!(
                "record seq {seq}: follows seq {prev_seq}, so {missing}"
            )));
        } else {
            out.push(Pending::Order { seq, prev_seq });
        }
    }
    if prev_hash.is_some_and(|p| p != prev_sha) {
        out.push(Pending::Text(format!(
            "record seq {seq}: prev_hash does not match seq {prev_seq}'s sha256"
        )));
    }
    out
}

impl Span {
    fn push(&mut self, record: &RecordRef<'_>) {
        let i = self.leaves.len();
        let seq = record.seq;
        let sha = hex_hash(&record.sha256);
        if sha.is_none() {
            let text = format!(
                "record seq {seq}: sha256 {:?} is not 64 hex digits",
                record.sha256
            );
            self.problems.push((i, PHASE_SHA, Pending::Text(text)));
        }
        let prev_hash = hex_hash(&record.prev_hash);
        if prev_hash.is_none() {
            let text = format!(
                "record seq {seq}: prev_hash {:?} is not 64 hex digits",
                record.prev_hash
            );
            self.problems.push((i, PHASE_PREV, Pending::Text(text)));
        }
        match self.last {
            None => self.first = Some((seq, prev_hash)),
            Some(prev) => {
                for p in link(prev, seq, prev_hash) {
                    self.problems.push((i, PHASE_LINK, p));
                }
            }
        }
        let day = utc_day(&record.captured_at);
        if day.is_none() {
            let text = format!(
                "record seq {seq}: captured_at {:?} is not an RFC 3339 time",
                record.captured_at
            );
            self.problems.push((i, PHASE_TIME, Pending::Text(text)));
        }
        let sha = sha.unwrap_or(ZERO_HASH);
        self.leaves.push(leaf_hash(&sha));
        match self.days.last_mut() {
            Some((d, n)) if *d == day => *n += 1,
            _ => self.days.push((day, 1)),
        }
        match self.seqs.last_mut() {
            Some((first, n)) if first.checked_add(*n as u64) == Some(seq) => *n += 1,
            _ => self.seqs.push((seq, 1)),
        }
        if let Some(day) = day {
            if let Some((d, s, h)) = self.current.filter(|c| c.0 != day) {
                self.heads.insert(d, (s, h));
            }
            self.current = Some((day, seq, sha));
        }
        self.last = Some((seq, sha));
    }

    /// The seq of the record at `index` within the run.
    fn seq_at(&self, index: usize) -> u64 {
        let mut start = 0;
        for &(first, count) in &self.seqs {
            if index < start + count {
                return first + (index - start) as u64;
            }
            start += count;
        }
        0
    }

    /// Ends the run: its latest day's head joins the others.
    fn close(mut self) -> Self {
        if let Some((d, s, h)) = self.current.take() {
            self.heads.insert(d, (s, h));
        }
        self
    }
}

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

/// Checks the header, joins the runs of records in order (the link between
/// runs, positions, the range), and computes each day's expectation.
fn join(
    m: &ManifestHeader,
    spans: Vec<Span>,
    threads: usize,
) -> Result<ManifestCheck, ManifestError> {
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

    // Every record's problems in record order, the runs' links included.
    let mut pending: Vec<(usize, u8, Pending)> = Vec::new();
    let mut offset = 0usize;
    let mut previous: Option<(u64, Hash)> = None;
    for span in &spans {
        if let Some((seq, prev_hash)) = span.first {
            let links = match previous {
                Some(prev) => link(prev, seq, prev_hash),
                // The very first record links to the head before the range.
                None => match (range_prev, seq) {
                    (Some(expected), _) => {
                        if prev_hash.is_some_and(|p| p != expected) {
                            vec![Pending::Text(format!(
                                "record seq {seq}: prev_hash does not match range.prev_hash (the chain head before the range)"
                            ))]
                        } else {
                            Vec::new()
                        }
                    }
                    (None, 0 | 1) => {
                        if prev_hash.is_some_and(|p| p != ZERO_HASH) {
                            vec![Pending::Text(format!(
                                "record seq {seq}: the chain's first record must have a prev_hash of 64 zeros (or give range.prev_hash)"
                            ))]
                        } else {
                            Vec::new()
                        }
                    }
                    (None, _) => vec![Pending::Text(format!(
                        "range.prev_hash is missing: the first record (seq {seq}) is not the chain's genesis, so the chain head before the range must be given"
                    ))],
                },
            };
            pending.extend(links.into_iter().map(|p| (offset, PHASE_LINK, p)));
        }
        for (i, phase, p) in &span.problems {
            let p = match p {
                Pending::Text(t) => Pending::Text(t.clone()),
                Pending::Order { seq, prev_seq } => Pending::Order {
                    seq: *seq,
                    prev_seq: *prev_seq,
                },
            };
            pending.push((offset + i, *phase, p));
        }
        let mut start = 0;
        for &(day, count) in &span.days {
            let first = start;
            start += count;
            let Some(day) = day.filter(|d| *d < from || *d > to) else {
                continue;
            };
            for i in first..first + count {
                let seq = span.seq_at(i);
                pending.push((
                    offset + i,
                    PHASE_RANGE,
                    Pending::Text(format!(
                        "record seq {seq}: captured on {} (UTC), outside the range {}..{}",
                        format_date(day),
                        m.range.from,
                        m.range.to
                    )),
                ));
            }
        }
        offset += span.leaves.len();
        previous = span.last.or(previous);
    }
    pending.sort_by_key(|(i, phase, _)| (*i, *phase));
    problems.extend(pending.into_iter().map(|(i, _, p)| match p {
        Pending::Text(t) => t,
        Pending::Order { seq, prev_seq } => format!(
            "record seq {seq} (position {}): follows seq {prev_seq}; seq numbers must increase by one",
            i + 1
        ),
    }));

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
            let all: Vec<&[Hash]> = spans.iter().map(|s| s.leaves.as_slice()).collect();
            let everything = parallel_root(&all, threads);
            if hex_hash(root) != Some(everything) {
                problems.push(format!(
                    "chain_proof.merkle_root is {root} but the records give {}",
                    to_hex(&everything)
                ));
            }
        }
    }

    // The days' records in manifest order, and each day's last record.
    let by_day = group_by_day(&spans, from, to);
    let roots = day_roots(&by_day, threads);
    let mut heads: BTreeMap<time::Date, (u64, Hash)> = BTreeMap::new();
    for span in &spans {
        heads.extend(span.heads.iter().filter(|(d, _)| **d >= from && **d <= to));
    }

    // Each day's expectation; the chain head carries over days without records.
    let mut head = match (range_prev, m.first_seq) {
        (Some(hash), Some(first)) if first > 0 => Some(Head {
            seq: first - 1,
            hash,
        }),
        _ => None,
    };
    let mut days = Vec::new();
    let mut day = from;
    let mut k = 0;
    loop {
        if let Some(&(seq, hash)) = heads.get(&day) {
            head = Some(Head { seq, hash });
        }
        let (records, root) = roots
            .get(k)
            .copied()
            .unwrap_or((0, crate::merkle::EMPTY_ROOT));
        days.push(DayExpectation {
            date: day,
            records,
            root,
            head,
        });
        k += 1;
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

/// Runs of leaves per day of `from..=to` (in day order), each day's leaves
/// in manifest order. When every record's day is in the range and days
/// never go back (an export as archives write them), these are slices of
/// the runs' own leaves; otherwise the leaves are copied, grouped by day.
enum ByDay<'a> {
    /// Per day: its leaves, possibly split across runs.
    Slices(Vec<Vec<&'a [Hash]>>),
    /// Per day: its leaves, copied.
    Copied(Vec<Vec<Hash>>),
}

fn group_by_day(spans: &[Span], from: time::Date, to: time::Date) -> ByDay<'_> {
    let day_count = usize::try_from((to - from).whole_days() + 1).unwrap_or(0);
    let slot = |d: time::Date| usize::try_from((d - from).whole_days()).unwrap_or(usize::MAX);
    let in_order = {
        let mut last = from;
        spans
            .iter()
            .flat_map(|s| s.days.iter())
            .all(|(day, _)| match day {
                Some(d) if *d >= last && *d <= to => {
                    last = *d;
                    true
                }
                _ => false,
            })
    };
    if in_order {
        let mut out: Vec<Vec<&[Hash]>> = vec![Vec::new(); day_count];
        for span in spans {
            let mut start = 0;
            for &(day, count) in &span.days {
                if let Some(list) = day.and_then(|d| out.get_mut(slot(d))) {
                    list.push(&span.leaves[start..start + count]);
                }
                start += count;
            }
        }
        return ByDay::Slices(out);
    }
    let mut out: Vec<Vec<Hash>> = vec![Vec::new(); day_count];
    for span in spans {
        let mut start = 0;
        for &(day, count) in &span.days {
            let leaves = &span.leaves[start..start + count];
            start += count;
            if let Some(d) = day.filter(|d| *d >= from && *d <= to) {
                if let Some(list) = out.get_mut(slot(d)) {
                    list.extend_from_slice(leaves);
                }
            }
        }
    }
    ByDay::Copied(out)
}

/// The root of leaves given as consecutive runs, one after another.
fn root_of_runs(runs: &[&[Hash]]) -> (u64, Hash) {
    let mut tree = Frontier::new();
    for run in runs {
        for leaf in *run {
            tree.append(*leaf, |_, _| {});
        }
    }
    (tree.size(), tree.root())
}

/// Each day's (record count, root), computed on up to `threads` threads,
/// each taking a contiguous share of the days with about as many leaves.
fn day_roots(by_day: &ByDay<'_>, threads: usize) -> Vec<(u64, Hash)> {
    let days: Vec<Vec<&[Hash]>> = match by_day {
        ByDay::Slices(days) => days.clone(),
        ByDay::Copied(days) => days.iter().map(|d| vec![d.as_slice()]).collect(),
    };
    let sizes: Vec<usize> = days
        .iter()
        .map(|d| d.iter().map(|r| r.len()).sum())
        .collect();
    let total: usize = sizes.iter().sum();
    if threads <= 1 || total < PARALLEL_MIN {
        return days.iter().map(|d| root_of_runs(d)).collect();
    }
    // Cut the days into `threads` shares of about total / threads leaves.
    let mut shares: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut start, mut acc) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        acc += size;
        if acc * threads >= total * (shares.len() + 1) && shares.len() + 1 < threads {
            shares.push(start..i + 1);
            start = i + 1;
        }
    }
    shares.push(start..days.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| {
                let part = &days[share.clone()];
                scope.spawn(move || part.iter().map(|d| root_of_runs(d)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Below this many bytes of records they are read on one thread.
const SPLIT_MIN: usize = 16 << 20;

/// Below this many leaves the work stays on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

/// The RFC 6962 root over every leaf of `runs` (consecutive, in order),
/// computed on up to `threads` threads: the leaves are cut into aligned
/// chunks of a power-of-two size, each chunk's subtree root computed on
/// its own, and the chunk roots folded as the leaves of a smaller tree.
/// That is the same root, because RFC 6962 splits a tree of n leaves at the
/// largest power of two below n, which for n above the chunk size is a
/// multiple of it: every split falls on a chunk boundary.
fn parallel_root(runs: &[&[Hash]], threads: usize) -> Hash {
    let total: usize = runs.iter().map(|r| r.len()).sum();
    if threads <= 1 || total < PARALLEL_MIN {
        return root_of_runs(runs).1;
    }
    // At least four chunks per thread, for balance; a power of two.
    let chunk = (total / (threads * 4))
        .next_power_of_two()
        .max(PARALLEL_MIN / 4);
    let chunks = total.div_ceil(chunk);
    // The leaves of chunk k: runs may cut it, so gather them as slices.
    let chunk_runs = |k: usize| -> Vec<&[Hash]> {
        let (lo, hi) = (k * chunk, ((k + 1) * chunk).min(total));
        let mut out = Vec::new();
        let mut offset = 0;
        for run in runs {
            let (a, b) = (offset, offset + run.len());
            if b > lo && a < hi {
                out.push(&run[lo.max(a) - a..hi.min(b) - a]);
            }
            offset = b;
        }
        out
    };
    let roots: Vec<Hash> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let chunk_runs = &chunk_runs;
                scope.spawn(move || {
                    (t..chunks)
                        .step_by(threads)
                        .map(|k| (k, root_of_runs(&chunk_runs(k)).1))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Hash)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect();
        all.sort_by_key(|(k, _)| *k);
        all.into_iter().map(|(_, root)| root).collect()
    });
    let mut top = Frontier::new();
    for root in roots {
        top.append(root, |_, _| {});
    }
    top.root()
}

/// A cursor over the manifest's bytes, for the few structural characters
/// of the top-level object and the records array; every value in them is
/// read by serde_json.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(b) if b == c => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(format!(
                "expected {:?} at byte {}, found {:?}",
                c as char, self.pos, b as char
            )),
            None => Err(format!(
                "expected {:?}, found the end of the file",
                c as char
            )),
        }
    }

    /// One JSON value at the cursor, read by serde_json.
    fn value<T: Deserialize<'a>>(&mut self) -> Result<T, String> {
        let bytes: &'a [u8] = self.bytes;
        let start = self.pos;
        let mut stream = serde_json::Deserializer::from_slice(&bytes[start..]).into_iter::<T>();
        match stream.next() {
            Some(Ok(value)) => {
                self.pos = start + stream.byte_offset();
                Ok(value)
            }
            Some(Err(e)) => Err(format!("{e} (in the value at byte {start})")),
            None => Err("the file ends where a value was expected".into()),
        }
    }
}

/// How a run of records read from `start` ended.
enum RunEnd {
    /// At the `]` closing the array; the position after it.
    Closed(usize),
    /// Exactly at the run's `stop`, a record's first byte.
    Reached,
    /// Past `stop` (which was not where a record starts): the position of
    /// the next record, from which reading must go on.
    Overshot(usize),
}

/// Reads records from `start` (the first byte of a record, or of the array's
/// contents) into a run, until the array closes or, given `stop`, a record
/// starts at or past it.
fn read_run(bytes: &[u8], start: usize, stop: Option<usize>) -> Result<(Span, RunEnd), String> {
    let mut span = Span::default();
    // Room for as many leaves as valid records can fit (each is over 128
    // bytes), so the list does not grow by copying; reserved pages cost
    // nothing until they are written.
    span.leaves
        .reserve(stop.unwrap_or(bytes.len()).saturating_sub(start) / 128);
    let mut c = Cursor { bytes, pos: start };
    loop {
        let record: RecordRef<'_> = c.value()?;
        span.push(&record);
        match c.peek() {
            Some(b']') => return Ok((span.close(), RunEnd::Closed(c.pos + 1))),
            Some(b',') => c.pos += 1,
            _ => {
                return Err(format!(
                    "expected ',' or ']' after the record ending at byte {}",
                    c.pos
                ))
            }
        }
        c.skip_ws();
        match stop {
            Some(stop) if c.pos == stop => return Ok((span.close(), RunEnd::Reached)),
            Some(stop) if c.pos > stop => return Ok((span.close(), RunEnd::Overshot(c.pos))),
            _ => {}
        }
    }
}

/// Where a record probably starts at or after `at`: a `{` whose previous
/// non-blank byte is `,` and the one before that `}`. Probably: the same
/// bytes can sit inside a string, which is why every such split is
/// verified by the run before it ([`read_records`]).
fn candidate_start(bytes: &[u8], at: usize) -> Option<usize> {
    let blank = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let mut i = at;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let mut j = i;
            let before = |j: &mut usize| {
                while *j > 0 && blank(&bytes[*j - 1]) {
                    *j -= 1;
                }
                (*j > 0).then(|| {
                    *j -= 1;
                    bytes[*j]
                })
            };
            if before(&mut j) == Some(b',') && before(&mut j) == Some(b'}') {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Reads the records array whose contents start at `start` (after `[` and
/// blanks, not `]`), as runs, using up to `threads` threads; returns the
/// runs in order and the position after the closing `]`.
///
/// The bytes are cut where a record probably starts ([`candidate_start`])
/// and each part read on its own thread. A cut is used only if the run
/// before it, read from a cut already known to be a record's start, ends
/// exactly there; that proves the cut is a record's start too. If the run
/// before it goes past the cut, the cut was inside a string, and reading
/// goes on from where that run stopped, on this thread; if the array
/// closes before the cut, the later parts are not records of it. Either
/// way the records read are exactly those a reader from the start sees.
fn read_records(
    bytes: &[u8],
    start: usize,
    threads: usize,
    split_min: usize,
) -> Result<(Vec<Span>, usize), String> {
    let mut cuts = Vec::new();
    if threads > 1 && bytes.len() - start >= split_min {
        for t in 1..threads {
            let at = start + (bytes.len() - start) * t / threads;
            match candidate_start(bytes, at) {
                Some(cut) if cuts.last().is_none_or(|&l| cut > l) => cuts.push(cut),
                _ => {}
            }
        }
    }
    let starts: Vec<usize> = std::iter::once(start).chain(cuts.iter().copied()).collect();
    let runs: Vec<Result<(Span, RunEnd), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(k, &from)| {
                let stop = starts.get(k + 1).copied();
                scope.spawn(move || read_run(bytes, from, stop))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a reading thread panicked".into()))
            })
            .collect()
    });
    let mut spans = Vec::new();
    // Each run is read from a verified start: the first from the array's,
    // each later one only after the run before it reached it exactly.
    for run in runs {
        let (span, end) = run?;
        spans.push(span);
        match end {
            RunEnd::Reached => continue,
            RunEnd::Closed(after) => return Ok((spans, after)),
            RunEnd::Overshot(at) => {
                let (rest, end) = read_run(bytes, at, None)?;
                spans.push(rest);
                return match end {
                    RunEnd::Closed(after) => Ok((spans, after)),
                    _ => Err("the records array does not close".into()),
                };
            }
        }
    }
    Err("the records array does not close".into())
}

/// Reads a manifest's top-level object: its fields besides the records by
/// serde_json, the records by [`read_records`]. Unknown fields are read
/// (they must be JSON) and ignored; a known one given twice is refused.
fn read_manifest(
    bytes: &[u8],
    threads: usize,
    split_min: usize,
) -> Result<(ManifestHeader, Vec<Span>), String> {
    let mut c = Cursor { bytes, pos: 0 };
    c.expect(b'{')?;
    let mut schema_version: Option<String> = None;
    let mut tenant_id: Option<String> = None;
    let mut range: Option<Range> = None;
    let mut chain_proof: Option<Option<ChainProof>> = None;
    let mut spans: Option<Vec<Span>> = None;
    fn once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), String> {
        if slot.is_some() {
            return Err(format!("duplicate field `{name}`"));
        }
        *slot = Some(value);
        Ok(())
    }
    if c.peek() != Some(b'}') {
        loop {
            let key: Cow<'_, str> = c.value()?;
            c.expect(b':')?;
            match key.as_ref() {
                "schema_version" => once(&mut schema_version, &key, c.value()?)?,
                "tenant_id" => once(&mut tenant_id, &key, c.value()?)?,
                "range" => once(&mut range, &key, c.value()?)?,
                "chain_proof" => once(&mut chain_proof, &key, c.value()?)?,
                "records" => {
                    c.expect(b'[')?;
                    let read = if c.peek() == Some(b']') {
                        c.pos += 1;
                        Vec::new()
                    } else {
                        let (read, after) = read_records(bytes, c.pos, threads, split_min)?;
                        c.pos = after;
                        read
                    };
                    once(&mut spans, &key, read)?;
                }
                _ => {
                    c.value::<serde::de::IgnoredAny>()?;
                }
            }
            match c.peek() {
                Some(b',') => c.pos += 1,
                Some(b'}') => break,
                _ => return Err(format!("expected ',' or '}}' at byte {}", c.pos)),
            }
        }
    }
    c.pos += 1;
    if c.peek().is_some() {
        return Err(format!("trailing characters at byte {}", c.pos));
    }
    let missing = |name: &str| format!("missing field `{name}`");
    let spans = spans.ok_or_else(|| missing("records"))?;
    let records = spans.iter().map(|s| s.leaves.len()).sum();
    let header = ManifestHeader {
        schema_version: schema_version.ok_or_else(|| missing("schema_version"))?,
        tenant_id: tenant_id.ok_or_else(|| missing("tenant_id"))?,
        range: range.ok_or_else(|| missing("range"))?,
        chain_proof: chain_proof.flatten(),
        records,
        first_seq: spans.iter().find_map(|s| s.first.map(|f| f.0)),
        last_seq: spans.iter().rev().find_map(|s| s.last.map(|l| l.0)),
    };
    Ok((header, spans))
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

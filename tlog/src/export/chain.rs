//! The checks of one run of consecutive records ([`Span`]: each record's
//! hashes, day and leaf hash, and the hash chain inside the run) and the
//! joining of runs in manifest order, which checks the links between them
//! and the range, and orders every problem found as one reading would.

use super::*;

/// A record as read, its strings borrowed from the manifest's bytes when
/// they hold no escapes. Fields not listed are ignored.
#[derive(Deserialize)]
pub(super) struct RecordRef<'a> {
    pub(super) seq: u64,
    #[serde(borrow)]
    pub(super) sha256: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) captured_at: Cow<'a, str>,
}

/// A problem found while reading records, before its record's place in
/// the whole manifest is known.
pub(super) enum Pending {
    Text(String),
    /// `seq` follows `prev_seq` but is not larger (the message names the
    /// record's position, 1-based, in the manifest).
    Order {
        seq: u64,
        prev_seq: u64,
    },
}

/// The order of a record's problems in the list: by record, then this.
pub(super) const PHASE_SHA: u8 = 0;
pub(super) const PHASE_PREV: u8 = 1;
pub(super) const PHASE_LINK: u8 = 2;
pub(super) const PHASE_TIME: u8 = 3;
pub(super) const PHASE_RANGE: u8 = 4;

/// What a run of consecutive records comes to, checked on its own: each
/// record's hashes, day and leaf hash, and the chain between its records.
/// The link of its first record to the record before the run is checked
/// when runs are joined ([`join`]), so runs can be read in parallel.
#[derive(Default)]
pub(super) struct Span {
    /// Each record's leaf hash, `SHA-256(0x00 || sha256)`.
    pub(super) leaves: Vec<Hash>,
    /// The records' UTC days (None: `captured_at` unreadable), as runs of
    /// (day, how many consecutive records have it). Runs, not one entry per
    /// record: every byte stored per record is fresh memory, which is a
    /// large share of reading a big manifest.
    pub(super) days: Vec<(Option<time::Date>, usize)>,
    /// The records' seqs as runs of (first seq, count) of consecutive seqs.
    pub(super) seqs: Vec<(u64, usize)>,
    /// The first record's seq and prev_hash.
    pub(super) first: Option<(u64, Option<Hash>)>,
    /// The last record's seq and sha256 (zeros if unreadable).
    pub(super) last: Option<(u64, Hash)>,
    /// (record index within the run, phase, problem).
    pub(super) problems: Vec<(usize, u8, Pending)>,
    /// Per day, the last record of that day in this run.
    pub(super) heads: BTreeMap<time::Date, (u64, Hash)>,
    /// The day of the run's latest records, not yet in `heads`.
    pub(super) current: Option<(time::Date, u64, Hash)>,
}

/// The chain link from the record `(prev_seq, prev_sha)` to the record
/// `seq` whose prev_hash is `prev_hash`.
pub(super) fn link(prev: (u64, Hash), seq: u64, prev_hash: Option<Hash>) -> Vec<Pending> {
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
    pub(super) fn push(&mut self, record: &RecordRef<'_>) {
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
    pub(super) fn close(mut self) -> Self {
        if let Some((d, s, h)) = self.current.take() {
            self.heads.insert(d, (s, h));
        }
        self
    }
}

/// Checks the header, joins the runs of records in order (the link between
/// runs, positions, the range), and computes each day's expectation.
pub(super) fn join(
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

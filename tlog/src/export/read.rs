//! Reading a manifest's bytes: the top-level object by a small cursor, and
//! the records array in parallel runs, each started at a record boundary
//! found by scanning and read by serde_json without allocating per record.

use super::*;

/// A cursor over the manifest's bytes, for the few structural characters
/// of the top-level object and the records array; every value in them is
/// read by serde_json.
pub(super) struct Cursor<'a> {
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
pub(super) enum RunEnd {
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
pub(super) fn read_run(
    bytes: &[u8],
    start: usize,
    stop: Option<usize>,
) -> Result<(Span, RunEnd), String> {
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
pub(super) fn candidate_start(bytes: &[u8], at: usize) -> Option<usize> {
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
pub(super) fn read_records(
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
    // One run is read on this thread: no thread is started unless there is
    // work to share (and the browser's WebAssembly has no threads).
    let runs: Vec<Result<(Span, RunEnd), String>> = if starts.len() == 1 {
        vec![read_run(bytes, start, None)]
    } else {
        std::thread::scope(|scope| {
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
        })
    };
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
pub(super) fn read_manifest(
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

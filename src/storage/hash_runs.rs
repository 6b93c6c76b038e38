//! The index from leaf hash to leaf index, kept as sorted runs beside the
//! tree files instead of one sled row per leaf (docs/storage-indexes.md).
//!
//! Everything here is derived from the level-0 hashes of the `hashes` file,
//! so it needs no durability of its own: a missing or damaged run is rebuilt
//! from that file. It therefore never decides what is true, only where to
//! look: [`HashRuns::candidates`] returns indexes whose hash *may* match,
//! and the caller compares the full stored hash before answering.
//!
//! Invariant: the runs chain from index 0 without gaps and cover
//! `[0, covered)`; the in-memory tail holds exactly the leaves of
//! `[covered, covered + tail.len())`, fewer than [`RUN_LEAVES`] of them
//! once an append returns.
//!
//! A run is a file named `run-<first>-<count>` (decimal) holding `count`
//! entries of 16 bytes, sorted: the first 8 bytes of the leaf hash, then
//! the index (both u64 big-endian). Runs are written to a temporary name,
//! synced and renamed, and a merge deletes its inputs only after the merged
//! run's rename is synced, so after a crash opening finds either the inputs
//! or the merged run (or both, and takes the merged one).

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::fsck::FindingKind;
use crate::merkle::Hash;

use super::tree_files::io_error;
use super::StoreError;

/// Leaves per smallest run: the most the tail holds, and reads at start-up.
pub const RUN_LEAVES: u64 = 65_536;
const ENTRY: u64 = 16;
const PREFIX: &str = "run-";
const TEMPORARY: &str = "tmp-run";

/// Reads the level-0 hashes of `count` leaves from `first`, in order.
pub type Level0Reader<'a> = dyn Fn(u64, u64) -> Result<Vec<Hash>, StoreError> + 'a;

struct Run {
    first: u64,
    count: u64,
    file: File,
}

/// The runs of one log and the tail not yet in a run.
pub struct HashRuns {
    dir: PathBuf,
    runs: Vec<Run>,
    tail: Vec<(u64, u64)>,
}

fn run_read_error(first: u64, e: io::Error) -> StoreError {
    io_error(format_args!("hash index run from {first}"), e)
}

fn key_of(hash: &Hash) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(k)
}

fn run_name(first: u64, count: u64) -> String {
    format!("{PREFIX}{first}-{count}")
}

fn parse_run_name(name: &str) -> Option<(u64, u64)> {
    let (first, count) = name.strip_prefix(PREFIX)?.split_once('-')?;
    Some((first.parse().ok()?, count.parse().ok()?))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir.display(), e))
}

/// A run file on disk: (first index, count, path).
type RunFile = (u64, u64, PathBuf);

/// The runs opening keeps, as (first, count, path) from index 0, and the
/// files it deletes: from 0, the largest run that starts at each position
/// and is as long as its name says, within a log of `size` leaves. A missing
/// directory has neither.
fn chain(dir: &Path, size: u64) -> Result<(Vec<RunFile>, Vec<PathBuf>), StoreError> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(io_error(dir.display(), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir.display(), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let length = entry
            .metadata()
            .map_err(|e| io_error(entry.path().display(), e))?
            .len();
        match parse_run_name(&name) {
            Some((first, count))
                if count > 0
                    && length == count.saturating_mul(ENTRY)
                    && first.saturating_add(count) <= size =>
            {
                found.push((first, count, entry.path()))
            }
            _ => found.push((u64::MAX, 0, entry.path())),
        }
    }
    found.sort_by_key(|&(first, count, _)| (first, std::cmp::Reverse(count)));
    let mut chain = Vec::new();
    let mut leftovers = Vec::new();
    let mut covered = 0u64;
    for (first, count, path) in found {
        if first == covered && count > 0 {
            chain.push((first, count, path));
            covered += count;
        } else {
            leftovers.push(path);
        }
    }
    Ok((chain, leftovers))
}

impl HashRuns {
    /// Opens (creating) the runs in `dir` for a log of `size` leaves,
    /// dropping what a crash left off the chain and indexing the leaves the
    /// runs do not cover from `read_level0`. An empty or missing directory
    /// is a full rebuild.
    pub fn open(dir: &Path, size: u64, read_level0: &Level0Reader<'_>) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir.display(), e))?;
        let (chain, leftovers) = chain(dir, size)?;
        for path in leftovers {
            fs::remove_file(&path).map_err(|e| io_error(path.display(), e))?;
        }
        let mut runs = Vec::with_capacity(chain.len());
        for (first, count, path) in chain {
            let file = File::open(&path).map_err(|e| io_error(path.display(), e))?;
            runs.push(Run { first, count, file });
        }
        let mut index = HashRuns {
            dir: dir.to_path_buf(),
            runs,
            tail: Vec::new(),
        };
        let mut next = index.covered();
        while next < size {
            let count = (size - next).min(RUN_LEAVES - index.tail.len() as u64);
            let hashes = read_level0(next, count)?;
            index.append(next, &hashes)?;
            next += count;
        }
        Ok(index)
    }

    /// Leaves indexed: the runs' and the tail's.
    pub fn len(&self) -> u64 {
        self.covered() + self.tail.len() as u64
    }

    /// Whether no leaf is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn covered(&self) -> u64 {
        self.runs.last().map_or(0, |r| r.first + r.count)
    }

    /// Bytes the runs occupy (the tail is in memory only).
    pub fn bytes_on_disk(&self) -> u64 {
        self.covered() * ENTRY
    }

    /// The runs on disk, oldest first, as (first index, count).
    pub fn runs(&self) -> Vec<(u64, u64)> {
        self.runs.iter().map(|r| (r.first, r.count)).collect()
    }

    /// Indexes the leaves `first..` with these hashes; `first` must be
    /// [`HashRuns::len`]. A full tail becomes a run, and equal-sized newest
    /// runs are merged.
    pub fn append(&mut self, first: u64, hashes: &[Hash]) -> Result<(), StoreError> {
        if first != self.len() {
            return Err(StoreError::Corrupt(format!(
                "hash index holds {} leaves, asked to append at {first}",
                self.len()
            )));
        }
        for (i, hash) in hashes.iter().enumerate() {
            self.tail.push((key_of(hash), first + i as u64));
            if self.tail.len() as u64 == RUN_LEAVES {
                self.seal_tail()?;
            }
        }
        Ok(())
    }

    fn seal_tail(&mut self) -> Result<(), StoreError> {
        let mut entries = std::mem::take(&mut self.tail);
        entries.sort_unstable();
        let first = self.covered();
        let count = entries.len() as u64;
        let run = self.write_run(first, count, entries.into_iter().map(Ok))?;
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            if self.runs[n - 2].count != self.runs[n - 1].count {
                break;
            }
            let newer = self.runs.pop().ok_or_else(|| corrupt("no run"))?;
            let older = self.runs.pop().ok_or_else(|| corrupt("no run"))?;
            let merged = self.write_run(
                older.first,
                older.count + newer.count,
                merge(entries_of(&older), entries_of(&newer)),
            )?;
            self.runs.push(merged);
            // Only now that the merged run is durable may its inputs go.
            for input in [&older, &newer] {
                let path = self.dir.join(run_name(input.first, input.count));
                fs::remove_file(&path).map_err(|e| io_error(path.display(), e))?;
            }
        }
        Ok(())
    }

    fn write_run(
        &self,
        first: u64,
        count: u64,
        entries: impl Iterator<Item = Result<(u64, u64), StoreError>>,
    ) -> Result<Run, StoreError> {
        let temporary = self.dir.join(TEMPORARY);
        let file = File::create(&temporary).map_err(|e| io_error(temporary.display(), e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut written = 0u64;
        for entry in entries {
            let (key, index) = entry?;
            out.write_all(&key.to_be_bytes())
                .and_then(|_| out.write_all(&index.to_be_bytes()))
                .map_err(|e| io_error(temporary.display(), e))?;
            written += 1;
        }
        if written != count {
            return Err(corrupt(&format!(
                "a run of {count} leaves from {first} got {written} entries"
            )));
        }
        let file = out
            .into_inner()
            .map_err(|e| io_error(temporary.display(), e.into_error()))?;
        // Whole before it is named: opening trusts a run as long as its name says.
        file.sync_all()
            .map_err(|e| io_error(temporary.display(), e))?;
        let path = self.dir.join(run_name(first, count));
        fs::rename(&temporary, &path).map_err(|e| io_error(path.display(), e))?;
        // The merge deletes its inputs only after this: the rename must be durable first.
        sync_dir(&self.dir)?;
        let file = File::open(&path).map_err(|e| io_error(path.display(), e))?;
        Ok(Run { first, count, file })
    }

    /// Indexes below `below` whose leaf hash starts like `hash`, ascending.
    /// Every leaf with this hash is among them; the caller must compare the
    /// full stored hash, because others may share the 8-byte prefix.
    pub fn candidates(&self, hash: &Hash, below: u64) -> Result<Vec<u64>, StoreError> {
        let key = key_of(hash);
        let mut out = Vec::new();
        for run in &self.runs {
            if run.first >= below {
                break;
            }
            // First entry whose key is not below `key`.
            let (mut low, mut high) = (0u64, run.count);
            while low < high {
                let mid = low + (high - low) / 2;
                if read_entry(run, mid)?.0 < key {
                    low = mid + 1;
                } else {
                    high = mid;
                }
            }
            let mut at = low;
            while at < run.count {
                let (k, index) = read_entry(run, at)?;
                if k != key {
                    break;
                }
                if index < below {
                    out.push(index);
                }
                at += 1;
            }
        }
        out.extend(
            self.tail
                .iter()
                .filter(|&&(k, index)| k == key && index < below)
                .map(|&(_, index)| index),
        );
        out.sort_unstable();
        Ok(out)
    }
}

/// Checks the runs that opening would keep, for `rootlog fsck`, reading
/// only: each must be sorted, name every index of its range exactly once,
/// and carry for each index the prefix of its stored level-0 hash
/// (`level0`, None when that cannot be read, which the caller reports on
/// its own). Two entries with the same full hash are the same leaf stored
/// twice, found within a run. Problems go to `report` as (kind, location,
/// detail); returns the entries examined. Leaves past the runs are indexed
/// from the hashes file at each open and have nothing on disk to check.
pub fn check(
    dir: &Path,
    size: u64,
    level0: &mut dyn FnMut(u64) -> Result<Option<Hash>, StoreError>,
    report: &mut dyn FnMut(FindingKind, String, String),
) -> Result<u64, StoreError> {
    const DAMAGED: FindingKind = FindingKind::HashIndexDamaged;
    let (chain, _) = chain(dir, size)?;
    let mut examined = 0u64;
    for (first, count, path) in chain {
        let location = format!("hash-index/{}", run_name(first, count));
        let file = File::open(&path).map_err(|e| io_error(path.display(), e))?;
        let run = Run { first, count, file };
        let mut seen = vec![0u64; count.div_ceil(64) as usize];
        let mut previous: Option<(u64, u64, Option<Hash>)> = None;
        let mut reported_order = false;
        for (n, entry) in entries_of(&run).enumerate() {
            let (key, index) = entry?;
            examined += 1;
            if let Some((k, i, _)) = previous {
                if (k, i) > (key, index) && !reported_order {
                    report(
                        DAMAGED,
                        location.clone(),
                        format!("entry {n} is out of order"),
                    );
                    reported_order = true;
                }
            }
            if index < first || index - first >= count {
                report(
                    DAMAGED,
                    location.clone(),
                    format!("entry {n} names index {index}, outside the run"),
                );
                continue;
            }
            let bit = index - first;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            if seen[word] & mask != 0 {
                report(
                    DAMAGED,
                    location.clone(),
                    format!("index {index} appears twice"),
                );
                continue;
            }
            seen[word] |= mask;
            let stored = level0(index)?;
            if let Some(hash) = &stored {
                if key_of(hash) != key {
                    report(
                        DAMAGED,
                        location.clone(),
                        format!("the entry for index {index} does not match its leaf hash"),
                    );
                }
            }
            if let Some((k, i, Some(other))) = &previous {
                if *k == key && stored.as_ref() == Some(other) {
                    report(
                        FindingKind::DuplicateLeaf,
                        format!("index {index}"),
                        format!("the same note bytes are also stored at index {i}"),
                    );
                }
            }
            previous = Some((key, index, stored));
        }
        for bit in 0..count {
            if seen[(bit / 64) as usize] & (1u64 << (bit % 64)) == 0 {
                report(
                    DAMAGED,
                    location.clone(),
                    format!("index {} is missing", first + bit),
                );
            }
        }
    }
    Ok(examined)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("hash index: {what}"))
}

fn decode(bytes: &[u8; 16]) -> (u64, u64) {
    let mut key = [0u8; 8];
    let mut index = [0u8; 8];
    key.copy_from_slice(&bytes[..8]);
    index.copy_from_slice(&bytes[8..]);
    (u64::from_be_bytes(key), u64::from_be_bytes(index))
}

fn read_entry(run: &Run, at: u64) -> Result<(u64, u64), StoreError> {
    let mut bytes = [0u8; 16];
    run.file
        .read_exact_at(&mut bytes, at * ENTRY)
        .map_err(|e| run_read_error(run.first, e))?;
    Ok(decode(&bytes))
}

/// The entries of a run, streamed in order.
fn entries_of(run: &Run) -> impl Iterator<Item = Result<(u64, u64), StoreError>> {
    let first = run.first;
    let mut reader = run
        .file
        .try_clone()
        .map(|f| BufReader::with_capacity(1 << 20, f));
    let mut left = run.count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let mut bytes = [0u8; 16];
        let result = match reader.as_mut() {
            Ok(r) => r.read_exact(&mut bytes).map(|_| decode(&bytes)),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        Some(result.map_err(|e| run_read_error(first, e)))
    })
}

/// Two sorted entry streams as one sorted stream.
fn merge<A, B>(a: A, b: B) -> impl Iterator<Item = Result<(u64, u64), StoreError>>
where
    A: Iterator<Item = Result<(u64, u64), StoreError>>,
    B: Iterator<Item = Result<(u64, u64), StoreError>>,
{
    let mut a = a.peekable();
    let mut b = b.peekable();
    std::iter::from_fn(move || {
        let take_a = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(Err(_)), _) => true,
            (_, Some(Err(_))) => false,
            (Some(Ok(x)), Some(Ok(y))) => x <= y,
        };
        if take_a {
            a.next()
        } else {
            b.next()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use proptest::prelude::*;
    use std::cell::Cell;

    fn hash(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    fn reader(reads: &Cell<u64>) -> impl Fn(u64, u64) -> Result<Vec<Hash>, StoreError> + '_ {
        move |first, count| {
            reads.set(reads.get() + count);
            Ok((first..first + count).map(hash).collect())
        }
    }

    fn assert_finds_all(index: &HashRuns, size: u64) {
        for i in (0..size).step_by(997).chain(size.checked_sub(1)) {
            let found = index.candidates(&hash(i), size).unwrap();
            assert!(found.contains(&i), "leaf {i} not found among {found:?}");
            assert!(found.iter().all(|&j| key_of(&hash(j)) == key_of(&hash(i))));
        }
    }

    #[test]
    fn runs_form_a_binary_counter_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        let size = 5 * RUN_LEAVES + 123;
        let index = HashRuns::open(dir.path(), size, &reader(&reads)).unwrap();
        assert_eq!(reads.get(), size);
        assert_eq!(
            index.runs(),
            vec![(0, 4 * RUN_LEAVES), (4 * RUN_LEAVES, RUN_LEAVES)]
        );
        assert_finds_all(&index, size);
        drop(index);
        // Reopening reads only the leaves past the runs.
        reads.set(0);
        let index = HashRuns::open(dir.path(), size, &reader(&reads)).unwrap();
        assert_eq!(reads.get(), 123);
        assert_finds_all(&index, size);
    }

    #[test]
    fn leaves_at_or_past_the_bound_are_not_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        let index = HashRuns::open(dir.path(), RUN_LEAVES + 10, &reader(&reads)).unwrap();
        assert!(index.candidates(&hash(5), 5).unwrap().is_empty());
        assert!(index
            .candidates(&hash(RUN_LEAVES + 3), RUN_LEAVES + 3)
            .unwrap()
            .is_empty());
        assert_eq!(index.candidates(&hash(5), 6).unwrap(), vec![5]);
    }

    #[test]
    fn a_crash_during_a_merge_leaves_a_log_that_opens_correctly() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        let size = 2 * RUN_LEAVES;
        drop(HashRuns::open(dir.path(), size, &reader(&reads)).unwrap());
        // The merge's inputs still present beside the merged run, a torn
        // temporary file, a truncated run and a stray file.
        let merged = dir.path().join(run_name(0, 2 * RUN_LEAVES));
        let bytes = fs::read(&merged).unwrap();
        fs::write(
            dir.path().join(run_name(0, RUN_LEAVES)),
            &bytes[..bytes.len() / 2],
        )
        .unwrap();
        fs::write(dir.path().join(TEMPORARY), b"torn").unwrap();
        fs::write(dir.path().join(run_name(RUN_LEAVES, RUN_LEAVES)), b"short").unwrap();
        fs::write(dir.path().join("stray"), b"x").unwrap();
        reads.set(0);
        let index = HashRuns::open(dir.path(), size, &reader(&reads)).unwrap();
        assert_eq!(reads.get(), 0);
        assert_eq!(index.runs(), vec![(0, 2 * RUN_LEAVES)]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_finds_all(&index, size);
        // Without the merged run, the rest is rebuilt from the hashes.
        drop(index);
        fs::remove_file(&merged).unwrap();
        let index = HashRuns::open(dir.path(), size, &reader(&reads)).unwrap();
        assert_eq!(reads.get(), size);
        assert_finds_all(&index, size);
    }

    #[test]
    fn runs_beyond_a_shorter_log_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        drop(HashRuns::open(dir.path(), 2 * RUN_LEAVES, &reader(&reads)).unwrap());
        let index = HashRuns::open(dir.path(), RUN_LEAVES + 1, &reader(&reads)).unwrap();
        assert_eq!(index.runs(), vec![(0, RUN_LEAVES)]);
        assert_eq!(index.len(), RUN_LEAVES + 1);
    }

    #[test]
    fn appending_anywhere_but_the_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        let mut index = HashRuns::open(dir.path(), 3, &reader(&reads)).unwrap();
        assert!(index.append(2, &[hash(2)]).is_err());
        assert!(index.append(4, &[hash(4)]).is_err());
        assert_eq!(index.len(), 3);
    }

    /// Runs `check` over `dir` with the synthetic hashes, except where
    /// `stored` says otherwise; returns (kind, detail) findings.
    fn check_with(
        dir: &Path,
        size: u64,
        stored: impl Fn(u64) -> Hash,
    ) -> (u64, Vec<(String, String)>) {
        let mut found = Vec::new();
        let examined = check(
            dir,
            size,
            &mut |i| Ok(Some(stored(i))),
            &mut |kind, location, detail| {
                found.push((kind.to_string(), format!("{location}: {detail}")))
            },
        )
        .unwrap();
        (examined, found)
    }

    #[test]
    fn check_passes_intact_runs_and_names_each_kind_of_damage() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Cell::new(0);
        let size = 2 * RUN_LEAVES + 5;
        drop(HashRuns::open(dir.path(), size, &reader(&reads)).unwrap());
        assert_eq!(check_with(dir.path(), size, hash), (2 * RUN_LEAVES, vec![]));
        let location = format!("hash-index/{}", run_name(0, 2 * RUN_LEAVES));

        // A leaf hash that changed under its entry (the entry is now wrong).
        let (_, found) = check_with(
            dir.path(),
            size,
            |i| if i == 77 { [0xEE; 32] } else { hash(i) },
        );
        assert_eq!(
            found,
            vec![(
                "hash_index_damaged".to_string(),
                format!("{location}: the entry for index 77 does not match its leaf hash")
            )]
        );

        // The same leaf stored twice: two entries with one full hash.
        let twice = tempfile::tempdir().unwrap();
        let with_copy = |i| if i == 9 { hash(8) } else { hash(i) };
        let copy_reader = |first, count| Ok((first..first + count).map(with_copy).collect());
        drop(HashRuns::open(twice.path(), RUN_LEAVES, &copy_reader).unwrap());
        let (_, found) = check_with(twice.path(), RUN_LEAVES, with_copy);
        assert_eq!(
            found,
            vec![(
                "duplicate_leaf".to_string(),
                "index 9: the same note bytes are also stored at index 8".to_string()
            )]
        );

        // One entry overwritten with another index's: out of order, twice, missing.
        let path = dir.path().join(run_name(0, 2 * RUN_LEAVES));
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 16;
        let (head, tail) = bytes.split_at_mut(last);
        tail.copy_from_slice(&head[..16]);
        fs::write(&path, &bytes).unwrap();
        let (_, found) = check_with(dir.path(), size, hash);
        let details: Vec<&str> = found.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            details.iter().any(|d| d.ends_with("is out of order")),
            "{found:?}"
        );
        assert!(
            details.iter().any(|d| d.ends_with("appears twice")),
            "{found:?}"
        );
        assert!(
            details.iter().any(|d| d.ends_with("is missing")),
            "{found:?}"
        );
        // Checking wrote nothing; opening keeps the file and the lookup of
        // the lost leaf misses rather than answering wrongly.
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        /// Whatever the batch boundaries, every leaf is found, and only
        /// leaves sharing its prefix are offered with it.
        #[test]
        fn lookup_matches_a_reference_map(batches in proptest::collection::vec(1u64..40_000, 1..8)) {
            let dir = tempfile::tempdir().unwrap();
            let reads = Cell::new(0);
            let mut index = HashRuns::open(dir.path(), 0, &reader(&reads)).unwrap();
            let mut size = 0;
            for count in batches {
                let hashes: Vec<Hash> = (size..size + count).map(hash).collect();
                index.append(size, &hashes).unwrap();
                size += count;
            }
            prop_assert_eq!(index.len(), size);
            let sealed: u64 = index.runs().iter().map(|r| r.1).sum();
            prop_assert_eq!(sealed, size / RUN_LEAVES * RUN_LEAVES);
            for i in (0..size).step_by(1009) {
                prop_assert_eq!(index.candidates(&hash(i), size).unwrap(), vec![i]);
            }
            prop_assert!(index.candidates(&[0xAB; 32], size).unwrap().is_empty());
        }
    }
}

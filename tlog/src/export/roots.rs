//! The roots a manifest implies: its records' leaves grouped by UTC day,
//! each day's RFC 6962 root, and the root over all records, computed on
//! every core when the manifest is large.

use super::*;

/// Runs of leaves per day of `from..=to` (in day order), each day's leaves
/// in manifest order. When every record's day is in the range and days
/// never go back (an export as archives write them), these are slices of
/// the runs' own leaves; otherwise the leaves are copied, grouped by day.
pub(super) enum ByDay<'a> {
    /// Per day: its leaves, possibly split across runs.
    Slices(Vec<Vec<&'a [Hash]>>),
    /// Per day: its leaves, copied.
    Copied(Vec<Vec<Hash>>),
}

pub(super) fn group_by_day(spans: &[Span], from: time::Date, to: time::Date) -> ByDay<'_> {
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
pub(super) fn root_of_runs(runs: &[&[Hash]]) -> (u64, Hash) {
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
pub(super) fn day_roots(by_day: &ByDay<'_>, threads: usize) -> Vec<(u64, Hash)> {
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
pub(super) const SPLIT_MIN: usize = 16 << 20;

/// Below this many leaves the work stays on the calling thread.
pub(super) const PARALLEL_MIN: usize = 1 << 16;

/// The RFC 6962 root over every leaf of `runs` (consecutive, in order),
/// computed on up to `threads` threads: the leaves are cut into aligned
/// chunks of a power-of-two size, each chunk's subtree root computed on
/// its own, and the chunk roots folded as the leaves of a smaller tree.
/// That is the same root, because RFC 6962 splits a tree of n leaves at the
/// largest power of two below n, which for n above the chunk size is a
/// multiple of it: every split falls on a chunk boundary.
pub(super) fn parallel_root(runs: &[&[Hash]], threads: usize) -> Hash {
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

//! `sync`: how long this machine's disk takes to make a small write
//! durable, the floor under every acknowledgement (the log syncs its tree
//! files and sled once per batch, the witness sled once per group).
//! `scripts/bench` probes it at the start and the end of a run, because a
//! virtual machine's disk, like its CPU, changes speed under it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::stats::ResultLine;

/// Most syncs one probe makes, whatever its time budget.
const MAX_SYNCS: usize = 2000;

pub fn run(dir: &Path, seconds: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(".rootlog-bench-sync-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let block = [0x5au8; 4096];
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut times = Vec::with_capacity(MAX_SYNCS);
    // Appends, as the tree files grow: each sync also writes the new size.
    while times.len() < MAX_SYNCS && start.elapsed() < budget {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(t.elapsed());
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    anyhow::ensure!(!times.is_empty(), "no sync finished within {seconds} s");
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    let (p50, p99) = (at(0.5), at(0.99));
    eprintln!(
        "4 KiB append + fdatasync in {}: P50 {p50:.0} µs, P99 {p99:.0} µs ({} syncs)",
        dir.display(),
        times.len()
    );
    ResultLine::new("sync")
        .field("syncs", times.len())
        .float("p50_us", p50)
        .float("p99_us", p99)
        .print();
    Ok(())
}

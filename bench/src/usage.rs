//! `du`: where a data directory's bytes go. Sums the tree files, the
//! leaf-hash runs and the keys and values of every sled row by kind and sets
//! them against the files on disk, so the disk
//! row of BENCHMARKS.md can say how much is data and how much is the storage
//! engine's own overhead.

use std::collections::BTreeMap;
use std::path::Path;

use rootlog::storage::Store;

use crate::bulk::disk_usage;
use crate::stats::ResultLine;

pub fn run(data: &Path) -> anyhow::Result<()> {
    let store = Store::open_existing(&data.join("db"))?;
    let size = store.size()?.max(1);
    // prefix byte -> (rows, key bytes, value bytes)
    let mut kinds: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
    for row in store.scan_raw(&[]) {
        let (k, v) = row?;
        let e = kinds.entry(k.first().copied().unwrap_or(0)).or_default();
        e.0 += 1;
        e.1 += k.len() as u64;
        e.2 += v.len() as u64;
    }
    let in_sled: u64 = kinds.values().map(|(_, k, v)| k + v).sum();
    let files = store.tree_files().lengths()?;
    let tree_files = files.leaves + files.leaf_ends + files.hashes;
    let runs = disk_usage(store.hash_index_dir());
    let logical = in_sled + tree_files + runs;
    let disk = disk_usage(data);
    let sled_disk = disk.saturating_sub(tree_files + runs);
    eprintln!(
        "du: tree files {tree_files} bytes ({:.1}/entry: leaves {}, leaf-ends {}, hashes {})",
        tree_files as f64 / size as f64,
        files.leaves,
        files.leaf_ends,
        files.hashes
    );
    eprintln!(
        "du: leaf-hash runs {runs} bytes ({:.1}/entry)",
        runs as f64 / size as f64
    );
    eprintln!(
        "du: sled rows {in_sled} bytes ({:.1}/entry), sled on disk {sled_disk} ({:.1}/entry): {:.2}x its rows",
        in_sled as f64 / size as f64,
        sled_disk as f64 / size as f64,
        sled_disk as f64 / in_sled.max(1) as f64
    );
    let mut line = ResultLine::new("du")
        .field("entries", size)
        .field("disk_bytes", disk)
        .field("logical_bytes", logical)
        .field("tree_file_bytes", tree_files)
        .field("hash_run_bytes", runs)
        .field("sled_row_bytes", in_sled)
        .float(
            "sled_disk_over_rows",
            sled_disk as f64 / in_sled.max(1) as f64,
        )
        .float("disk_over_logical", disk as f64 / logical.max(1) as f64);
    for (prefix, (rows, kb, vb)) in &kinds {
        let name = char::from(*prefix);
        eprintln!(
            "du: {name}: {rows} rows, {kb} key bytes, {vb} value bytes, {:.1} bytes/entry",
            (kb + vb) as f64 / size as f64
        );
        line = line.float(
            &format!("{name}_bytes_per_entry"),
            (kb + vb) as f64 / size as f64,
        );
    }
    eprintln!(
        "du: {logical} logical bytes ({:.0}/entry), {disk} on disk ({:.0}/entry): {:.2}x",
        logical as f64 / size as f64,
        disk as f64 / size as f64,
        disk as f64 / logical.max(1) as f64
    );
    line.print();
    Ok(())
}

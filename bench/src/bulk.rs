//! `load`: builds a log of N entries straight through the library, for the
//! read, start-up and disk scenarios at 10^7 entries, which HTTP submission
//! would take hours to reach.
//!
//! The result is an ordinary data directory (key, origin, tenants, leaves,
//! perfect nodes, indexes, one checkpoint per batch) written with the same
//! `Store::integrate` the sequencer uses, only with much larger batches.
//! Signing dominates the CPU cost, so `threads` workers sign and hash
//! chunks of statements while the main thread appends and writes, in order.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use rootlog::identity;
use rootlog::merkle::Frontier;
use rootlog::merkle::{leaf_hash, Hash};
use rootlog::note::Signer;
use rootlog::signed_checkpoint::SignedCheckpoint;
use rootlog::statement::format_date;
use rootlog::storage::{LeafRows, NewLeaf, Store};
use rootlog::tenant_key::registration_entry;

use crate::statements::{date_of, days_available, signed_statement, Tenant};
use crate::stats::ResultLine;

pub struct LoadArgs<'a> {
    pub data: &'a Path,
    pub entries: u64,
    pub tenants: Option<u64>,
    pub batch: usize,
    pub origin: Option<&'a str>,
    pub threads: usize,
    /// Close and reopen the database after this many entries (0: never).
    pub reopen_every: u64,
}

/// One signed, hashed entry on its way to the writer.
struct Entry {
    bytes: Vec<u8>,
    hash: Hash,
    tenant: u32,
    date: String,
}

/// Entries signed per work unit: big enough to amortise the channel, small
/// enough that the writer never waits long for the next one in order.
const CHUNK: u64 = 2048;

/// Opens the store again just after this process closed it. sled's I/O
/// threads can still hold the database file (and its lock) after the last
/// handle is dropped, while they finish writing; a full 10^7-entry load once
/// needed more than 10 s for that. So a lock conflict is retried for up to
/// two minutes before it counts as an error, and a wait of over a second is
/// reported.
fn reopen(db_dir: &Path) -> Result<Store, rootlog::storage::StoreError> {
    let started = Instant::now();
    let deadline = started + std::time::Duration::from_secs(120);
    loop {
        match Store::open(db_dir) {
            Err(rootlog::storage::StoreError::Sled(sled::Error::Io(e)))
                if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => {
                let waited = started.elapsed();
                if waited.as_secs() >= 1 && other.is_ok() {
                    eprintln!(
                        "load: reopening waited {:.1} s for sled to release its lock",
                        waited.as_secs_f64()
                    );
                }
                return other;
            }
        }
    }
}

/// Bytes the files under `dir` occupy on disk (what `du` counts).
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

pub fn run(args: LoadArgs<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    let n = args.entries;
    anyhow::ensure!(n > 0, "--entries must be at least 1");
    let days_max = days_available();
    let tenant_count = args
        .tenants
        .unwrap_or(1000)
        .max(n.div_ceil(days_max))
        .min(n)
        .max(1);
    let days = n.div_ceil(tenant_count);

    let id = identity::open(args.data, args.origin)?;
    anyhow::ensure!(
        id.store.size()? == 0,
        "{} already holds a log of {} entries: load into a fresh directory",
        args.data.display(),
        id.store.size()?
    );
    let tenants: Vec<Tenant> = (0..tenant_count)
        .map(|k| Tenant::generate(format!("tenant-{k:06}")))
        .collect::<anyhow::Result<_>>()?;
    eprintln!(
        "load: {n} entries over {tenant_count} tenants and {days} days, batches of {}, {} signing threads",
        args.batch, args.threads
    );

    let identity::LogIdentity {
        store,
        signer,
        origin,
    } = id;
    let mut store = Some(store);
    let db_dir = args.data.join("db");
    let mut since_reopen = 0u64;
    let chunks = n.div_ceil(CHUNK);
    let workers = args.threads.max(1) as u64;
    let mut frontier = store.as_ref().expect("open").frontier()?;
    register_tenants(
        store.as_ref().expect("open"),
        &signer,
        &origin,
        &mut frontier,
        &tenants,
    )?;
    let mut written_bytes = 0u64;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        // One bounded channel per worker; chunk k goes to worker k % workers,
        // so reading the channels round-robin yields the chunks in order.
        let receivers: Vec<mpsc::Receiver<Vec<Entry>>> = (0..workers)
            .map(|w| {
                // Room for a whole store batch per worker, so signing goes on
                // while the writer waits for sled's flush.
                let bound = (args.batch as u64 / CHUNK / workers + 2) as usize;
                let (tx, rx) = mpsc::sync_channel::<Vec<Entry>>(bound);
                let tenants = &tenants;
                scope.spawn(move || {
                    let mut k = w;
                    while k < chunks {
                        let chunk: Vec<Entry> = (k * CHUNK..((k + 1) * CHUNK).min(n))
                            .map(|j| {
                                let tenant = (j % tenant_count) as u32;
                                let date = date_of(j / tenant_count, days);
                                let bytes = signed_statement(&tenants[tenant as usize], date, j);
                                Entry {
                                    hash: leaf_hash(&bytes),
                                    bytes,
                                    tenant,
                                    date: format_date(date),
                                }
                            })
                            .collect();
                        if tx.send(chunk).is_err() {
                            return;
                        }
                        k += workers;
                    }
                });
                rx
            })
            .collect();

        let mut pending: Vec<Entry> = Vec::with_capacity(args.batch + CHUNK as usize);
        let mut last_report = Instant::now();
        for k in 0..chunks {
            let chunk = receivers[(k % workers) as usize]
                .recv()
                .map_err(|_| anyhow::anyhow!("a signing thread stopped"))?;
            pending.extend(chunk);
            if pending.len() >= args.batch || k + 1 == chunks {
                let first = frontier.size();
                let mut nodes = Vec::with_capacity(pending.len() * 2);
                for e in &pending {
                    frontier.append(e.hash, |node, h| nodes.push((node, *h)));
                }
                let leaves: Vec<NewLeaf<'_>> = pending
                    .iter()
                    .enumerate()
                    .map(|(i, e)| NewLeaf {
                        index: first + i as u64,
                        bytes: &e.bytes,
                        hash: e.hash,
                        rows: LeafRows::Statement {
                            tenant: &tenants[e.tenant as usize].id,
                            date: &e.date,
                        },
                    })
                    .collect();
                let size = frontier.size();
                let checkpoint = SignedCheckpoint::sign(&signer, &origin, size, frontier.root());
                let db = store.as_ref().expect("open");
                db.integrate(&leaves, &nodes, size, checkpoint.note.as_bytes())?;
                since_reopen += leaves.len() as u64;
                drop(leaves);
                if args.reopen_every > 0 && since_reopen >= args.reopen_every {
                    // sled 0.34 keeps far more than its cache capacity resident
                    // while bulk writing; closing and reopening releases it.
                    drop(store.take());
                    store = Some(reopen(&db_dir)?);
                    since_reopen = 0;
                }
                written_bytes += pending.iter().map(|e| e.bytes.len() as u64).sum::<u64>();
                pending.clear();
                if last_report.elapsed().as_secs() >= 5 || size == n {
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "load: {size}/{n} entries, {:.0}/s, {:.0} s left",
                        size as f64 / secs,
                        (n - size) as f64 * secs / size as f64
                    );
                    last_report = Instant::now();
                }
            }
        }
        Ok(())
    })?;
    if let Some(store) = store.take() {
        store.flush()?;
    }
    let load_secs = started.elapsed().as_secs_f64();

    let disk = disk_usage(args.data);
    let avg = written_bytes as f64 / n as f64;
    let per_entry = disk as f64 / n as f64;
    eprintln!(
        "load: {n} entries in {load_secs:.1} s; {disk} bytes on disk = {per_entry:.0} bytes/entry vs {:.0} raw (statement + 32) = {:.2}x",
        avg + 32.0,
        per_entry / (avg + 32.0)
    );
    ResultLine::new("load")
        .field("entries", n)
        .field("tenants", tenant_count)
        .float("seconds", load_secs)
        .float("entries_per_sec", n as f64 / load_secs)
        .float("avg_statement_bytes", avg)
        .field("disk_bytes", disk)
        .float("bytes_per_entry", per_entry)
        .float("raw_bytes_per_entry", avg + 32.0)
        .float("disk_ratio", per_entry / (avg + 32.0))
        .print();
    Ok(())
}

/// Registers every tenant as the server does: one signed `tenant-key/v1`
/// entry each, at the start of the log, with its tenant record.
fn register_tenants(
    store: &Store,
    signer: &Signer,
    origin: &str,
    frontier: &mut Frontier,
    tenants: &[Tenant],
) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let first = frontier.size();
    let mut entries = Vec::with_capacity(tenants.len());
    let mut nodes = Vec::new();
    for t in tenants {
        let index = frontier.size();
        let (bytes, record) = registration_entry(signer, &t.id, &t.signer.vkey(), index, now)?;
        let hash = leaf_hash(&bytes);
        frontier.append(hash, |node, h| nodes.push((node, *h)));
        entries.push((bytes, hash, record));
    }
    let leaves: Vec<NewLeaf<'_>> = entries
        .iter()
        .enumerate()
        .map(|(i, (bytes, hash, record))| NewLeaf {
            index: first + i as u64,
            bytes,
            hash: *hash,
            rows: LeafRows::KeyChange(record),
        })
        .collect();
    let size = frontier.size();
    let checkpoint = SignedCheckpoint::sign(signer, origin, size, frontier.root());
    store.integrate(&leaves, &nodes, size, checkpoint.note.as_bytes())?;
    Ok(())
}

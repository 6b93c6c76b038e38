//! `export`: an archive export to measure `rootlog verify-export` on, built
//! against a real log: N hash-chained records spread over D days, written
//! as a manifest (docs/export-manifest.md) streamed to disk, each day's
//! daily-root statement (records, RFC 6962 root, chain line) signed by a
//! fresh tenant key and submitted to the log at `--log`, and each day's
//! receipt fetched (`LogClient::receipt`), verified, and written to
//! `<out>/receipts/`. The log must accept history (`rootlog serve
//! --max-statement-age none`, as scripts/bench starts it).
//!
//! `sha-baseline`: the single-core SHA-256 rate over the same messages
//! `verify-export` hashes for such an export (one 33-byte leaf message per
//! record, one 65-byte node message per inner node of every day's tree and
//! of the tree over all records), for reading its rate as a fraction.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rootlog::client::LogClient;
use rootlog::merkle::{leaf_hash, Frontier, Hash};
use rootlog::note::{Note, Signer, Verifier};
use rootlog::statement::{format_date, ChainHead, Statement};
use rootlog::timebound::MaxDelay;
use rootlog::verdict::Outcome;
use rootlog::verify::Trust;
use sha2::{Digest, Sha256};

use crate::stats::ResultLine;

pub struct ExportArgs {
    pub log: String,
    pub token: String,
    /// The log's vkey, or `@FILE`.
    pub log_key: String,
    pub out: PathBuf,
    pub records: u64,
    pub days: u32,
    pub first_day: time::Date,
}

const CHANNELS: [&str; 5] = ["email", "linkedin", "whatsapp", "signal", "imessage"];

/// Lower-case hex of a hash into `out` (64 bytes).
fn hex_into(hash: &Hash, out: &mut [u8; 64]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in hash.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `second` seconds into `day`.
fn timestamp(day: time::Date, second: u64) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(day),
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

fn read_key(text: &str) -> anyhow::Result<Verifier> {
    let text = match text.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => text.to_string(),
    };
    Verifier::from_vkey(text.trim()).map_err(|e| anyhow::anyhow!("--log-key: {e}"))
}

/// One day of the export, as its statement must say it.
struct Day {
    date: time::Date,
    records: u64,
    root: Hash,
    head: Option<ChainHead>,
}

/// Writes the manifest of `args.records` records to `path`; returns the days
/// and the number of non-empty days.
fn write_manifest(args: &ExportArgs, tenant: &str, path: &Path) -> anyhow::Result<(Vec<Day>, u64)> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let last_day = args.first_day + time::Duration::days(i64::from(args.days) - 1);
    write!(
        w,
        "{{\n  \"schema_version\": \"1.0\",\n  \"tenant_id\": \"{tenant}\",\n  \"generated_by\": \"rootlog-bench export\",\n  \"range\": {{\n    \"from\": \"{}\",\n    \"to\": \"{}\"\n  }},\n  \"records\": [",
        format_date(args.first_day),
        format_date(last_day)
    )?;
    let mut all = Frontier::new();
    let mut prev: Hash = [0u8; 32];
    let mut seq = 0u64;
    let mut days = Vec::with_capacity(args.days as usize);
    let mut non_empty = 0;
    let (per_day, extra) = (
        args.records / u64::from(args.days),
        args.records % u64::from(args.days),
    );
    let (mut sha_hex, mut prev_hex) = ([0u8; 64], [0u8; 64]);
    for d in 0..u64::from(args.days) {
        let date = args.first_day + time::Duration::days(d as i64);
        let count = per_day + u64::from(d < extra);
        let mut tree = Frontier::new();
        for i in 0..count {
            seq += 1;
            let sha: Hash = Sha256::new()
                .chain_update(b"rootlog-bench export record ")
                .chain_update(seq.to_be_bytes())
                .finalize()
                .into();
            hex_into(&sha, &mut sha_hex);
            hex_into(&prev, &mut prev_hex);
            w.write_all(if seq == 1 { b"\n    {" } else { b",\n    {" })?;
            write!(
                w,
                "\"captured_at\": \"{}\", \"channel\": \"{}\", \"prev_hash\": \"",
                timestamp(date, i * 86_400 / count),
                CHANNELS[(seq % 5) as usize]
            )?;
            w.write_all(&prev_hex)?;
            write!(w, "\", \"seq\": {seq}, \"sha256\": \"")?;
            w.write_all(&sha_hex)?;
            write!(w, "\", \"size_bytes\": {}}}", 300 + (seq * 31) % 5000)?;
            let leaf = leaf_hash(&sha);
            tree.append(leaf, |_, _| {});
            all.append(leaf, |_, _| {});
            prev = sha;
        }
        non_empty += u64::from(count > 0);
        days.push(Day {
            date,
            records: tree.size(),
            root: tree.root(),
            head: (seq > 0).then_some(ChainHead { seq, hash: prev }),
        });
    }
    let mut head_hex = [0u8; 64];
    hex_into(&prev, &mut head_hex);
    let mut root_hex = [0u8; 64];
    hex_into(&all.root(), &mut root_hex);
    write!(
        w,
        "\n  ],\n  \"chain_proof\": {{\n    \"head_seq\": {seq},\n    \"head_hash\": \"{}\",\n    \"merkle_root\": \"{}\",\n    \"published_to\": \"{}\"\n  }}\n}}\n",
        String::from_utf8_lossy(&head_hex),
        String::from_utf8_lossy(&root_hex),
        args.log.trim_end_matches('/')
    )?;
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?
        .sync_all()?;
    Ok((days, non_empty))
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    if args.days == 0 || args.records == 0 {
        bail!("--days and --records must be at least 1");
    }
    let started = Instant::now();
    let log_key = read_key(&args.log_key)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let tenant = "bench-export";
    let signer = Signer::generate(tenant).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(
        args.out.join(format!("{tenant}.vkey")),
        format!("{}\n", signer.vkey()),
    )?;
    let manifest = args.out.join("manifest.json");
    let (days, non_empty) = write_manifest(&args, tenant, &manifest)?;
    let manifest_bytes = std::fs::metadata(&manifest)?.len();
    eprintln!(
        "export: {} records over {} days, {manifest_bytes} bytes of manifest, in {:.1} s",
        args.records,
        args.days,
        started.elapsed().as_secs_f64()
    );

    let client = LogClient::new(&args.log);
    let (status, _) = client
        .add_tenant(&args.token, tenant, &signer.vkey())
        .await?;
    if status != 201 {
        bail!("registering {tenant}: {status}");
    }
    for day in &days {
        let text = Statement {
            tenant: tenant.into(),
            date: day.date,
            records: day.records,
            root: day.root,
            chain: day.head,
        }
        .to_text();
        let mut note = Note::new(text);
        note.signatures.push(signer.sign(note.text.as_bytes()));
        let (status, _) = client
            .submit(note.to_text().as_bytes())
            .await
            .with_context(|| format!("submitting {}", format_date(day.date)))?;
        if status != 201 && status != 200 {
            bail!("submitting {}: {status}", format_date(day.date));
        }
    }
    let receipts = args.out.join("receipts");
    std::fs::create_dir_all(&receipts)?;
    let trust = Trust {
        log_key: &log_key,
        origin: None,
        witnesses: &[],
        quorum: 0,
        tenant_key: None,
    };
    for day in &days {
        let date = format_date(day.date);
        let receipt = client
            .receipt(tenant, &date)
            .await
            .with_context(|| format!("the receipt for {date}"))?;
        let report = receipt.judge(&trust, MaxDelay::None);
        if let Some(bad) = report.checks.iter().find(|c| c.result != Outcome::Pass) {
            bail!(
                "the receipt for {date} does not verify: {}: {}",
                bad.check,
                bad.detail
            );
        }
        std::fs::write(receipts.join(format!("{date}.receipt")), receipt.to_json())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "export: {} statements submitted and receipts written in {seconds:.1} s",
        days.len()
    );
    // The messages verify-export hashes: a leaf per record, the inner nodes
    // of each day's tree (n - 1 for a day of n records) and of the tree over
    // all records (N - 1; the manifest has chain_proof.merkle_root).
    let day_nodes = args.records - non_empty;
    ResultLine::new("export")
        .field("records", args.records)
        .field("days", args.days)
        .field("manifest_bytes", manifest_bytes)
        .float("seconds", seconds)
        .field("leaf_messages", args.records)
        .field("node_messages", day_nodes + args.records - 1)
        .print();
    Ok(())
}

/// Hashes `leaves` 33-byte and `nodes` 65-byte messages with sha2 on this
/// thread, each message made of the previous digest (so none can be
/// skipped), and reports the time and the rate.
pub fn sha_baseline(leaves: u64, nodes: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut digest: Hash = [7u8; 32];
    let mut leaf = [0u8; 33];
    for _ in 0..leaves {
        leaf[1..].copy_from_slice(&digest);
        digest = Sha256::digest(leaf).into();
    }
    let mut node = [1u8; 65];
    for _ in 0..nodes {
        node[1..33].copy_from_slice(&digest);
        node[33..].copy_from_slice(&digest);
        digest = Sha256::digest(node).into();
    }
    let seconds = started.elapsed().max(Duration::from_nanos(1)).as_secs_f64();
    std::hint::black_box(digest);
    let bytes = leaves * 33 + nodes * 65;
    eprintln!(
        "sha-baseline: {leaves} leaf and {nodes} node messages ({bytes} bytes) in {seconds:.3} s on one thread"
    );
    ResultLine::new("sha-baseline")
        .field("leaf_messages", leaves)
        .field("node_messages", nodes)
        .field("bytes", bytes)
        .float("seconds", seconds)
        .float("bytes_per_sec", bytes as f64 / seconds)
        .print();
    Ok(())
}

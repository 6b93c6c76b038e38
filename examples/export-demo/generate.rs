//! The synthetic archive behind `scripts/export-demo`: a hash-chained run
//! of records over several days, each day's RFC 6962 root, the tenant's
//! signed daily-root statements (with their `chain` lines), and the export
//! manifest (docs/export-manifest.md). Pure and deterministic for a given
//! seed and key; submitting is the caller's job. The tests include this file
//! too, so they exercise exactly what the demo produces.

use rootlog::merkle::{leaf_hash, Frontier, Hash};
use rootlog::note::{Note, Signer};
use rootlog::statement::{format_date, ChainHead, Statement};
use sha2::{Digest, Sha256};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub tenant: String,
    pub first_day: time::Date,
    pub days: u32,
    /// Average records per day (each day varies around it, some a lot fewer).
    pub records_per_day: u32,
    /// Changes every message, so two tenants' exports differ.
    pub seed: u64,
    /// The tlog-tiles URL prefix of the log (or its mirror) the roots are
    /// published to, for the manifest's `chain_proof.published_to`.
    pub published_to: String,
    /// For tests: sign these two days' statements with each other's records,
    /// root and chain line, so the log disagrees with the export.
    pub swap_statements: Option<(usize, usize)>,
}

/// A generated export.
pub struct Generated {
    /// The manifest, ready to be written as JSON.
    pub manifest: serde_json::Value,
    /// One signed statement per day, in day order.
    pub statements: Vec<Vec<u8>>,
    /// (date, records, root) per day.
    pub days: Vec<(String, u64, Hash)>,
}

fn channel(seed: u64, seq: u64) -> &'static str {
    const CHANNELS: [&str; 5] = ["email", "linkedin", "whatsapp", "signal", "imessage"];
    CHANNELS[((seq ^ seed) % 5) as usize]
}

/// A realistic-looking captured message; only its SHA-256 goes anywhere.
fn message(seed: u64, seq: u64, tenant: &str) -> String {
    let channel = channel(seed, seq);
    format!(
        "channel: {channel}\nfrom: trader{}@{tenant}.example\nto: client{}@example.com\nsubject: order {}\n\nPlease confirm the allocation for ticket {}-{seq}.\n",
        seq % 37,
        (seq * 7 + seed) % 101,
        seq * 13 + seed,
        seed
    )
}

/// Builds the records, days, statements and manifest.
pub fn generate(signer: &Signer, o: &Options) -> Generated {
    let mut records = Vec::new();
    let mut days = Vec::new();
    let mut heads: Vec<Option<ChainHead>> = Vec::new();
    let mut prev: Hash = [0u8; 32];
    let mut seq = 0u64;
    let mut all = Frontier::new();
    let mut day = o.first_day;
    for d in 0..o.days {
        // Weekends and quiet days: between a tenth and 1.5 times the average.
        let spread = ((o.seed + u64::from(d) * 7919) % 140) + 10;
        let count = u64::from(o.records_per_day) * spread / 100;
        let mut tree = Frontier::new();
        for i in 0..count {
            seq += 1;
            let sha: Hash = Sha256::digest(message(o.seed, seq, &o.tenant)).into();
            // Spread the day's records over 00:00:00..23:59:59 UTC.
            let second = (i * 86_400 / count.max(1)) as i64;
            let at = day.midnight().assume_utc() + time::Duration::seconds(second);
            let captured_at = at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            records.push(serde_json::json!({
                "seq": seq,
                "sha256": hex::encode(sha),
                "prev_hash": hex::encode(prev),
                "captured_at": captured_at,
                "channel": channel(o.seed, seq),
                "size_bytes": 300 + (seq * 31) % 5000,
            }));
            tree.append(leaf_hash(&sha), |_, _| {});
            all.append(leaf_hash(&sha), |_, _| {});
            prev = sha;
        }
        days.push((format_date(day), tree.size(), tree.root()));
        heads.push((seq > 0).then_some(ChainHead { seq, hash: prev }));
        day = day.next_day().unwrap_or(day);
    }

    // The statement for day k says what day `source(k)` holds (k itself unless swapped).
    let source = |k: usize| match o.swap_statements {
        Some((a, b)) if k == a => b,
        Some((a, b)) if k == b => a,
        _ => k,
    };
    let statements = (0..days.len())
        .map(|k| {
            let (_, records, root) = days[source(k)];
            let text = Statement {
                tenant: o.tenant.clone(),
                date: rootlog::statement::parse_date(&days[k].0).unwrap_or(o.first_day),
                records,
                root,
                chain: heads[source(k)],
            }
            .to_text();
            let mut note = Note::new(text);
            note.signatures.push(signer.sign(note.text.as_bytes()));
            note.to_text().into_bytes()
        })
        .collect();

    let manifest = serde_json::json!({
        "schema_version": "1.0",
        "tenant_id": o.tenant,
        "generated_by": "rootlog examples/export-demo",
        "range": {
            "from": days.first().map(|d| d.0.clone()).unwrap_or_default(),
            "to": days.last().map(|d| d.0.clone()).unwrap_or_default(),
        },
        "records": records,
        "chain_proof": {
            "head_seq": seq,
            "head_hash": hex::encode(prev),
            "merkle_root": hex::encode(all.root()),
            "published_to": o.published_to,
        },
    });
    Generated {
        manifest,
        statements,
        days,
    }
}

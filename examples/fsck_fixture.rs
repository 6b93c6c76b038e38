//! Builds a large, valid log directly through the storage layer, to measure
//! `rootlog fsck` on logs far bigger than the HTTP tests can build quickly.
//!
//! ```sh
//! cargo run --release --example fsck_fixture -- /tmp/big-log 1000000
//! time target/release/rootlog fsck --data /tmp/big-log
//! ```
//!
//! The log is what a real server would have written: signed daily-root
//! statements of 1000 tenants, integrated in batches of 4096 with the
//! perfect nodes they complete, every index row, and a checkpoint signed by
//! the log key per batch.

use std::path::PathBuf;

use rootlog::identity;
use rootlog::merkle::{leaf_hash, Frontier, Hash, NodeId};
use rootlog::note::{Checkpoint, Note, Signer};
use rootlog::statement::{format_date, Statement};
use rootlog::storage::{LeafRows, NewLeaf};

const TENANTS: u64 = 1000;
const BATCH: u64 = 4096;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(entries)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: fsck_fixture DATA_DIR ENTRIES");
    };
    let dir = PathBuf::from(dir);
    let entries: u64 = entries.parse()?;
    if dir.join("db").exists() {
        anyhow::bail!("{} already holds a log", dir.display());
    }
    let id = identity::open(&dir, Some("fsck.example/rootlog"))?;
    let tenants: Vec<Signer> = (0..TENANTS)
        .map(|i| Signer::generate(&format!("tenant-{i:04}")))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let epoch = time::macros::date!(1970 - 01 - 01);
    let mut tree = Frontier::new();
    let started = std::time::Instant::now();
    let mut next = 0u64;
    while next < entries {
        let end = (next + BATCH).min(entries);
        let mut notes: Vec<(Vec<u8>, Hash, String, String)> = Vec::new();
        let mut nodes: Vec<(NodeId, Hash)> = Vec::new();
        for n in next..end {
            let signer = &tenants[(n % TENANTS) as usize];
            let date = epoch + time::Duration::days((n / TENANTS) as i64);
            let statement = Statement {
                tenant: signer.name().to_string(),
                date,
                records: n + 1,
                root: leaf_hash(&n.to_be_bytes()),
                chain: None,
            };
            let mut note = Note::new(statement.to_text());
            note.signatures.push(signer.sign(note.text.as_bytes()));
            let bytes = note.to_text().into_bytes();
            let hash = leaf_hash(&bytes);
            tree.append(hash, |id, h| nodes.push((id, *h)));
            notes.push((bytes, hash, statement.tenant.clone(), format_date(date)));
        }
        let leaves: Vec<NewLeaf<'_>> = notes
            .iter()
            .enumerate()
            .map(|(i, (bytes, hash, tenant, date))| NewLeaf {
                index: next + i as u64,
                bytes,
                hash: *hash,
                rows: LeafRows::Statement { tenant, date },
            })
            .collect();
        let mut checkpoint = Note::new(Checkpoint::new(&id.origin, end, tree.root()).to_text());
        checkpoint
            .signatures
            .push(id.signer.sign(checkpoint.text.as_bytes()));
        id.store
            .integrate(&leaves, &nodes, end, checkpoint.to_text().as_bytes())?;
        next = end;
        if next.is_multiple_of(BATCH * 64) || next == entries {
            eprintln!("{next} entries ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    println!("built a log of {entries} entries in {}", dir.display());
    Ok(())
}

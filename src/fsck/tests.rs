//! Unit tests of the full and recent checks over small logs built in place.

use super::indexes::record_location;
use super::report::{key_location, Findings};
use super::*;
use crate::merkle::{leaf_hash, Frontier, NodeId};
use crate::note::{Checkpoint, Note, Signer};
use crate::statement::Statement;
use crate::storage::{LeafRows, NewLeaf};

/// A store with `n` valid statements, integrated in batches of 3, each with
/// a checkpoint signed by the returned log key.
fn log(n: u64) -> (tempfile::TempDir, Store, Signer) {
    log_in_batches(n, 3)
}

fn log_in_batches(n: u64, batch: u64) -> (tempfile::TempDir, Store, Signer) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let log_key = Signer::generate("test.example/log").unwrap();
    store.set_origin("test.example/log").unwrap();
    let tenant = Signer::generate("acme").unwrap();
    let mut tree = Frontier::new();
    let sign = |tree: &Frontier| {
        let mut note =
            Note::new(Checkpoint::new("test.example/log", tree.size(), tree.root()).to_text());
        note.signatures.push(log_key.sign(note.text.as_bytes()));
        note.to_text()
    };
    store.put_checkpoint(0, sign(&tree).as_bytes()).unwrap();
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let mut rows = Vec::new();
        let mut nodes = Vec::new();
        for index in i..end {
            let statement = Statement {
                tenant: "acme".into(),
                date: time::macros::date!(2020 - 01 - 01) + time::Duration::days(index as i64),
                records: 1,
                root: leaf_hash(&index.to_be_bytes()),
                chain: None,
            };
            let mut note = Note::new(statement.to_text());
            note.signatures.push(tenant.sign(note.text.as_bytes()));
            let bytes = note.to_text().into_bytes();
            let hash = leaf_hash(&bytes);
            tree.append(hash, |id, h| nodes.push((id, *h)));
            rows.push((index, bytes, hash, statement.date_string()));
        }
        let leaves: Vec<NewLeaf<'_>> = rows
            .iter()
            .map(|(index, bytes, hash, date)| NewLeaf {
                index: *index,
                bytes,
                hash: *hash,
                rows: LeafRows::Statement {
                    tenant: "acme",
                    date,
                },
            })
            .collect();
        store
            .integrate(&leaves, &nodes, end, sign(&tree).as_bytes())
            .unwrap();
        i = end;
    }
    (dir, store, log_key)
}

#[test]
fn intact_logs_of_every_small_size_pass_both_checks() {
    for n in [0, 1, 2, 5, 8, 13] {
        let (_dir, store, key) = log(n);
        let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
        assert!(report.ok, "size {n}: {:?}", report.findings);
        assert_eq!(report.checked.leaves, n);
        assert_eq!(report.checked.nodes, 2 * n - u64::from(n.count_ones()));
        assert_eq!(report.checked.index_rows, n);
        let recent = check_recent(&store, &key.verifier()).unwrap();
        assert!(recent.ok, "size {n}: {:?}", recent.findings);
    }
}

#[test]
fn the_leaf_hash_runs_answer_lookups_and_are_checked() {
    use crate::storage::hash_runs::RUN_LEAVES;
    let n = RUN_LEAVES + 10;
    let (_dir, store, key) = log_in_batches(n, 8192);
    let leaf = |i| store.node(NodeId::new(0, i)).unwrap().unwrap();
    // In the run, and in the tail past it.
    for i in [0, 12_345, RUN_LEAVES - 1, RUN_LEAVES, n - 1] {
        assert_eq!(store.index_of_hash(&leaf(i)).unwrap(), Some(i));
    }
    assert_eq!(store.index_of_hash(&[0xAB; 32]).unwrap(), None);
    let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(report.checked.index_rows, n + RUN_LEAVES);

    // Zero the first entry's prefix (it stays the smallest, so in order).
    let run = store.hash_index_dir().join(format!("run-0-{RUN_LEAVES}"));
    let mut bytes = std::fs::read(&run).unwrap();
    let damaged = u64::from_be_bytes(bytes[8..16].try_into().unwrap());
    bytes[..8].fill(0);
    std::fs::write(&run, &bytes).unwrap();
    let report = check_store(&store, &key.verifier(), &mut |_, _, _| {}).unwrap();
    let location = format!("hash-index/run-0-{RUN_LEAVES}");
    assert_eq!(
        report.findings,
        vec![Finding {
            kind: FindingKind::HashIndexDamaged,
            location,
            detail: format!("the entry for index {damaged} does not match its leaf hash"),
        }]
    );
    // A damaged run makes the lookup miss; it never names another leaf.
    assert_eq!(store.index_of_hash(&leaf(damaged)).unwrap(), None);
}

#[test]
fn another_log_key_fails_every_checkpoint_and_names_the_key() {
    let (_dir, store, _) = log(4);
    let other = Signer::generate("other.example/log").unwrap();
    let report = check_store(&store, &other.verifier(), &mut |_, _, _| {}).unwrap();
    assert!(!report.ok);
    assert!(report.findings.iter().any(|f| f.kind == "log_key_name"));
    let signatures = report
        .findings
        .iter()
        .filter(|f| f.kind == "checkpoint_signature")
        .count() as u64;
    assert_eq!(signatures, report.checked.checkpoints);
}

#[test]
fn findings_are_capped_but_counted() {
    let mut f = Findings::new(2);
    for i in 0..5 {
        f.push(FindingKind::LeafMissing, format!("index {i}"), "");
    }
    assert_eq!(f.total, 5);
    assert_eq!(f.list.len(), 2);
}

#[test]
fn key_locations_are_readable() {
    assert_eq!(key_location(b"Sacme/2026-01"), "S acme/2026-01");
    assert_eq!(
        record_location(b"Sacme/2026-01", 5),
        "S acme/2026-01 day 05"
    );
    assert_eq!(key_location(b"C\x01x"), "C 0178");
    assert_eq!(key_location(b"S\x01x"), "S 0178");
    assert_eq!(key_location(b""), "(empty key)");
}

//! Signed-note micro-benchmarks: note parsing, Ed25519 `verify_strict`
//! through a note verifier, checkpoint parse and sign, and the whole
//! statement check the submit handler runs before queueing
//! (`parse_submission` + `verify_tenant_signatures`).
//!
//! `cargo bench --bench note`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rootlog::merkle::leaf_hash;
use rootlog::note::{open, Checkpoint, Note, Signer};
use rootlog::statement::{
    parse_date, parse_submission, verify_tenant_signatures, ChainHead, Statement,
};

/// A production-like ~300-byte statement (with a chain line) signed by its tenant.
fn statement(signer: &Signer) -> Vec<u8> {
    let text = Statement {
        tenant: signer.name().to_string(),
        date: parse_date("2026-01-02").expect("date"),
        records: 123_456,
        root: leaf_hash(b"root"),
        chain: Some(ChainHead {
            seq: 40_123_000,
            hash: leaf_hash(b"chain"),
        }),
    }
    .to_text();
    let mut note = Note::new(text);
    note.signatures.push(signer.sign(note.text.as_bytes()));
    note.to_text().into_bytes()
}

fn notes(c: &mut Criterion) {
    let tenant = Signer::generate("acme-securities").expect("key");
    let verifier = tenant.verifier();
    let bytes = statement(&tenant);
    let note = Note::parse(&bytes).expect("note");

    c.bench_function("note_parse/statement", |b| {
        b.iter(|| Note::parse(black_box(&bytes)).expect("parses"))
    });
    c.bench_function("note_open/verify_strict", |b| {
        let keys = [verifier.clone()];
        b.iter(|| open(black_box(&note), &keys).expect("verifies"))
    });
    c.bench_function("statement_check/parse_submission+verify", |b| {
        let keys = [verifier.clone()];
        b.iter(|| {
            let (note, st) = parse_submission(black_box(&bytes)).expect("valid");
            verify_tenant_signatures(&note, &st.tenant, &keys).expect("verifies")
        })
    });
    c.bench_function("note_sign/statement", |b| {
        b.iter(|| tenant.sign(black_box(note.text.as_bytes())))
    });

    let log = Signer::generate("log.example/rootlog").expect("key");
    let checkpoint =
        Checkpoint::new("log.example/rootlog", 10_000_000, leaf_hash(b"head")).to_text();
    c.bench_function("checkpoint_parse", |b| {
        b.iter(|| Checkpoint::parse(black_box(&checkpoint)).expect("parses"))
    });
    c.bench_function("checkpoint_sign", |b| {
        b.iter(|| log.sign(black_box(checkpoint.as_bytes())))
    });
}

criterion_group!(benches, notes);
criterion_main!(benches);

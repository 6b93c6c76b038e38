//! `limits`: what one core of this machine can do for the two operations
//! that bound the log, so results can be read as a fraction of the physical
//! limit: Ed25519 `verify_strict` (one per submission) and SHA-256 node
//! hashing (proofs, tree heads). Also the whole statement check the HTTP
//! handler runs (parse + verify), and signing (the bulk loader's cost).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rootlog::merkle::{leaf_hash, node_hash};
use rootlog::statement::{parse_submission, verify_tenant_signatures};

use crate::statements::{signed_statement, Tenant};
use crate::stats::ResultLine;

/// Calls `f` in rounds of 64 until `budget` has passed; returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        calls += 64;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

pub fn run(seconds: f64) -> anyhow::Result<()> {
    let budget = Duration::from_secs_f64(seconds);
    let tenant = Tenant::generate("tenant-limits".into())?;
    let statement = signed_statement(&tenant, time::macros::date!(2026 - 01 - 02), 7);
    let (note, parsed) = parse_submission(&statement).map_err(|e| anyhow::anyhow!("{e}"))?;
    let verifier = tenant.signer.verifier();
    let text = note.text.as_bytes().to_vec();
    let signature = note.signatures[0].signature.clone();

    let verify = rate(budget, || {
        assert!(verifier.verify(black_box(&text), black_box(&signature)));
    });
    let mut h = leaf_hash(b"seed");
    let other = leaf_hash(b"other");
    let node = rate(budget, || {
        h = node_hash(black_box(&h), &other);
    });
    black_box(h);
    let keys = [verifier.clone()];
    let check = rate(budget, || {
        let (note, st) = parse_submission(black_box(&statement)).expect("valid");
        verify_tenant_signatures(&note, &st.tenant, &keys).expect("verifies");
    });
    let leaf = rate(budget, || {
        black_box(leaf_hash(black_box(&statement)));
    });
    let sign = rate(budget, || {
        black_box(tenant.signer.sign(black_box(&text)));
    });
    let _ = parsed;

    eprintln!("single core, {seconds} s each:");
    eprintln!("  ed25519 verify_strict:         {verify:>12.0} /s");
    eprintln!("  node_hash (SHA-256, 65 bytes): {node:>12.0} /s");
    eprintln!("  statement check (parse+verify):{check:>12.0} /s");
    eprintln!(
        "  leaf_hash of a {}-byte statement: {leaf:>9.0} /s",
        statement.len()
    );
    eprintln!("  ed25519 sign:                  {sign:>12.0} /s");
    ResultLine::new("limits")
        .float("verify_per_sec", verify)
        .float("node_hash_per_sec", node)
        .float("statement_check_per_sec", check)
        .float("leaf_hash_per_sec", leaf)
        .float("sign_per_sec", sign)
        .field("statement_bytes", statement.len())
        .print();
    Ok(())
}

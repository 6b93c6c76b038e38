#![no_main]
// Checks: proof planning/assembly/verification never panic for any u64 sizes, and real proofs from a real tree verify while any flipped byte makes them fail.
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use rootlog::merkle::{
    consistency_plan, inclusion_plan, leaf_hash, root_from_inclusion, root_plan,
    verify_consistency, verify_inclusion, Frontier, Hash, NodeId, ProofPlan, MAX_PROOF_HASHES,
};

fn u64_at(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    for (j, byte) in b.iter_mut().enumerate() {
        *byte = data.get(8 * i + j).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

/// A stand-in hash for a node: distinct per coordinate.
fn fake(id: &NodeId) -> Hash {
    let mut b = [0u8; 9];
    b[0] = id.level;
    b[1..].copy_from_slice(&id.index.to_be_bytes());
    leaf_hash(&b)
}

/// Every planned node is a perfect subtree inside a tree of `size` leaves,
/// the proof is no longer than the tree is deep (`extra` = 1 more for a
/// consistency proof's own starting node), and assembly gives `proof_len`
/// hashes (or refuses a wrong hash count).
fn check_plan(plan: &ProofPlan, size: u64, extra: usize) {
    for id in &plan.nodes {
        assert!(id.level < 64);
        assert!(
            (u128::from(id.index) + 1) << id.level <= u128::from(size),
            "{id:?} outside {size}"
        );
    }
    let hashes: Vec<Hash> = plan.nodes.iter().map(fake).collect();
    let proof = plan.assemble(&hashes).unwrap();
    assert_eq!(proof.len(), plan.proof_len());
    // ceil(log2(size)): 64 for trees above 2^63 leaves.
    let depth = (64 - (size - 1).leading_zeros()) as usize;
    assert!(
        proof.len() <= depth + extra,
        "{} hashes for size {size}",
        proof.len()
    );
    assert!(
        plan.assemble(&hashes[..hashes.len().saturating_sub(1)])
            .is_err()
            || hashes.is_empty()
    );
    let mut more = hashes.clone();
    more.push([0; 32]);
    assert!(plan.assemble(&more).is_err());
}

fn flip(bytes: &mut [Hash], at: usize, bit: u8) {
    bytes[at / 32][at % 32] ^= 1 << (bit % 8);
}

fuzz_target!(|data: &[u8]| {
    let (index, size, old, new) = (
        u64_at(data, 0),
        u64_at(data, 1),
        u64_at(data, 2),
        u64_at(data, 3),
    );
    let sel = u64_at(data, 4);
    let rest = data.get(40..).unwrap_or(&[]);
    let hashes: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap())
        .collect();
    let zero = [0u8; 32];
    let a = hashes.first().unwrap_or(&zero);
    let b = hashes.get(1).unwrap_or(&zero);
    let proof = hashes.get(2..).unwrap_or(&[]);

    // 1. Arbitrary inputs: no panic, and the verifiers agree with each other.
    if let Ok(root) = root_from_inclusion(index, size, a, proof) {
        assert!(index < size && proof.len() <= MAX_PROOF_HASHES);
        assert_eq!(verify_inclusion(index, size, a, proof, &root), Ok(()));
    }
    if verify_inclusion(index, size, a, proof, b).is_ok() {
        assert_eq!(root_from_inclusion(index, size, a, proof), Ok(*b));
    }
    if verify_consistency(old, new, a, b, proof).is_ok() {
        assert!(0 < old && old <= new && proof.len() <= MAX_PROOF_HASHES);
    }
    match inclusion_plan(index, size) {
        Ok(plan) => check_plan(&plan, size, 0),
        Err(_) => assert!(index >= size),
    }
    match consistency_plan(old, new) {
        Ok(plan) => check_plan(&plan, new, 1),
        Err(_) => assert!(old == 0 || old > new),
    }
    for id in root_plan(size) {
        assert!((u128::from(id.index) + 1) << id.level <= u128::from(size));
    }

    // 2. Differential: a real tree of 1..=200 leaves.
    let n = size % 200 + 1;
    let salt = (sel >> 56) as u8;
    let mut frontier = Frontier::new();
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    let mut roots = vec![frontier.root()];
    for i in 0..n {
        frontier.append(leaf_hash(&[salt, i as u8, (i >> 8) as u8]), |id, h| {
            nodes.insert(id, *h);
        });
        roots.push(frontier.root());
    }
    let root = frontier.root();
    let read = |ids: &[NodeId]| -> Vec<Hash> {
        ids.iter()
            .map(|id| *nodes.get(id).expect("planned node not stored"))
            .collect()
    };
    let edge = read(&root_plan(n));
    assert_eq!(Frontier::from_parts(n, edge).unwrap().root(), root);

    // Inclusion of leaf `i`: verifies; a flipped bit of leaf, root or proof does not.
    let i = index % n;
    let plan = inclusion_plan(i, n).unwrap();
    let mut proof = plan.assemble(&read(&plan.nodes)).unwrap();
    let leaf = nodes[&NodeId::new(0, i)];
    assert_eq!(verify_inclusion(i, n, &leaf, &proof, &root), Ok(()));
    let mut all = vec![leaf, root];
    all.append(&mut proof);
    let at = (sel as usize) % (all.len() * 32);
    flip(&mut all, at, (sel >> 32) as u8);
    assert!(
        verify_inclusion(i, n, &all[0], &all[2..], &all[1]).is_err(),
        "flipped inclusion proof verified"
    );

    // Consistency from `m` to `n`: verifies; a flipped bit anywhere does not.
    let m = old % n + 1;
    let plan = consistency_plan(m, n).unwrap();
    let mut proof = plan.assemble(&read(&plan.nodes)).unwrap();
    assert_eq!(
        verify_consistency(m, n, &roots[m as usize], &root, &proof),
        Ok(())
    );
    let mut all = vec![roots[m as usize], root];
    all.append(&mut proof);
    let at = (sel as usize >> 8) % (all.len() * 32);
    flip(&mut all, at, (sel >> 40) as u8);
    assert!(
        verify_consistency(m, n, &all[0], &all[1], &all[2..]).is_err(),
        "flipped consistency proof verified"
    );
});

//! Merkle micro-benchmarks: leaf and node hashing, the tree head from a
//! frontier, inclusion and consistency proof generation from an in-memory
//! node store, and proof verification, at 10^3 to 10^7 leaves.
//!
//! A real store of every perfect node is built once per process up to 10^6
//! leaves (2 x 10^6 hashes = 64 MB). At 10^7 a real store would be 640 MB, so
//! proof generation there reads a *synthetic* store whose node values are a
//! cheap function of the node's coordinates: the plan, the reads and the
//! fold are the same work, only the hashes are not a real tree's (so those
//! proofs are generated but not verified). The tree head needs only the
//! frontier, which `Frontier::from_parts` takes for any size directly.
//!
//! `cargo bench --bench merkle`

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rootlog::merkle::{
    consistency_plan, inclusion_plan, leaf_hash, node_hash, root_plan, verify_consistency,
    verify_inclusion, Frontier, Hash, NodeId,
};

const SIZES: [u64; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];
/// The largest tree built for real in memory.
const REAL_MAX: u64 = 1_000_000;

/// Every perfect node of a real tree of `REAL_MAX` leaves, by level.
struct Store {
    levels: Vec<Vec<Hash>>,
}

impl Store {
    fn read(&self, ids: &[NodeId]) -> Vec<Hash> {
        ids.iter()
            .map(|id| self.levels[id.level as usize][id.index as usize])
            .collect()
    }

    /// Root of the prefix of `size` leaves, from stored nodes only.
    fn root(&self, size: u64) -> Hash {
        self.read(&root_plan(size))
            .into_iter()
            .rev()
            .reduce(|right, left| node_hash(&left, &right))
            .expect("size > 0")
    }
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut frontier = Frontier::new();
        for i in 0..REAL_MAX {
            frontier.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                let level = id.level as usize;
                if levels.len() <= level {
                    levels.resize_with(level + 1, Vec::new);
                }
                levels[level].push(*h);
            });
        }
        Store { levels }
    })
}

/// Stand-in node value for the synthetic store: distinct per node, no hashing.
fn synthetic(id: &NodeId) -> Hash {
    let mut h = [0u8; 32];
    h[0] = id.level;
    h[8..16].copy_from_slice(&id.index.to_le_bytes());
    h
}

/// Reads proof nodes from the real store when it covers `size`, else from the synthetic one.
fn read(ids: &[NodeId], size: u64) -> Vec<Hash> {
    if size <= REAL_MAX {
        store().read(ids)
    } else {
        ids.iter().map(synthetic).collect()
    }
}

fn hashing(c: &mut Criterion) {
    let statement = vec![b'x'; 300];
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    c.bench_function("leaf_hash/300B", |bench| {
        bench.iter(|| leaf_hash(black_box(&statement)))
    });
    c.bench_function("node_hash", |bench| {
        bench.iter(|| node_hash(black_box(&a), black_box(&b)))
    });
}

fn tree_head(c: &mut Criterion) {
    let mut group = c.benchmark_group("frontier_root");
    for size in SIZES {
        let nodes: Vec<Hash> = root_plan(size).iter().map(synthetic).collect();
        let frontier = Frontier::from_parts(size, nodes).expect("one node per set bit");
        group.bench_with_input(BenchmarkId::from_parameter(size), &frontier, |bench, f| {
            bench.iter(|| black_box(f).root())
        });
    }
    group.finish();
    c.bench_function("frontier_append", |bench| {
        let mut f = Frontier::new();
        let leaf = leaf_hash(b"leaf");
        bench.iter(|| {
            f.append(black_box(leaf), |_, h| {
                black_box(h);
            })
        })
    });
}

fn proofs(c: &mut Criterion) {
    let mut group = c.benchmark_group("inclusion_proof");
    for size in SIZES {
        // A spread of indexes, so the ephemeral right-edge fold is exercised too.
        let indexes: Vec<u64> = (0..64u64)
            .map(|k| (k * 7_919_993 + size / 3) % size)
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |bench, &size| {
            let mut k = 0;
            bench.iter(|| {
                k = (k + 1) % indexes.len();
                let plan = inclusion_plan(indexes[k], size).expect("index < size");
                plan.assemble(&read(&plan.nodes, size)).expect("proof")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("consistency_proof");
    for size in SIZES {
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |bench, &size| {
            let old = size / 3 + 1;
            bench.iter(|| {
                let plan = consistency_plan(black_box(old), size).expect("old <= size");
                plan.assemble(&read(&plan.nodes, size)).expect("proof")
            })
        });
    }
    group.finish();
}

fn verification(c: &mut Criterion) {
    let s = store();
    let size = REAL_MAX - 3;
    let root = s.root(size);
    let index = 123_457;
    let plan = inclusion_plan(index, size).expect("plan");
    let proof = plan.assemble(&s.read(&plan.nodes)).expect("proof");
    let leaf = s.levels[0][index as usize];
    c.bench_function("verify_inclusion/1e6", |bench| {
        bench.iter(|| verify_inclusion(index, size, black_box(&leaf), &proof, &root).expect("ok"))
    });
    let old = 333_333;
    let plan = consistency_plan(old, size).expect("plan");
    let proof = plan.assemble(&s.read(&plan.nodes)).expect("proof");
    let old_root = s.root(old);
    c.bench_function("verify_consistency/1e6", |bench| {
        bench.iter(|| {
            verify_consistency(old, size, black_box(&old_root), &root, &proof).expect("ok")
        })
    });
}

criterion_group!(benches, hashing, tree_head, proofs, verification);
criterion_main!(benches);

//! `witness`: concurrent `POST /add-checkpoint` with consistency proofs.
//!
//! A witness serialises updates per log origin (each request must start
//! from the size it last cosigned), so concurrency comes from many origins:
//! client k drives origin `<prefix>/<k>`, all signed by one log key (a key's
//! name need not equal the origin). Every checkpoint and proof is built and
//! signed before the clock starts. Start the witness with one
//! `--log <prefix>/<k>=<vkey>` per client; `rootlog-bench witness-logs`
//! prints those flags.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use rootlog::merkle::{consistency_plan, leaf_hash, node_hash, root_plan, Frontier, Hash};
use rootlog::note::{encode_b64, Checkpoint, Note, Signer};

use crate::conn::{describe, Conns};
use crate::driver::{closed_loop, Step};
use crate::rng::Rng;
use crate::stats::{report, ResultLine};

pub struct WitnessArgs {
    pub witness: String,
    pub log_key: Signer,
    pub origin_prefix: String,
    pub clients: usize,
    pub duration: Duration,
    pub requests_per_client: usize,
}

/// Every perfect node of a tree, by level: enough to answer any proof or root below its size.
struct NodeStore {
    levels: Vec<Vec<Hash>>,
}

impl NodeStore {
    fn build(size: u64) -> Self {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut frontier = Frontier::new();
        for i in 0..size {
            frontier.append(leaf_hash(&i.to_be_bytes()), |id, h| {
                let level = id.level as usize;
                if levels.len() <= level {
                    levels.resize_with(level + 1, Vec::new);
                }
                // Nodes of one level complete in index order.
                levels[level].push(*h);
            });
        }
        NodeStore { levels }
    }

    fn get(&self, ids: &[rootlog::merkle::NodeId]) -> Vec<Hash> {
        ids.iter()
            .map(|id| self.levels[id.level as usize][id.index as usize])
            .collect()
    }

    fn root(&self, size: u64) -> Hash {
        self.get(&root_plan(size))
            .into_iter()
            .rev()
            .reduce(|right, left| node_hash(&left, &right))
            .unwrap_or(rootlog::merkle::EMPTY_ROOT)
    }
}

/// The origin client `k` drives.
pub fn origin(prefix: &str, k: usize) -> String {
    format!("{prefix}/{k}")
}

pub async fn run(args: WitnessArgs) -> anyhow::Result<()> {
    let clients = args.clients.max(1);
    let per_client = args.requests_per_client.max(1);
    // Each origin grows from a different start by 1..16 leaves a request, so
    // proofs have realistic, varied lengths (~2 log2 n hashes).
    let plans: Vec<Vec<u64>> = (0..clients)
        .map(|k| {
            let mut rng = Rng::new(k as u64);
            let mut size = 1000 + rng.below(1000);
            (0..per_client)
                .map(|_| {
                    let s = size;
                    size += 1 + rng.below(16);
                    s
                })
                .collect()
        })
        .collect();
    let max_size = plans
        .iter()
        .filter_map(|p| p.last())
        .max()
        .copied()
        .unwrap_or(1);
    let store = NodeStore::build(max_size);
    let signer = &args.log_key;
    let bodies: Vec<Vec<String>> = std::thread::scope(|scope| {
        let store = &store;
        let handles: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(k, sizes)| {
                let origin = origin(&args.origin_prefix, k);
                scope.spawn(move || {
                    let mut old = 0u64;
                    sizes
                        .iter()
                        .map(|&size| {
                            let mut note = Note::new(
                                Checkpoint::new(&origin, size, store.root(size)).to_text(),
                            );
                            note.signatures.push(signer.sign(note.text.as_bytes()));
                            let mut body = format!("old {old}\n");
                            if old > 0 {
                                let plan = consistency_plan(old, size).expect("old <= size");
                                let proof = plan.assemble(&store.get(&plan.nodes)).expect("proof");
                                for h in proof {
                                    body.push_str(&encode_b64(&h));
                                    body.push('\n');
                                }
                            }
                            body.push('\n');
                            body.push_str(&note.to_text());
                            old = size;
                            body
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("builder thread"))
            .collect()
    });
    eprintln!(
        "witness: {clients} origins x {per_client} checkpoints built (tree up to {max_size} leaves)"
    );

    let bodies = Arc::new(bodies);
    let conns = Conns::new(args.witness.trim_end_matches('/'), clients)?;
    let run = closed_loop(clients, args.duration, move |client, n| {
        let body = bodies[client].get(n as usize).cloned();
        let conns = conns.clone();
        async move {
            let Some(body) = body else {
                return Step::Done;
            };
            match conns
                .post(client, "/add-checkpoint", "text/plain", Bytes::from(body))
                .await
            {
                Ok(a) if a.status == 200 => Step::Ok,
                Ok(a) => Step::Err(describe(&a)),
                Err(e) => Step::Err(e.into()),
            }
        }
    })
    .await;
    report("witness add-checkpoint", &run.rec, run.elapsed);
    if run.exhausted {
        eprintln!(
            "  note: some origins ran out of checkpoints before the deadline; raise --requests"
        );
    }
    ResultLine::new("witness")
        .field("clients", clients)
        .summary(&run.rec, run.elapsed)
        .field("exhausted", run.exhausted)
        .print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootlog::merkle::verify_consistency;

    #[test]
    fn store_roots_and_proofs_agree() {
        let store = NodeStore::build(300);
        for (old, new) in [(1u64, 2u64), (7, 300), (256, 299), (100, 100)] {
            let plan = consistency_plan(old, new).unwrap();
            let proof = plan.assemble(&store.get(&plan.nodes)).unwrap();
            verify_consistency(old, new, &store.root(old), &store.root(new), &proof).unwrap();
        }
    }
}

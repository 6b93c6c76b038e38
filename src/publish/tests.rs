//! The publishing flow into an in-memory bucket and a directory.
use std::time::Duration;

use super::*;
use crate::merkle::{leaf_hash, Frontier};
use crate::note::Signer;
use crate::storage::{LeafRows, NewLeaf};
use object_store::memory::InMemory;
use object_store::ObjectStore;

const ORIGIN: &str = "publish.example/log";

/// No witnesses: the published checkpoint is the log's own.
fn no_witnesses() -> WitnessPolicy {
    WitnessPolicy {
        witnesses: Vec::new(),
        quorum: 0,
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
    }
}

/// A log in a temporary directory, grown by `grow`.
struct Log {
    store: Store,
    signer: Signer,
    frontier: Frontier,
    _dir: tempfile::TempDir,
}

impl Log {
    fn new(origin: &str) -> Log {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        store.set_origin(origin).unwrap();
        Log {
            store,
            signer: Signer::generate(origin).unwrap(),
            frontier: Frontier::new(),
            _dir: dir,
        }
    }

    /// Appends entries up to `size` in one integration; its checkpoint.
    fn grow(&mut self, size: u64) -> SignedCheckpoint {
        let first = self.frontier.size();
        let bytes: Vec<Vec<u8>> = (first..size)
            .map(|i| format!("entry {i}\n").into_bytes())
            .collect();
        // One tenant per entry: each (tenant, date) is logged once.
        let tenants: Vec<String> = (first..size).map(|i| format!("t{i}")).collect();
        let mut nodes = Vec::new();
        let mut leaves = Vec::new();
        for (k, b) in bytes.iter().enumerate() {
            let hash = leaf_hash(b);
            self.frontier.append(hash, |node, h| nodes.push((node, *h)));
            leaves.push(NewLeaf {
                index: first + k as u64,
                bytes: b,
                hash,
                rows: LeafRows::Statement {
                    tenant: &tenants[k],
                    date: "2020-01-01",
                },
            });
        }
        let checkpoint = SignedCheckpoint::sign(&self.signer, ORIGIN, size, self.frontier.root());
        self.store
            .integrate(&leaves, &nodes, size, checkpoint.note.as_bytes())
            .unwrap();
        checkpoint
    }
}

fn bucket(store: Arc<InMemory>, rt: &tokio::runtime::Runtime) -> Arc<object::ObjectSink> {
    Arc::new(
        object::ObjectSink::with_store(store, "s3://b/log".into(), "log", rt.handle().clone())
            .unwrap(),
    )
}

#[test]
fn a_bucket_gets_tiles_before_checkpoints_keeps_partials_and_stops_on_other_bytes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let memory = Arc::new(InMemory::new());
    let sink = bucket(memory.clone(), &rt);
    let mut log = Log::new(ORIGIN);
    let key = log.signer.verifier();
    let first = log.grow(300);
    let mirror = Mirror::open(log.store.clone(), sink.clone(), &key, no_witnesses()).unwrap();
    assert_eq!(mirror.catch_up(&first).unwrap(), 300);
    let tile = |rel: &str| sink.read(rel).unwrap();
    assert_eq!(tile("checkpoint"), Some(first.note.clone().into_bytes()));
    let full = log.store.node_range(0, 0, 256).unwrap();
    assert_eq!(tile("tile/0/000"), Some(full));
    assert!(tile("tile/0/001.p/44").is_some());
    assert!(tile("tile/entries/001.p/44").is_some());
    assert!(tile("tile/1/000.p/1").is_some());

    // Grown: the full tile comes, the partial stays (nothing deleted).
    let second = log.grow(600);
    mirror.publish(300, 600, second.note.as_bytes()).unwrap();
    assert!(tile("tile/0/001").is_some());
    assert!(tile("tile/0/001.p/44").is_some());
    assert_eq!(tile("checkpoint"), Some(second.note.clone().into_bytes()));
    // A retry of the same step is idempotent.
    mirror.publish(300, 600, second.note.as_bytes()).unwrap();

    // Someone else's bytes where a tile of the next step goes: a
    // conflict, the checkpoint stays, the object stays.
    rt.block_on(memory.put(
        &object_store::path::Path::from("log/tile/0/002"),
        b"planted".to_vec().into(),
    ))
    .unwrap();
    let third = log.grow(900);
    let err = mirror.publish(600, 900, third.note.as_bytes()).unwrap_err();
    assert!(sink::is_conflict(&err), "{err:#}");
    assert_eq!(tile("tile/0/002"), Some(b"planted".to_vec()));
    assert_eq!(tile("checkpoint"), Some(second.note.clone().into_bytes()));

    // A second publisher of this log that is behind never takes the
    // checkpoint back.
    let err = mirror.publish(0, 300, first.note.as_bytes()).unwrap_err();
    assert!(sink::is_fatal(&err), "{err:#}");
    assert_eq!(tile("checkpoint"), Some(second.note.clone().into_bytes()));

    // Another log is refused the bucket.
    let other = Log::new("other.example/log");
    let refused = Mirror::open(
        other.store.clone(),
        sink.clone(),
        &other.signer.verifier(),
        no_witnesses(),
    );
    let err = refused.err().expect("another log's bucket");
    assert!(sink::is_fatal(&err), "{err:#}");
    assert!(
        format!("{err:#}").contains("another log's mirror"),
        "{err:#}"
    );

    // A log behind the bucket (its data directory is older) is refused too.
    let mut behind = Log::new(ORIGIN);
    behind.signer = Signer::from_skey(&log.signer.skey()).unwrap();
    behind.grow(10);
    let err = Mirror::open(behind.store.clone(), sink, &key, no_witnesses())
        .err()
        .expect("a log behind its bucket");
    assert!(sink::is_fatal(&err), "{err:#}");
}

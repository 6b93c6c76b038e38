//! Durable state of one log: sled for what is looked up by key, three
//! append-only files for the leaves and the tree ([`tree_files`]), and the
//! index by leaf hash derived from them ([`hash_runs`]).
//!
//! The sled part lives in a single tree under one-byte key prefixes, because
//! sled applies a `Batch` to one tree atomically: an integration's index
//! rows, the new tree size and the checkpoint that covers it are one
//! `apply_batch` followed by one `flush`. The leaves and nodes of the batch
//! are written and synced to the files first, so the size sled records is
//! always backed by them (the reasoning is in [`tree_files`]). After a crash
//! the log is either entirely before or entirely after a batch; there is no
//! partial entry to repair.
//!
//! | prefix | key                          | value                              |
//! |--------|------------------------------|------------------------------------|
//! | `M`    | name                         | metadata (origin, tree size, layout) |
//! | `S`    | tenant `/` `YYYY-MM`         | (day, index) records ([`month_rows`]) |
//! | `K`    | tenant id                    | tenant record (JSON), as its key-change entries leave it |
//! | `C`    | tree size (u64 BE)           | signed checkpoint note             |
//! | `W`    | tree size (u64 BE), witness  | verified cosignature line          |
//!
//! The statements of one date are found through the tenants (`K`) and one
//! `S` lookup each, rather than a second index by date: every row sled
//! holds costs several times its size on disk, and every open of sled takes
//! time in proportion to its rows. For the same reason the index by leaf
//! hash is not in sled at all: it is sorted runs beside the tree files,
//! rebuilt from the `hashes` file whenever it is missing, and every answer
//! it gives is checked against the stored hash.
//!
//! The `M` row `layout` names the layout a directory was written in. A
//! directory of any other layout, or with rows but no layout named, is
//! refused with both versions named, and nothing in it is changed: layouts
//! are not converted in place, so every directory this rootlog opens holds
//! exactly the rows and files described here.
//!
//! Only perfect-subtree nodes are stored (about two hashes per leaf), so any
//! proof is O(log n) positioned reads and start-up reads O(log n) nodes to
//! rebuild the right edge: it never re-hashes the log.

mod error;
pub mod hash_runs;
pub mod month_rows;
pub mod tree_files;

pub use error::StoreError;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::durable::SledSync;
use crate::merkle::{Frontier, Hash, NodeId};

use hash_runs::HashRuns;
use tree_files::{Access, TreeFiles};

const META: u8 = b'M';
const BY_TENANT_MONTH: u8 = b'S';
const TENANT: u8 = b'K';
const CHECKPOINT: u8 = b'C';
const COSIGNATURE: u8 = b'W';

const META_ORIGIN: &[u8] = b"origin";
const META_SIZE: &[u8] = b"size";
/// The layout the directory was written in, recorded when it is created.
const META_LAYOUT: &[u8] = b"layout";
/// The one layout this rootlog reads and writes: leaves and nodes in the
/// tree files, the index by hash in runs, the index by date in `S` rows.
const LAYOUT: &[u8] = b"tree-files/v2";
/// The directory of the leaf-hash runs, inside the database directory.
const HASH_INDEX_DIR: &str = "hash-index";
/// Leaves whose level-0 hashes one read takes when (re)building the runs:
/// with the nodes they complete, 512 aligned leaves span about 32 KiB of
/// `hashes`, within what `node_range` reads in one call.
const REBUILD_CHUNK: u64 = 512;

pub use crate::tenant_key::{TenantKey, TenantRecord};

/// One new leaf of an integration.
pub struct NewLeaf<'a> {
    pub index: u64,
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub rows: LeafRows<'a>,
}

/// The rows a new leaf keeps current besides itself and its hash.
pub enum LeafRows<'a> {
    /// A daily-root statement: the (tenant, date) index.
    Statement { tenant: &'a str, date: &'a str },
    /// A key-change entry: the tenant record as it leaves it.
    KeyChange(&'a TenantRecord),
}

/// The log's durable state.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// Makes sled's writes durable (`crate::durable`); None when opened for
    /// checking, which writes nothing.
    sync: Option<Arc<SledSync>>,
    files: Arc<TreeFiles>,
    /// None when opened for checking: the runs are derived data, and a
    /// check must not write them.
    hash_index: Option<Arc<Mutex<HashRuns>>>,
    hash_index_dir: Arc<Path>,
}

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn month_row_key(tenant: &str, month: &str) -> Vec<u8> {
    key(BY_TENANT_MONTH, format!("{tenant}/{month}").as_bytes())
}

/// The level-0 hashes of `count` leaves from `first`, read in chunks that
/// `node_range` serves with one read each.
fn read_level0(files: &TreeFiles, first: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut next = first;
    while next < first + count {
        let take = REBUILD_CHUNK.min(first + count - next);
        let bytes = files.node_range(0, next, take)?;
        for chunk in bytes.chunks_exact(32) {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            out.push(hash);
        }
        next += take;
    }
    Ok(out)
}

fn read_size(db: &sled::Db) -> Result<u64, StoreError> {
    match db.get(key(META, META_SIZE))? {
        None => Ok(0),
        Some(v) => decode_u64(&v),
    }
}

fn decode_u64(v: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = v
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("expected 8 bytes, found {}", v.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

impl Store {
    /// Opens (creating if needed) the database in `dir`; a directory of
    /// another layout is refused unchanged ([`check_layout`]).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .open()?;
        // Whatever opening created or recovered is made durable before it is built on.
        let sync = Arc::new(SledSync::open(db.clone(), dir).map_err(|e| sync_error(dir, e))?);
        let flush = || sync.flush().map_err(|e| sync_error(dir, e));
        if !check_layout(&db, dir)? {
            db.insert(key(META, META_LAYOUT), LAYOUT)?;
            flush()?;
        }
        let size = read_size(&db)?;
        let files = Arc::new(TreeFiles::open(dir, size, Access::Write)?);
        // Derived from the files just opened, so it opens after them; a
        // missing or partial directory is rebuilt here.
        let hash_index_dir: Arc<Path> = dir.join(HASH_INDEX_DIR).into();
        let runs = HashRuns::open(&hash_index_dir, size, &|first, count| {
            read_level0(&files, first, count)
        })?;
        Ok(Store {
            db,
            sync: Some(sync),
            files,
            hash_index: Some(Arc::new(Mutex::new(runs))),
            hash_index_dir,
        })
    }

    /// The origin recorded at first start, if any.
    pub fn origin(&self) -> Result<Option<String>, StoreError> {
        match self.db.get(key(META, META_ORIGIN))? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Corrupt("origin is not UTF-8".into())),
        }
    }

    /// Records the origin once, durably.
    pub fn set_origin(&self, origin: &str) -> Result<(), StoreError> {
        self.db.insert(key(META, META_ORIGIN), origin.as_bytes())?;
        // Every checkpoint will name it: it must outlive any crash.
        self.flush()
    }

    /// The number of leaves durably in the tree.
    pub fn size(&self) -> Result<u64, StoreError> {
        read_size(&self.db)
    }

    /// The note bytes of leaf `index`.
    pub fn leaf(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.files.leaf(index)
    }

    /// The lowest index of a leaf with this leaf hash.
    ///
    /// The runs only say where to look; the answer is the first candidate
    /// whose stored level-0 hash is this one, so a damaged run can make a
    /// lookup miss but never name the wrong leaf.
    pub fn index_of_hash(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        let Some(index) = &self.hash_index else {
            return Err(StoreError::Corrupt(
                "the leaf-hash index is not open in a store opened for checking".into(),
            ));
        };
        let size = self.size()?;
        let candidates = index
            .lock()
            .map_err(|_| StoreError::Corrupt("the leaf-hash index lock is poisoned".into()))?
            .candidates(hash, size)?;
        for candidate in candidates {
            if self.files.node(NodeId::new(0, candidate))?.as_ref() == Some(hash) {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// The decoded records of one `S` row (empty when there is none).
    fn month_records(&self, tenant: &str, month: &str) -> Result<Vec<(u8, u64)>, StoreError> {
        match self.db.get(month_row_key(tenant, month))? {
            None => Ok(Vec::new()),
            Some(v) => month_rows::decode(&v)
                .map_err(|why| StoreError::Corrupt(format!("S {tenant}/{month}: {why}"))),
        }
    }

    /// The (day of the month, leaf index) of every statement of `tenant` in
    /// `month` (`YYYY-MM`), sorted by day; empty when there is none.
    pub fn month_index(&self, tenant: &str, month: &str) -> Result<Vec<(u8, u64)>, StoreError> {
        self.month_records(tenant, month)
    }

    /// The index of the statement of `tenant` for `date` (None for a date
    /// that is not `YYYY-MM-DD`: no statement has one).
    pub fn index_of(&self, tenant: &str, date: &str) -> Result<Option<u64>, StoreError> {
        let Some((month, day)) = month_rows::split_date(date) else {
            return Ok(None);
        };
        Ok(month_rows::find(&self.month_records(tenant, month)?, day))
    }

    /// Every (tenant, index) published for `date`, in tenant order: one
    /// `S` lookup per registered tenant (a statement needs a registered
    /// tenant, and every registration leaves a `K` row).
    pub fn entries_on(&self, date: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for id in self.db.scan_prefix([TENANT]).keys() {
            let id = id?;
            let tenant = std::str::from_utf8(&id[1..])
                .map_err(|_| StoreError::Corrupt("tenant id is not UTF-8".into()))?;
            if let Some(index) = self.index_of(tenant, date)? {
                out.push((tenant.to_string(), index));
            }
        }
        Ok(out)
    }

    /// Stored perfect-subtree hashes, in the order asked.
    pub fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.files
            .nodes(ids)?
            .into_iter()
            .zip(ids)
            .map(|(hash, id)| {
                hash.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "missing node level {} index {}",
                        id.level, id.index
                    ))
                })
            })
            .collect()
    }

    /// The stored hashes of the `count` consecutive perfect nodes at `level`
    /// starting at `first`, concatenated (a tlog-tiles hash tile). Every one
    /// must be stored.
    pub fn node_range(&self, level: u8, first: u64, count: u64) -> Result<Vec<u8>, StoreError> {
        self.files.node_range(level, first, count)
    }

    /// The note bytes of the `count` consecutive leaves starting at `first`,
    /// in order. Every one must be stored.
    pub fn leaf_range(&self, first: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.files.leaf_range(first, count)
    }

    /// Rebuilds the right edge of the stored tree from O(log n) stored nodes.
    pub fn frontier(&self) -> Result<Frontier, StoreError> {
        self.frontier_at(self.size()?)
    }

    /// The right edge of the tree's first `size` leaves (at most the stored
    /// size), from O(log n) stored perfect nodes.
    pub fn frontier_at(&self, size: u64) -> Result<Frontier, StoreError> {
        let nodes = self.read_nodes(&crate::merkle::root_plan(size))?;
        Frontier::from_parts(size, nodes)
            .ok_or_else(|| StoreError::Corrupt("right edge does not match tree size".into()))
    }

    /// The newest stored checkpoint: (tree size, signed note).
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        match self.db.scan_prefix([CHECKPOINT]).next_back() {
            None => Ok(None),
            Some(row) => {
                let (k, v) = row?;
                Ok(Some((decode_u64(&k[1..])?, v.to_vec())))
            }
        }
    }

    /// Every stored checkpoint, oldest first.
    pub fn checkpoints(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + '_ {
        self.db.scan_prefix([CHECKPOINT]).map(|row| {
            let (k, v) = row?;
            Ok((decode_u64(&k[1..])?, v.to_vec()))
        })
    }

    /// The sizes of the stored checkpoints in `(after, upto]`, ascending.
    pub fn checkpoint_sizes(&self, after: u64, upto: u64) -> Result<Vec<u64>, StoreError> {
        if after >= upto {
            return Ok(Vec::new());
        }
        let start = key(CHECKPOINT, &be(after + 1));
        let end = key(CHECKPOINT, &be(upto));
        self.db
            .range(start..=end)
            .map(|row| decode_u64(&row?.0[1..]))
            .collect()
    }

    /// The smallest stored checkpoint that covers leaf `index` (its size
    /// above `index`): (size, signed note).
    pub fn first_checkpoint_covering(
        &self,
        index: u64,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let start = key(CHECKPOINT, &be(index.saturating_add(1)));
        match self.db.range(start..).next() {
            Some(row) => {
                let (k, v) = row?;
                if k.first() != Some(&CHECKPOINT) {
                    return Ok(None);
                }
                Ok(Some((decode_u64(&k[1..])?, v.to_vec())))
            }
            None => Ok(None),
        }
    }

    /// Sizes above `after` that have stored cosignatures, ascending.
    pub fn cosigned_sizes_after(
        &self,
        after: u64,
    ) -> impl Iterator<Item = Result<u64, StoreError>> + '_ {
        let start = key(COSIGNATURE, &be(after.saturating_add(1)));
        let end = key(COSIGNATURE + 1, &[]);
        let mut last = None;
        self.db.range(start..end).filter_map(move |row| {
            let size = row
                .map_err(StoreError::from)
                .and_then(|(k, _)| decode_u64(k.get(1..9).unwrap_or_default()));
            match size {
                Ok(s) if last == Some(s) => None,
                Ok(s) => {
                    last = Some(s);
                    Some(Ok(s))
                }
                Err(e) => Some(Err(e)),
            }
        })
    }

    /// The stored checkpoint note of tree size `size`.
    pub fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key(CHECKPOINT, &be(size)))?.map(|v| v.to_vec()))
    }

    /// Stores a checkpoint without flushing (a restore flushes once at the end).
    pub fn put_checkpoint_unflushed(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.db.insert(key(CHECKPOINT, &be(size)), note)?;
        Ok(())
    }

    /// Stores a cosignature line without flushing (a restore flushes once at the end).
    pub fn put_cosignature_unflushed(
        &self,
        size: u64,
        witness: &str,
        line: &str,
    ) -> Result<(), StoreError> {
        let mut k = key(COSIGNATURE, &be(size));
        k.extend_from_slice(witness.as_bytes());
        self.db.insert(k, line.as_bytes())?;
        Ok(())
    }

    /// Durably stores a witness's verified cosignature line for the checkpoint of `size`.
    pub fn put_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.put_cosignature_unflushed(size, witness, line)?;
        // The checkpoint is served with this line once it meets the policy:
        // durable first, so nothing served is taken back by a crash.
        self.flush()
    }

    /// The cosignature lines stored for the checkpoint of `size`, by witness name.
    pub fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        let prefix = key(COSIGNATURE, &be(size));
        let mut out = Vec::new();
        for row in self.db.scan_prefix(&prefix) {
            let (k, v) = row?;
            let name = String::from_utf8(k[prefix.len()..].to_vec())
                .map_err(|_| StoreError::Corrupt("witness name is not UTF-8".into()))?;
            let line = String::from_utf8(v.to_vec())
                .map_err(|_| StoreError::Corrupt("cosignature is not UTF-8".into()))?;
            out.push((name, line));
        }
        Ok(out)
    }

    /// Sizes that have stored cosignatures, newest first.
    pub fn cosigned_sizes(&self) -> impl Iterator<Item = Result<u64, StoreError>> + '_ {
        let mut last = None;
        self.db
            .scan_prefix([COSIGNATURE])
            .rev()
            .filter_map(move |row| {
                let size = row
                    .map_err(StoreError::from)
                    .and_then(|(k, _)| decode_u64(k.get(1..9).unwrap_or_default()));
                match size {
                    Ok(s) if last == Some(s) => None,
                    Ok(s) => {
                        last = Some(s);
                        Some(Ok(s))
                    }
                    Err(e) => Some(Err(e)),
                }
            })
    }

    /// Durably stores a checkpoint on its own (used for the empty tree at first start).
    pub fn put_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.put_checkpoint_unflushed(size, note)?;
        // It is handed out as soon as this returns.
        self.flush()
    }

    /// Appends one integration atomically and durably.
    ///
    /// `leaves` must continue the stored tree (the first index equals the
    /// stored size), `nodes` are the perfect nodes they complete, and the
    /// checkpoint covers `new_size`. Returns only after the batch is flushed
    /// to disk: callers may acknowledge once this returns Ok.
    pub fn integrate(
        &self,
        leaves: &[NewLeaf<'_>],
        nodes: &[(NodeId, Hash)],
        new_size: u64,
        checkpoint: &[u8],
    ) -> Result<(), StoreError> {
        self.apply_integration(leaves, nodes, new_size, Some(checkpoint))?;
        // The caller acknowledges on return.
        self.flush()
    }

    /// Applies one integration atomically but does not flush: nothing it
    /// wrote may be acknowledged until a later `flush` returns. The
    /// sequencer uses this to write the next batch while the previous one
    /// is being flushed. `checkpoint` is None only for a restore, which
    /// writes a rebuilt tree in chunks into a directory nobody serves and
    /// stores the one checkpoint it verified with the last chunk.
    pub fn apply_integration(
        &self,
        leaves: &[NewLeaf<'_>],
        nodes: &[(NodeId, Hash)],
        new_size: u64,
        checkpoint: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let first = leaves.first().map_or(new_size, |l| l.index);
        let bytes: Vec<&[u8]> = leaves.iter().map(|l| l.bytes).collect();
        if first + leaves.len() as u64 != new_size {
            return Err(StoreError::Corrupt(format!(
                "a batch of {} leaves from {first} does not reach size {new_size}",
                leaves.len()
            )));
        }
        // Everything that can refuse the batch is decided before anything
        // is written, so a refused batch changes nothing.
        let mut batch = sled::Batch::default();
        let mut months: BTreeMap<Vec<u8>, Vec<(u8, u64)>> = BTreeMap::new();
        for leaf in leaves {
            match leaf.rows {
                LeafRows::Statement { tenant, date } => {
                    let (month, day) = month_rows::split_date(date).ok_or_else(|| {
                        StoreError::Corrupt(format!("statement date {date:?} is not YYYY-MM-DD"))
                    })?;
                    let row_key = month_row_key(tenant, month);
                    let records = match months.entry(row_key) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(self.month_records(tenant, month)?)
                        }
                    };
                    month_rows::insert(records, day, leaf.index).map_err(|other| {
                        StoreError::Corrupt(format!(
                            "{tenant} {date} is already logged at index {other}"
                        ))
                    })?;
                }
                LeafRows::KeyChange(record) => {
                    let value = serde_json::to_vec(record)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    batch.insert(key(TENANT, record.id.as_bytes()), value);
                }
            }
        }
        for (row_key, records) in &months {
            batch.insert(row_key.as_slice(), month_rows::encode(records));
        }
        batch.insert(key(META, META_SIZE), &be(new_size));
        if let Some(checkpoint) = checkpoint {
            batch.insert(key(CHECKPOINT, &be(new_size)), checkpoint);
        }
        // Synced before sled sees the batch: see `tree_files`.
        self.files.append(first, &bytes, nodes)?;
        // The runs only ever offer candidates below the committed size, so
        // indexing the batch before sled commits it shows nothing early; a
        // crash in between leaves runs past the size, dropped on the next open.
        if let Some(index) = &self.hash_index {
            let hashes: Vec<Hash> = leaves.iter().map(|l| l.hash).collect();
            index
                .lock()
                .map_err(|_| StoreError::Corrupt("the leaf-hash index lock is poisoned".into()))?
                .append(first, &hashes)?;
        }
        self.db.apply_batch(batch)?;
        self.files.publish(new_size)
    }

    /// A registered tenant.
    pub fn tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError> {
        match self.db.get(key(TENANT, id.as_bytes()))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("tenant record {id}: {e}"))),
        }
    }

    /// Every registered tenant.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.db
            .scan_prefix([TENANT])
            .map(|row| {
                let (_, v) = row?;
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("tenant record: {e}")))
            })
            .collect()
    }

    /// Makes everything written so far durable: sled's flush and the real
    /// syncs it lacks (`crate::durable::SledSync`). The one commit point of
    /// every acknowledgement; the sequencer's flusher calls it once per
    /// group of batches.
    pub fn flush(&self) -> Result<(), StoreError> {
        match &self.sync {
            Some(sync) => sync.flush().map_err(|e| sync_error(sync.dir(), e)),
            // Opened for checking: nothing was written.
            None => Ok(()),
        }
    }

    /// Bytes on disk: sled's as it reports them, the tree files' and the
    /// leaf-hash runs'.
    pub fn size_on_disk(&self) -> u64 {
        let runs = self
            .hash_index
            .as_ref()
            .and_then(|index| index.lock().ok().map(|runs| runs.bytes_on_disk()))
            .unwrap_or(0);
        self.db.size_on_disk().unwrap_or(0) + self.files.total_len() + runs
    }
}

fn sync_error(dir: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        what: format!("making the database in {} durable", dir.display()),
        source: e,
    }
}

/// Whether `db` records this rootlog's layout: true if it does, false if
/// it is empty (a new database, whose layout the caller records), and an
/// error naming the layout found and the one supported otherwise. It only
/// reads, so a refused directory is left exactly as it was.
fn check_layout(db: &sled::Db, dir: &Path) -> Result<bool, StoreError> {
    let found = match db.get(key(META, META_LAYOUT))? {
        Some(layout) if layout.as_ref() == LAYOUT => return Ok(true),
        None if db.is_empty() => return Ok(false),
        Some(layout) => format!("storage layout {:?}", String::from_utf8_lossy(&layout)),
        None => "rows but no storage layout version".to_string(),
    };
    Err(StoreError::Layout(format!(
        "{} has {found}; this rootlog supports only storage layout {:?}. \
         Layouts are not converted: serve this directory with the rootlog that wrote it",
        dir.display(),
        String::from_utf8_lossy(LAYOUT)
    )))
}

/// Key prefixes of the layout above, for tools that walk the raw rows
/// (`fsck`) and must see corrupt keys and values instead of failing on them.
pub mod prefix {
    pub const META: u8 = super::META;
    pub const BY_TENANT_MONTH: u8 = super::BY_TENANT_MONTH;
    pub const TENANT: u8 = super::TENANT;
    pub const CHECKPOINT: u8 = super::CHECKPOINT;
}

/// One raw row: the whole key (prefix byte included) and the value, exactly
/// as stored. Nothing is decoded, so a corrupt row can be reported, not fail.
pub type RawRow = (sled::IVec, sled::IVec);

impl Store {
    /// Opens an existing database for checking, never creating one: a wrong
    /// `--data` must not leave an empty database behind. sled locks its data
    /// file, so this fails (with an error naming the lock) while a server has
    /// the same database open.
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        Self::open_existing_from(dir, dir)
    }

    /// [`Store::open_existing`] with sled's files read from `sled_dir`
    /// instead of `dir` (a scratch copy of them, when `dir` cannot be opened
    /// for writing, as sled always does: a read-only snapshot); the tree
    /// files and the leaf-hash runs are read from `dir`.
    pub fn open_existing_from(dir: &Path, sled_dir: &Path) -> Result<Self, StoreError> {
        // sled creates whatever is missing; look first. `db` is sled's data file.
        if !sled_dir.join("db").is_file() {
            return Err(StoreError::Sled(sled::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no database in {}", dir.display()),
            ))));
        }
        // A check streams every row once, so a large cache buys nothing;
        // a small one keeps fsck's memory down on big logs.
        let db = sled::Config::new()
            .path(sled_dir)
            .cache_capacity(64 * 1024 * 1024)
            .open()?;
        // An empty database (nothing written yet) has no layout to refuse.
        check_layout(&db, dir)?;
        let files = Arc::new(TreeFiles::open(dir, read_size(&db)?, Access::Read)?);
        Ok(Store {
            db,
            sync: None,
            files,
            hash_index: None,
            hash_index_dir: dir.join(HASH_INDEX_DIR).into(),
        })
    }

    /// Copies sled's own files of the database in `dir` (its log, config,
    /// snapshots and blobs; not the tree files) into the empty directory
    /// `scratch`, for [`Store::open_existing_from`].
    pub fn copy_sled_files(dir: &Path, scratch: &Path) -> Result<(), StoreError> {
        let io = |what: &Path, source: std::io::Error| StoreError::Io {
            what: what.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let sled_file = name == "db" || name == "conf" || name.starts_with("snap.");
            if sled_file {
                std::fs::copy(entry.path(), scratch.join(&name))
                    .map_err(|e| io(&entry.path(), e))?;
            } else if name == "blobs" {
                let to = scratch.join("blobs");
                std::fs::create_dir_all(&to).map_err(|e| io(&to, e))?;
                for blob in std::fs::read_dir(entry.path()).map_err(|e| io(&entry.path(), e))? {
                    let blob = blob.map_err(|e| io(&entry.path(), e))?;
                    std::fs::copy(blob.path(), to.join(blob.file_name()))
                        .map_err(|e| io(&blob.path(), e))?;
                }
            }
        }
        Ok(())
    }

    /// The directory of the leaf-hash runs (checked by fsck; a store opened
    /// for checking never writes it).
    pub fn hash_index_dir(&self) -> &Path {
        &self.hash_index_dir
    }

    /// The tree files, for checks that read them whole.
    pub fn tree_files(&self) -> &TreeFiles {
        &self.files
    }

    /// Every row whose key starts with `prefix`, in key order, streamed
    /// (read-only; memory stays bounded however many rows there are).
    pub fn scan_raw(&self, prefix: &[u8]) -> impl Iterator<Item = Result<RawRow, StoreError>> {
        self.db
            .scan_prefix(prefix)
            .map(|row| row.map_err(StoreError::from))
    }

    /// Every row with `start <= key < end`, in key order, streamed (read-only).
    pub fn scan_raw_range(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> impl Iterator<Item = Result<RawRow, StoreError>> {
        self.db
            .range(start.to_vec()..end.to_vec())
            .map(|row| row.map_err(StoreError::from))
    }

    /// The raw value under a whole key (prefix byte included), undecoded.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.db.get(key)?)
    }

    /// The stored hash of perfect node `id` (None if the tree lacks it).
    pub fn node(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
        self.files.node(id)
    }

    /// The whole key of the `S` row holding (tenant, date), and the day its
    /// record carries; None for a date that is not `YYYY-MM-DD`.
    pub fn month_row_of(tenant: &str, date: &str) -> Option<(Vec<u8>, u8)> {
        let (month, day) = month_rows::split_date(date)?;
        Some((month_row_key(tenant, month), day))
    }
}

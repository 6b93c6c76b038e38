//! The log's leaves and perfect nodes, in three append-only files beside the
//! sled database.
//!
//! | file        | holds                                                     |
//! |-------------|-----------------------------------------------------------|
//! | `leaves`    | every leaf's note bytes, concatenated in index order      |
//! | `leaf-ends` | for leaf `i`, the offset in `leaves` where it ends (u64 BE)|
//! | `hashes`    | every perfect node, 32 bytes each, at `NodeId::position`  |
//!
//! These are the bulk of a log and never change once written, so they are
//! kept out of sled (whose log-structured pages multiply what they hold
//! several times over on disk) and read with one positioned read each.
//!
//! Durability: sled's tree size is the commit point. A batch's bytes are
//! written here *and synced* before the sled batch that raises the size is
//! applied (`append` then the caller's `apply_batch`), because sled may
//! persist an applied batch at any moment, before any flush is asked for.
//! So whatever sled's size says is always on disk here; after a crash these
//! files may hold a tail of a batch sled never recorded, which opening for
//! writing cuts off (`open` with `Access::Write`), and which readers never
//! see because every read is bounded by the committed size.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::merkle::{stored_nodes, Hash, NodeId, HASH_SIZE};

use super::StoreError;

const LEAVES: &str = "leaves";
const LEAF_ENDS: &str = "leaf-ends";
const HASHES: &str = "hashes";
/// Bytes of one `leaf-ends` entry.
const END_SIZE: u64 = 8;
/// A hash tile spanning at most this many bytes of `hashes` is read in one
/// go; wider ones (high levels, whose nodes lie far apart) node by node.
const MAX_SPAN_READ: u64 = 64 * 1024;
/// Nodes this close in the file (in hashes) are read together by `nodes`.
const NEAR_HASHES: u64 = 128;

/// Whether the files are opened to append (the server, loaders) or only to
/// read (fsck, which must report a tail, never cut it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Write,
    Read,
}

/// The lengths the files have on disk, against what the committed tree needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLengths {
    pub leaves: u64,
    pub leaf_ends: u64,
    pub hashes: u64,
}

pub struct TreeFiles {
    leaves: File,
    ends: File,
    hashes: File,
    /// Leaves whose bytes, end offsets and nodes are synced here and whose
    /// sled batch is applied: the only ones readers may see.
    committed: AtomicU64,
    /// Where the committed leaves end in `leaves` (the next write's offset).
    /// The lock also serialises appends.
    committed_bytes: Mutex<u64>,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

/// An I/O failure, naming the file (or what) it happened on.
pub(super) fn io_error(file: impl std::fmt::Display, e: io::Error) -> StoreError {
    StoreError::Io {
        what: file.to_string(),
        source: e,
    }
}

fn open_file(dir: &Path, name: &str, access: Access) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true);
    if access == Access::Write {
        options.write(true).create(true);
    }
    options.open(dir.join(name)).map_err(|e| io_error(name, e))
}

fn file_len(file: &File, name: &str) -> Result<u64, StoreError> {
    Ok(file.metadata().map_err(|e| io_error(name, e))?.len())
}

fn hashes_len(size: u64) -> Result<u64, StoreError> {
    stored_nodes(size)
        .and_then(|n| n.checked_mul(HASH_SIZE as u64))
        .ok_or_else(|| corrupt(format!("tree size {size} is beyond any log")))
}

impl TreeFiles {
    /// Opens the files in `dir` for a tree whose committed size is `size`.
    ///
    /// With `Access::Write`, files shorter than the committed tree mean
    /// acknowledged data is missing: that is corruption and opening fails
    /// (`rootlog fsck` says where), and a longer file is cut back to the
    /// committed length (an uncommitted tail left by a crash) and the cut is
    /// synced. With `Access::Read` the files are only read, whatever their
    /// lengths (the checker reports them); missing ones count as empty.
    pub fn open(dir: &Path, size: u64, access: Access) -> Result<Self, StoreError> {
        let names = [LEAVES, LEAF_ENDS, HASHES];
        let created = access == Access::Write && names.iter().any(|n| !dir.join(n).exists());
        let files = if access == Access::Read && names.iter().any(|n| !dir.join(n).exists()) {
            // Read what exists; a missing file reads as empty.
            let empty = || File::open("/dev/null").map_err(|e| io_error("/dev/null", e));
            let existing = |name: &str| {
                if dir.join(name).exists() {
                    open_file(dir, name, access)
                } else {
                    empty()
                }
            };
            [existing(LEAVES)?, existing(LEAF_ENDS)?, existing(HASHES)?]
        } else {
            [
                open_file(dir, LEAVES, access)?,
                open_file(dir, LEAF_ENDS, access)?,
                open_file(dir, HASHES, access)?,
            ]
        };
        if created {
            // The new directory entries must survive a crash too.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error("data directory", e))?;
        }
        let [leaves, ends, hashes] = files;
        let files = TreeFiles {
            leaves,
            ends,
            hashes,
            committed: AtomicU64::new(0),
            committed_bytes: Mutex::new(0),
        };
        files.committed.store(size, Ordering::Release);
        if access == Access::Read {
            return Ok(files);
        }
        let need = files.needed_lengths(size)?;
        let have = files.lengths()?;
        for (name, need, have) in [
            (LEAF_ENDS, need.leaf_ends, have.leaf_ends),
            (LEAVES, need.leaves, have.leaves),
            (HASHES, need.hashes, have.hashes),
        ] {
            if have < need {
                return Err(corrupt(format!(
                    "{name} holds {have} bytes, the committed tree of {size} leaves needs {need}"
                )));
            }
        }
        if have != need {
            for (file, name, len) in [
                (&files.ends, LEAF_ENDS, need.leaf_ends),
                (&files.leaves, LEAVES, need.leaves),
                (&files.hashes, HASHES, need.hashes),
            ] {
                // The cut must be durable before anything is appended
                // after it, or a crash could resurrect the old tail
                // behind new bytes.
                file.set_len(len)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_error(name, e))?;
            }
        }
        *files.lock_bytes() = need.leaves;
        Ok(files)
    }

    fn lock_bytes(&self) -> std::sync::MutexGuard<'_, u64> {
        // A panic while holding it cannot leave the number half-written.
        self.committed_bytes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lengths the files have now.
    pub fn lengths(&self) -> Result<FileLengths, StoreError> {
        Ok(FileLengths {
            leaves: file_len(&self.leaves, LEAVES)?,
            leaf_ends: file_len(&self.ends, LEAF_ENDS)?,
            hashes: file_len(&self.hashes, HASHES)?,
        })
    }

    /// The lengths a tree of `size` leaves occupies. Reads the last end
    /// offset, so `leaf-ends` must be at least that long.
    pub fn needed_lengths(&self, size: u64) -> Result<FileLengths, StoreError> {
        let leaf_ends = size
            .checked_mul(END_SIZE)
            .ok_or_else(|| corrupt(format!("tree size {size} is beyond any log")))?;
        let leaves = if size == 0 {
            0
        } else if file_len(&self.ends, LEAF_ENDS)? < leaf_ends {
            // Reported by the caller as a short `leaf-ends`.
            u64::MAX
        } else {
            self.end_of(size - 1)?
        };
        Ok(FileLengths {
            leaves,
            leaf_ends,
            hashes: hashes_len(size)?,
        })
    }

    /// Leaves readers may see.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    fn read_at(file: &File, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let len = usize::try_from(len).map_err(|_| corrupt(format!("{name}: read too large")))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    corrupt(format!("{name} ends before offset {}", offset + len as u64))
                }
                _ => io_error(name, e),
            })?;
        Ok(buf)
    }

    fn end_of(&self, index: u64) -> Result<u64, StoreError> {
        let raw = Self::read_at(&self.ends, LEAF_ENDS, index * END_SIZE, END_SIZE)?;
        let mut be = [0u8; 8];
        be.copy_from_slice(&raw);
        Ok(u64::from_be_bytes(be))
    }

    /// The byte range `[start, end)` of leaves `first..first + count` in
    /// `leaves`, and each one's end.
    fn leaf_spans(&self, first: u64, count: u64) -> Result<(u64, Vec<u64>), StoreError> {
        let start = if first == 0 {
            0
        } else {
            self.end_of(first - 1)?
        };
        let raw = Self::read_at(&self.ends, LEAF_ENDS, first * END_SIZE, count * END_SIZE)?;
        let ends: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| {
                let mut be = [0u8; 8];
                be.copy_from_slice(c);
                u64::from_be_bytes(be)
            })
            .collect();
        let mut previous = start;
        for (k, &end) in ends.iter().enumerate() {
            if end < previous {
                return Err(corrupt(format!(
                    "leaf-ends: leaf {} ends at {end}, before it starts at {previous}",
                    first + k as u64
                )));
            }
            previous = end;
        }
        Ok((start, ends))
    }

    /// The note bytes of committed leaf `index` (None beyond the tree).
    pub fn leaf(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= self.committed() {
            return Ok(None);
        }
        Ok(self.leaf_range(index, 1)?.pop())
    }

    /// The note bytes of `count` consecutive committed leaves from `first`.
    /// Every one must be committed.
    pub fn leaf_range(&self, first: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = first
            .checked_add(count)
            .filter(|&end| end <= self.committed())
            .ok_or_else(|| corrupt(format!("leaf {first} + {count} is beyond the tree")))?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let (start, ends) = self.leaf_spans(first, end - first)?;
        let last = *ends.last().unwrap_or(&start);
        let bytes = Self::read_at(&self.leaves, LEAVES, start, last - start)?;
        let mut out = Vec::with_capacity(ends.len());
        let mut from = start;
        for end in ends {
            // In range: the ends ascend from `start` to `last` (leaf_spans).
            out.push(bytes[(from - start) as usize..(end - start) as usize].to_vec());
            from = end;
        }
        Ok(out)
    }

    /// Whole hashes the `hashes` file holds (committed or not).
    pub fn hashes_on_disk(&self) -> Result<u64, StoreError> {
        Ok(file_len(&self.hashes, HASHES)? / HASH_SIZE as u64)
    }

    /// The raw bytes of `count` hashes from append position `position`,
    /// whatever the committed size (for the checker's sequential pass).
    pub fn read_hash_run(&self, position: u64, count: u64) -> Result<Vec<u8>, StoreError> {
        Self::read_at(
            &self.hashes,
            HASHES,
            position * HASH_SIZE as u64,
            count * HASH_SIZE as u64,
        )
    }

    fn committed_hashes(&self) -> Result<u64, StoreError> {
        Ok(hashes_len(self.committed())? / HASH_SIZE as u64)
    }

    /// The stored hash of perfect node `id`, or None if the committed tree
    /// does not have it.
    pub fn node(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
        let Some(position) = id.position() else {
            return Ok(None);
        };
        if position >= self.committed_hashes()? {
            return Ok(None);
        }
        let raw = Self::read_at(
            &self.hashes,
            HASHES,
            position * HASH_SIZE as u64,
            HASH_SIZE as u64,
        )?;
        let mut hash = [0u8; HASH_SIZE];
        hash.copy_from_slice(&raw);
        Ok(Some(hash))
    }

    /// The stored hashes of `ids`, in order (None where the committed tree
    /// lacks one). Nodes that lie near each other in the file are read with
    /// one positioned read: a proof's low levels all sit within the
    /// 63-node block of its leaf's 32-leaf subtree.
    pub fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        let limit = self.committed_hashes()?;
        let mut wanted: Vec<(u64, usize)> = ids
            .iter()
            .enumerate()
            .filter_map(|(k, id)| id.position().filter(|&p| p < limit).map(|p| (p, k)))
            .collect();
        wanted.sort_unstable();
        let mut out = vec![None; ids.len()];
        let mut run = 0;
        while run < wanted.len() {
            let from = wanted[run].0;
            let mut end = run + 1;
            while end < wanted.len() && wanted[end].0 - from < NEAR_HASHES {
                end += 1;
            }
            let to = wanted[end - 1].0;
            let bytes = Self::read_at(
                &self.hashes,
                HASHES,
                from * HASH_SIZE as u64,
                (to - from + 1) * HASH_SIZE as u64,
            )?;
            for &(position, k) in &wanted[run..end] {
                let at = ((position - from) * HASH_SIZE as u64) as usize;
                let mut hash = [0u8; HASH_SIZE];
                hash.copy_from_slice(&bytes[at..at + HASH_SIZE]);
                out[k] = Some(hash);
            }
            run = end;
        }
        Ok(out)
    }

    /// The `count` consecutive nodes at `level` from `first`, concatenated
    /// (a tlog-tiles hash tile). Every one must be committed.
    pub fn node_range(&self, level: u8, first: u64, count: u64) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).saturating_mul(32));
        if count == 0 {
            return Ok(out);
        }
        let missing = |index: u64| corrupt(format!("node level {level} index {index} is missing"));
        let last = first.checked_add(count - 1).ok_or_else(|| missing(first))?;
        let from = NodeId::new(level, first)
            .position()
            .ok_or_else(|| missing(first))?;
        let to = NodeId::new(level, last)
            .position()
            .ok_or_else(|| missing(last))?;
        if to >= self.committed_hashes()? {
            return Err(missing(last));
        }
        let span = (to - from + 1) * HASH_SIZE as u64;
        if span <= MAX_SPAN_READ {
            let bytes = Self::read_at(&self.hashes, HASHES, from * HASH_SIZE as u64, span)?;
            for index in first..=last {
                let p = NodeId::new(level, index)
                    .position()
                    .ok_or_else(|| missing(index))?;
                let at = ((p - from) * HASH_SIZE as u64) as usize;
                out.extend_from_slice(&bytes[at..at + HASH_SIZE]);
            }
        } else {
            for index in first..=last {
                let hash = self
                    .node(NodeId::new(level, index))?
                    .ok_or_else(|| missing(index))?;
                out.extend_from_slice(&hash);
            }
        }
        Ok(out)
    }

    /// Writes the leaves and nodes of one batch after the committed tree and
    /// syncs them, *without* making them visible: the caller applies the
    /// sled batch that raises the size and then calls `publish`.
    ///
    /// `leaves` must start at the committed size, `nodes` must be exactly
    /// the nodes they complete in append order (what `Frontier::append`
    /// reports). A failed or abandoned append leaves only an invisible tail
    /// that the next append overwrites.
    pub fn append(
        &self,
        first: u64,
        leaves: &[&[u8]],
        nodes: &[(NodeId, Hash)],
    ) -> Result<(), StoreError> {
        let bytes_at = self.lock_bytes();
        let committed = self.committed();
        if first != committed {
            return Err(corrupt(format!(
                "a batch starting at leaf {first} does not continue the tree of {committed}"
            )));
        }
        let end = committed + leaves.len() as u64;
        let mut next_position = hashes_len(committed)? / HASH_SIZE as u64;
        let mut node_bytes = Vec::with_capacity(nodes.len() * HASH_SIZE);
        for (id, hash) in nodes {
            if id.position() != Some(next_position) {
                return Err(corrupt(format!(
                    "node level {} index {} is out of append order",
                    id.level, id.index
                )));
            }
            node_bytes.extend_from_slice(hash);
            next_position += 1;
        }
        if next_position != hashes_len(end)? / HASH_SIZE as u64 {
            return Err(corrupt(format!(
                "a batch of {} leaves brought {} nodes, not the {} it completes",
                leaves.len(),
                nodes.len(),
                hashes_len(end)? / HASH_SIZE as u64 - hashes_len(committed)? / HASH_SIZE as u64
            )));
        }
        let mut leaf_bytes = Vec::with_capacity(leaves.iter().map(|l| l.len()).sum());
        let mut ends = Vec::with_capacity(leaves.len() * END_SIZE as usize);
        let mut at = *bytes_at;
        for leaf in leaves {
            leaf_bytes.extend_from_slice(leaf);
            at += leaf.len() as u64;
            ends.extend_from_slice(&at.to_be_bytes());
        }
        let writes = [
            (&self.leaves, LEAVES, *bytes_at, &leaf_bytes),
            (&self.ends, LEAF_ENDS, committed * END_SIZE, &ends),
            (&self.hashes, HASHES, hashes_len(committed)?, &node_bytes),
        ];
        for (file, name, offset, bytes) in writes {
            file.write_all_at(bytes, offset)
                .map_err(|e| io_error(name, e))?;
        }
        // Durable before the caller applies the sled batch that raises the
        // committed size (module comment): the data and the new lengths.
        for (file, name, _, _) in writes {
            file.sync_data().map_err(|e| io_error(name, e))?;
        }
        Ok(())
    }

    /// Makes an appended batch visible once its sled batch is applied.
    pub fn publish(&self, new_size: u64) -> Result<(), StoreError> {
        let mut bytes_at = self.lock_bytes();
        let end = if new_size == 0 {
            0
        } else {
            self.end_of(new_size - 1)?
        };
        *bytes_at = end;
        self.committed.store(new_size, Ordering::Release);
        Ok(())
    }

    /// Bytes the files hold.
    pub fn total_len(&self) -> u64 {
        self.lengths()
            .map(|l| l.leaves + l.leaf_ends + l.hashes)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_plan, leaf_hash, Frontier};
    use std::collections::HashMap;

    #[test]
    fn every_read_returns_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let files = TreeFiles::open(dir.path(), 0, Access::Write).unwrap();
        let mut tree = Frontier::new();
        let mut all: HashMap<NodeId, Hash> = HashMap::new();
        let leaves: Vec<Vec<u8>> = (0..3000u32).map(|i| vec![7; (i % 300) as usize]).collect();
        for (batch, chunk) in leaves.chunks(97).enumerate() {
            let first = (batch * 97) as u64;
            let mut nodes = Vec::new();
            for (k, leaf) in chunk.iter().enumerate() {
                let mut salted = leaf.clone();
                salted.extend_from_slice(&(first + k as u64).to_be_bytes());
                tree.append(leaf_hash(&salted), |id, h| nodes.push((id, *h)));
            }
            all.extend(nodes.iter().copied());
            let refs: Vec<&[u8]> = chunk.iter().map(|l| l.as_slice()).collect();
            files.append(first, &refs, &nodes).unwrap();
            // Invisible until published.
            assert_eq!(files.leaf(first).unwrap(), None);
            files.publish(first + chunk.len() as u64).unwrap();
        }
        assert_eq!(files.leaf_range(0, 3000).unwrap(), leaves);
        assert_eq!(files.leaf(2999).unwrap().as_ref(), Some(&leaves[2999]));
        for index in [0u64, 1, 31, 32, 1000, 2047, 2999] {
            let plan = inclusion_plan(index, 3000).unwrap();
            let mut ids = plan.nodes.clone();
            ids.push(NodeId::new(0, index));
            let got = files.nodes(&ids).unwrap();
            for (id, hash) in ids.iter().zip(got) {
                assert_eq!(hash, Some(all[id]), "{id:?}");
                assert_eq!(files.node(*id).unwrap(), Some(all[id]), "{id:?}");
            }
        }
        let tile = files.node_range(0, 256, 256).unwrap();
        let expected: Vec<u8> = (256..512).flat_map(|i| all[&NodeId::new(0, i)]).collect();
        assert_eq!(tile, expected);
        // Beyond the tree: absent, not an error.
        assert_eq!(files.node(NodeId::new(0, 3000)).unwrap(), None);
        assert_eq!(files.nodes(&[NodeId::new(12, 0)]).unwrap(), vec![None]);
        // A batch that does not continue the tree is refused.
        assert!(files.append(10, &[b"x"], &[]).is_err());
    }
}

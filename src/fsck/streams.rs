//! The tree files read front to back for the full check: leaves in index
//! order and stored hashes in append order, a chunk at a time, so memory
//! stays bounded on any log size.

use super::report::{corrupt, node_location, FindingKind, Findings};
use crate::merkle::{Hash, NodeId};
use crate::storage::tree_files::TreeFiles;
use crate::storage::StoreError;

/// Leaves read in index order, a chunk at a time, from the tree files.
///
/// A chunk that cannot be decoded (a damaged `leaf-ends`) is read again leaf
/// by leaf, so one bad offset costs one finding, not the check.
pub(super) struct LeafStream<'a> {
    files: &'a TreeFiles,
    size: u64,
    chunk: std::vec::IntoIter<Option<Vec<u8>>>,
    next: u64,
}

/// Leaves read per chunk.
const LEAF_CHUNK: u64 = 4096;

impl<'a> LeafStream<'a> {
    pub(super) fn new(files: &'a TreeFiles, size: u64) -> Self {
        LeafStream {
            files,
            size,
            chunk: Vec::new().into_iter(),
            next: 0,
        }
    }

    /// Leaf `i`'s note bytes (callers ask for 0, 1, 2, ... in order); None,
    /// with a finding, when they cannot be read.
    pub(super) fn take(&mut self, i: u64, f: &mut Findings) -> Result<Option<Vec<u8>>, StoreError> {
        if self.chunk.len() == 0 {
            let count = LEAF_CHUNK.min(self.size - self.next);
            let chunk = match corrupt(self.files.leaf_range(self.next, count))? {
                Ok(leaves) => leaves.into_iter().map(Some).collect(),
                Err(_) => {
                    let mut one_by_one = Vec::with_capacity(count as usize);
                    for index in self.next..self.next + count {
                        match corrupt(self.files.leaf_range(index, 1))? {
                            Ok(mut leaf) => one_by_one.push(leaf.pop()),
                            Err(why) => {
                                f.push(FindingKind::LeafMissing, format!("index {index}"), why);
                                one_by_one.push(None);
                            }
                        }
                    }
                    one_by_one
                }
            };
            self.chunk = chunk.into_iter();
            self.next += count;
        }
        debug_assert_eq!(i + self.chunk.len() as u64, self.next);
        Ok(self.chunk.next().flatten())
    }
}

/// The `hashes` file read front to back. The check asks for nodes in the
/// order `Frontier::append` completes them, which is their order in the
/// file, so this is one sequential pass.
pub(super) struct HashStream<'a> {
    files: &'a TreeFiles,
    on_disk: u64,
    buffer: Vec<u8>,
    /// Append position of `buffer[0..32]`.
    buffer_start: u64,
    next: u64,
}

/// Hashes read per chunk (256 KiB).
const HASH_CHUNK: u64 = 8192;

impl<'a> HashStream<'a> {
    pub(super) fn new(files: &'a TreeFiles) -> Result<Self, StoreError> {
        Ok(HashStream {
            files,
            on_disk: files.hashes_on_disk()?,
            buffer: Vec::new(),
            buffer_start: 0,
            next: 0,
        })
    }

    /// The stored hash of `id`, the next node in append order; None, with a
    /// finding, beyond the end of the file.
    pub(super) fn take(
        &mut self,
        id: NodeId,
        f: &mut Findings,
    ) -> Result<Option<Hash>, StoreError> {
        let position = self.next;
        self.next += 1;
        debug_assert_eq!(id.position(), Some(position));
        if position >= self.on_disk {
            f.push(
                FindingKind::NodeMissing,
                node_location(id.level, id.index),
                "the hashes file ends before this complete subtree",
            );
            return Ok(None);
        }
        let buffered = self.buffer.len() as u64 / 32;
        if position >= self.buffer_start + buffered {
            let count = HASH_CHUNK.min(self.on_disk - position);
            self.buffer = self.files.read_hash_run(position, count)?;
            self.buffer_start = position;
        }
        let at = ((position - self.buffer_start) * 32) as usize;
        Ok(decode_hash(&self.buffer[at..at + 32]))
    }
}

/// A stored hash value; None when it is not 32 bytes.
pub(super) fn decode_hash(value: &[u8]) -> Option<Hash> {
    value.try_into().ok()
}

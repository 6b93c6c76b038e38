//! A file's bytes for reading, mapped read-only into memory (`mmap`) rather
//! than copied, for `verify-export`'s manifests of gigabytes. Measured on
//! the development VM: `fs::read` of a 260 MB manifest spent about two
//! thirds of the whole command's time in the kernel zeroing the fresh pages
//! the copy went into; a map of the file's page-cache pages needs no new
//! memory and no copy.
//!
//! This is the crate's only `unsafe` code. What it relies on:
//!
//! - The map is private and read-only: nothing in this process writes it,
//!   and the slice handed out lives no longer than the map (it borrows the
//!   [`FileBytes`] that unmaps on drop).
//! - Another process can still change or truncate the file while it is
//!   mapped. Changed bytes are read as they are (as a file changed between
//!   two `read` calls would be); reading past a truncated end raises
//!   SIGBUS, which ends the process without a verdict, never with a wrong
//!   one. Verifying a file that is being rewritten has no meaningful
//!   answer either way.
//!
//! A file that cannot be mapped (empty, a pipe, a failing `mmap`) is read
//! into memory instead.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;

/// The bytes of a file, mapped or read.
pub struct FileBytes(Inner);

enum Inner {
    Mapped { ptr: NonNull<u8>, len: usize },
    Read(Vec<u8>),
}

// SAFETY: the mapping is read-only and private, owned by this value alone
// (unmapped only in `drop`), so sharing `&[u8]` views of it between threads
// is as safe as sharing a `Vec<u8>`'s.
unsafe impl Send for FileBytes {}
// SAFETY: as above; nothing mutates the mapped bytes through this value.
unsafe impl Sync for FileBytes {}

impl FileBytes {
    /// Maps `path` read-only, or reads it when it cannot be mapped.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let len = usize::try_from(meta.len()).unwrap_or(0);
        if meta.is_file() && len > 0 {
            // SAFETY: a fresh private read-only mapping of `len` bytes of an
            // open file; the kernel picks the address. The result is checked
            // against MAP_FAILED before use, and the descriptor may be closed
            // afterwards (the mapping keeps its own reference to the file).
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE,
                    file.as_raw_fd(),
                    0,
                )
            };
            if ptr != libc::MAP_FAILED {
                if let Some(ptr) = NonNull::new(ptr.cast::<u8>()) {
                    return Ok(FileBytes(Inner::Mapped { ptr, len }));
                }
            }
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(FileBytes(Inner::Read(bytes)))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: `ptr` maps `len` readable bytes until `drop` unmaps
            // them, and the slice borrows `self`, so it cannot outlive them.
            Inner::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) },
            Inner::Read(bytes) => bytes,
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        if let Inner::Mapped { ptr, len } = self.0 {
            // SAFETY: the mapping made in `open`, unmapped once, here; no
            // slice of it survives `self`.
            unsafe {
                libc::munmap(ptr.as_ptr().cast(), len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_back_whole_mapped_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"{\"records\": []}").unwrap();
        assert_eq!(&*FileBytes::open(&path).unwrap(), b"{\"records\": []}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(FileBytes::open(&empty).unwrap().is_empty());
        assert!(FileBytes::open(&dir.path().join("missing")).is_err());
    }
}

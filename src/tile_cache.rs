//! An in-memory cache of full tiles and full entry bundles, bounded in bytes.
//!
//! Only full tiles are cached, and a full tile never changes: once the
//! checkpointed tree covers all 256 of its entries, the log only ever
//! appends after them. So a cached tile can never be stale, and the cache
//! needs no invalidation. Partial tiles are read from the store every time
//! (they are superseded as the tree grows). A hit costs one lock and a
//! reference-count increment; the body is shared, not copied.

use std::sync::Mutex;

use axum::body::Bytes;
use lru::LruCache;

/// Which full tile: a hash tile (`Some(level)`) or an entry bundle (`None`).
pub type TileKey = (Option<u8>, u64);

/// The cache.
pub struct TileCache {
    inner: Mutex<Inner>,
    budget: usize,
}

struct Inner {
    tiles: LruCache<TileKey, Bytes>,
    bytes: usize,
}

impl TileCache {
    /// A cache holding at most `budget` bytes of tile bodies (0: caches nothing).
    pub fn new(budget: usize) -> Self {
        TileCache {
            inner: Mutex::new(Inner {
                tiles: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// The cached body of a full tile.
    pub fn get(&self, key: &TileKey) -> Option<Bytes> {
        self.inner.lock().ok()?.tiles.get(key).cloned()
    }

    /// Caches a full tile's body, evicting the least recently used beyond the budget.
    pub fn put(&self, key: TileKey, body: Bytes) {
        if body.len() > self.budget {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.bytes += body.len();
        if let Some(old) = inner.tiles.put(key, body) {
            inner.bytes -= old.len();
        }
        while inner.bytes > self.budget {
            match inner.tiles.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_budget_and_evicts_the_least_recently_used() {
        let cache = TileCache::new(3 * 8192);
        for i in 0..3 {
            cache.put((Some(0), i), Bytes::from(vec![i as u8; 8192]));
        }
        assert!(cache.get(&(Some(0), 0)).is_some());
        cache.put((None, 9), Bytes::from(vec![9u8; 8192]));
        assert_eq!(cache.bytes(), 3 * 8192);
        // 1 was the least recently used (0 was read after it).
        assert!(cache.get(&(Some(0), 1)).is_none());
        assert!(cache.get(&(Some(0), 0)).is_some());
        assert_eq!(cache.get(&(None, 9)).unwrap()[0], 9);
        // Larger than the whole budget: not cached at all.
        cache.put((Some(1), 0), Bytes::from(vec![0u8; 4 * 8192]));
        assert!(cache.get(&(Some(1), 0)).is_none());
        assert_eq!(cache.bytes(), 3 * 8192);
        let off = TileCache::new(0);
        off.put((Some(0), 0), Bytes::from(vec![1u8]));
        assert!(off.get(&(Some(0), 0)).is_none());
    }
}

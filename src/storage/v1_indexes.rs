//! Layout `tree-files/v1` kept two sled rows per leaf: `H` (leaf hash →
//! index) and `T` (tenant `/` date → index). Layout v2 derives the first
//! from the `hashes` file ([`super::hash_runs`]) and groups the second by
//! month ([`super::month_rows`]). This module moves a v1 directory over,
//! once, the first time it is opened for writing.
//!
//! The move is restartable at any point. `T` rows are consumed in key order,
//! a batch at a time, and each sled batch both writes the `S` rows they
//! merge into and removes the `T` rows it consumed, so after a crash every
//! statement is in exactly one of the two; merging a record that is already
//! there is a no-op. Then the `H` rows are deleted in batches (nothing reads
//! them any more), and only after a flush does the caller record layout v2.

use std::collections::btree_map::{BTreeMap, Entry};

use super::{decode_u64, month_row_key, month_rows, StoreError};

const BY_HASH: u8 = b'H';
const BY_TENANT_DATE: u8 = b'T';
/// Rows consumed per sled batch.
const BATCH: usize = 16_384;

/// Whether any v1 index row is stored.
pub fn has_rows(db: &sled::Db) -> Result<bool, StoreError> {
    for prefix in [BY_HASH, BY_TENANT_DATE] {
        if db.scan_prefix([prefix]).next().transpose()?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn malformed(key: &[u8], why: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "the v1 index row T {} {why}; the move to layout v2 stops without changing it (run `rootlog fsck` on a copy made with an older rootlog)",
        String::from_utf8_lossy(key.get(1..).unwrap_or_default())
    ))
}

/// Moves every `T` row into `S` rows and deletes every `H` row, then flushes.
pub fn migrate(db: &sled::Db) -> Result<(), StoreError> {
    if !has_rows(db)? {
        return Ok(());
    }
    tracing::info!("moving the v1 index rows to layout v2 (once; restartable)");
    let mut moved = 0u64;
    loop {
        let consumed = move_date_rows(db, BATCH)?;
        if consumed == 0 {
            break;
        }
        moved += consumed as u64;
        if moved.is_multiple_of(1 << 20) {
            tracing::info!(moved, "v1 date rows moved into month rows");
        }
    }
    let mut deleted = 0u64;
    loop {
        let keys: Vec<sled::IVec> = db
            .scan_prefix([BY_HASH])
            .keys()
            .take(BATCH)
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            break;
        }
        let mut batch = sled::Batch::default();
        for key in &keys {
            batch.remove(key);
        }
        db.apply_batch(batch)?;
        deleted += keys.len() as u64;
        if deleted.is_multiple_of(1 << 20) {
            tracing::info!(deleted, "v1 hash rows deleted");
        }
    }
    db.flush()?;
    tracing::info!(moved, deleted, "the v1 index rows are in layout v2");
    Ok(())
}

/// Moves up to `limit` `T` rows (the first in key order) into their `S`
/// rows in one atomic batch; returns how many it consumed.
fn move_date_rows(db: &sled::Db, limit: usize) -> Result<usize, StoreError> {
    let rows: Vec<(sled::IVec, sled::IVec)> = db
        .scan_prefix([BY_TENANT_DATE])
        .take(limit)
        .collect::<Result<_, _>>()?;
    let mut months: BTreeMap<Vec<u8>, Vec<(u8, u64)>> = BTreeMap::new();
    let mut batch = sled::Batch::default();
    for (key, value) in &rows {
        let text = std::str::from_utf8(&key[1..]).map_err(|_| malformed(key, "is not UTF-8"))?;
        let (tenant, date) = text
            .rsplit_once('/')
            .ok_or_else(|| malformed(key, "has no tenant/date"))?;
        let (month, day) =
            month_rows::split_date(date).ok_or_else(|| malformed(key, "has no valid date"))?;
        let index = decode_u64(value).map_err(|_| malformed(key, "has no 8-byte index"))?;
        let records = match months.entry(month_row_key(tenant, month)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let existing = match db.get(e.key())? {
                    None => Vec::new(),
                    Some(v) => month_rows::decode(&v).map_err(StoreError::Corrupt)?,
                };
                e.insert(existing)
            }
        };
        month_rows::insert(records, day, index).map_err(|other| {
            malformed(
                key,
                &format!("points at {index}, but index {other} has that date"),
            )
        })?;
        batch.remove(key);
    }
    for (row_key, records) in &months {
        batch.insert(row_key.as_slice(), month_rows::encode(records));
    }
    db.apply_batch(batch)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1 database: for each of 3 tenants, 70 days from 2026-01-01 (so
    /// three months), a `T` row and an `H` row.
    fn v1_db() -> (tempfile::TempDir, sled::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new()
            .temporary(true)
            .path(dir.path())
            .open()
            .unwrap();
        let start = time::macros::date!(2026 - 01 - 01);
        let mut index = 0u64;
        for day in 0..70 {
            let date = crate::statement::format_date(start + time::Duration::days(day));
            for tenant in ["acme", "beta", "gamma"] {
                let mut t = vec![BY_TENANT_DATE];
                t.extend_from_slice(format!("{tenant}/{date}").as_bytes());
                db.insert(t, &index.to_be_bytes()).unwrap();
                let mut h = vec![BY_HASH];
                h.extend_from_slice(&crate::merkle::leaf_hash(&index.to_be_bytes()));
                db.insert(h, &index.to_be_bytes()).unwrap();
                index += 1;
            }
        }
        (dir, db)
    }

    fn month_rows_of(db: &sled::Db) -> Vec<(Vec<u8>, Vec<u8>)> {
        db.iter()
            .map(|row| {
                let (k, v) = row.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }

    #[test]
    fn every_date_lands_in_its_month_row_and_the_v1_rows_go() {
        let (_dir, db) = v1_db();
        migrate(&db).unwrap();
        assert!(!has_rows(&db).unwrap());
        let rows = month_rows_of(&db);
        assert_eq!(rows.len(), 9, "3 tenants x 3 months");
        let (key, value) = &rows[0];
        assert_eq!(key.as_slice(), b"Sacme/2026-01");
        let records = month_rows::decode(value).unwrap();
        assert_eq!(records.len(), 31);
        assert_eq!(records[4], (5, 12), "acme's 2026-01-05 is index 3 x 4 + 0");
        let march = month_rows::decode(&rows[2].1).unwrap();
        assert_eq!(march.len(), 70 - 31 - 28);
    }

    #[test]
    fn a_move_interrupted_between_batches_finishes_the_same() {
        let (_dir, whole) = v1_db();
        migrate(&whole).unwrap();
        let (_dir, resumed) = v1_db();
        // Two batches that end inside a month row, then a "restart".
        assert_eq!(move_date_rows(&resumed, 40).unwrap(), 40);
        assert_eq!(move_date_rows(&resumed, 40).unwrap(), 40);
        migrate(&resumed).unwrap();
        assert_eq!(month_rows_of(&resumed), month_rows_of(&whole));
    }

    #[test]
    fn a_malformed_row_stops_the_move_and_changes_nothing() {
        let (_dir, db) = v1_db();
        db.insert(b"Tacme/not-a-date", &1u64.to_be_bytes()).unwrap();
        let before = month_rows_of(&db);
        let error = move_date_rows(&db, usize::MAX).unwrap_err().to_string();
        assert!(
            error.contains("T acme/not-a-date has no valid date"),
            "{error}"
        );
        assert_eq!(month_rows_of(&db), before);
    }
}

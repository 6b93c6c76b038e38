//! The index from (tenant, date) to leaf index, one sled row per tenant and
//! month (`S` + `tenant/YYYY-MM`) rather than one per statement: sled's
//! page count, and with it the time every open takes, grows with the number
//! of rows (docs/storage-indexes.md).
//!
//! A row's value is a list of 9-byte records, day of the month (u8) then
//! leaf index (u64 big-endian), sorted by day with no day twice. Statement
//! dates are validated as `YYYY-MM-DD`, so every date splits into a month
//! key and a day, and a row holds at most 31 records.
//!
//! Pure encoding and merging; the store reads and writes the rows.

/// Bytes per record: the day, then the index.
pub const RECORD: usize = 9;

/// `YYYY-MM-DD` as (`YYYY-MM`, day); None for anything else.
pub fn split_date(date: &str) -> Option<(&str, u8)> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let day: u8 = date.get(8..10)?.parse().ok()?;
    if !(1..=31).contains(&day) || !b[8].is_ascii_digit() {
        return None;
    }
    Some((date.get(..7)?, day))
}

/// The records of one row, or why its value is not a valid list.
pub fn decode(value: &[u8]) -> Result<Vec<(u8, u64)>, String> {
    if value.is_empty() || !value.len().is_multiple_of(RECORD) {
        return Err(format!(
            "value is {} bytes, not a whole number of {RECORD}-byte records",
            value.len()
        ));
    }
    let mut records = Vec::with_capacity(value.len() / RECORD);
    for record in value.chunks_exact(RECORD) {
        let mut index = [0u8; 8];
        index.copy_from_slice(&record[1..]);
        records.push((record[0], u64::from_be_bytes(index)));
    }
    Ok(records)
}

/// Whether decoded records are in the order [`encode`] writes: days
/// ascending, each once, each a day of a month.
pub fn well_ordered(records: &[(u8, u64)]) -> bool {
    records.iter().all(|&(day, _)| (1..=31).contains(&day))
        && records.windows(2).all(|w| w[0].0 < w[1].0)
}

/// The value of a row holding `records` (sorted by day).
pub fn encode(records: &[(u8, u64)]) -> Vec<u8> {
    let mut value = Vec::with_capacity(records.len() * RECORD);
    for &(day, index) in records {
        value.push(day);
        value.extend_from_slice(&index.to_be_bytes());
    }
    value
}

/// The index recorded for `day`, if any.
pub fn find(records: &[(u8, u64)], day: u8) -> Option<u64> {
    records.iter().find(|r| r.0 == day).map(|r| r.1)
}

/// Adds `(day, index)` keeping the records sorted. Adding a record that is
/// already there is a no-op (so replaying a record changes nothing);
/// another index for a day already recorded is refused with that index.
pub fn insert(records: &mut Vec<(u8, u64)>, day: u8, index: u64) -> Result<(), u64> {
    match records.binary_search_by_key(&day, |r| r.0) {
        Ok(at) if records[at].1 == index => Ok(()),
        Ok(at) => Err(records[at].1),
        Err(at) => {
            records.insert(at, (day, index));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_split_into_month_and_day() {
        assert_eq!(split_date("2026-01-05"), Some(("2026-01", 5)));
        assert_eq!(split_date("2026-12-31"), Some(("2026-12", 31)));
        for bad in [
            "2026-01-00",
            "2026-01-32",
            "2026-01-+5",
            "2026-01-5",
            "2026/01/05",
            "",
        ] {
            assert_eq!(split_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn records_round_trip_sorted_and_refuse_a_second_index_for_a_day() {
        let mut records = Vec::new();
        for (day, index) in [(20, 7), (3, 9), (31, 1)] {
            insert(&mut records, day, index).unwrap();
        }
        assert_eq!(records, vec![(3, 9), (20, 7), (31, 1)]);
        assert_eq!(insert(&mut records, 20, 7), Ok(()));
        assert_eq!(insert(&mut records, 20, 8), Err(7));
        let value = encode(&records);
        assert_eq!(value.len(), 27);
        assert_eq!(decode(&value).unwrap(), records);
        assert!(well_ordered(&records));
        assert_eq!(find(&records, 20), Some(7));
        assert_eq!(find(&records, 21), None);
    }

    #[test]
    fn malformed_values_are_described() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[1; 10]).unwrap_err().contains("10 bytes"));
        assert!(!well_ordered(&[(5, 1), (5, 2)]));
        assert!(!well_ordered(&[(0, 1)]));
    }
}

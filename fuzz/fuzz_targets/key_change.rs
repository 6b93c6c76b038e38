#![no_main]
// Checks: KeyChange::parse_text never panics; accepted key changes are canonical (one spelling) and round-trip; replaying any sequence of them never panics and keeps the record's invariants.
use libfuzzer_sys::fuzz_target;
use rootlog::tenant_key::{replay, KeyChange, KeyStatus};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Several texts separated by NUL: a history to replay.
    let mut changes = Vec::new();
    for part in text.split('\0') {
        if let Ok(change) = KeyChange::parse_text(part) {
            assert_eq!(change.to_text(), part);
            assert_eq!(KeyChange::parse_text(&change.to_text()).as_ref(), Ok(&change));
            changes.push(change);
        }
    }
    if let Some(first) = changes.first() {
        let tenant = first.tenant.clone();
        let history: Vec<(u64, &KeyChange)> = changes
            .iter()
            .filter(|c| c.tenant == tenant)
            .enumerate()
            .map(|(i, c)| (i as u64, c))
            .collect();
        if let Ok(Some(record)) = replay(history) {
            assert_eq!(record.id, tenant);
            assert_eq!(
                record.active,
                record.keys.iter().any(|k| k.status == KeyStatus::Active)
            );
            for key in &record.keys {
                assert_eq!(key.status == KeyStatus::Active, key.changed_index.is_none());
                assert!(key.changed_index.is_none_or(|c| c > key.added_index));
            }
        }
    }
});

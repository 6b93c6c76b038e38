#![no_main]
// Checks: parse_submission and Statement::parse_text never panic; accepted statements are canonical and round-trip via to_text.
use libfuzzer_sys::fuzz_target;
use rootlog::merkle::EMPTY_ROOT;
use rootlog::statement::{is_valid_tenant_id, parse_submission, Statement, MAX_STATEMENT_BYTES};

fn check_statement(st: &Statement, text: &str) {
    assert!(is_valid_tenant_id(&st.tenant));
    assert!(st.records != 0 || st.root == EMPTY_ROOT);
    assert_eq!(st.date_string().len(), 10);
    // One spelling per statement: the text is exactly the canonical text.
    assert_eq!(st.to_text(), text);
    assert_eq!(Statement::parse_text(&st.to_text()).as_ref(), Ok(st));
}

fuzz_target!(|data: &[u8]| {
    if let Ok((note, st)) = parse_submission(data) {
        assert!(data.len() <= MAX_STATEMENT_BYTES);
        check_statement(&st, &note.text);
        // No two signature lines by the same (name, key ID).
        for (i, a) in note.signatures.iter().enumerate() {
            for b in &note.signatures[..i] {
                assert!(a.name != b.name || a.key_id != b.key_id);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(st) = Statement::parse_text(text) {
            check_statement(&st, text);
        }
    }
});

#![no_main]
// Checks: Checkpoint::parse never panics on any UTF-8; accepted text is canonical and round-trips via to_text.
use libfuzzer_sys::fuzz_target;
use rootlog::note::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cp) = Checkpoint::parse(text) else {
        return;
    };
    assert!(!cp.origin.is_empty() && !cp.origin.contains('\n'));
    assert!(cp
        .extensions
        .iter()
        .all(|e| !e.is_empty() && !e.contains('\n')));
    assert_eq!(cp.to_text(), text, "to_text differs from the parsed text");
    assert_eq!(Checkpoint::parse(&cp.to_text()).as_ref(), Ok(&cp));
});

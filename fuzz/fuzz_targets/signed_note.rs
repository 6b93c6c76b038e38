#![no_main]
// Checks: Note::parse never panics; a parsed note re-serializes byte for byte and re-parses equal; open() never panics.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rootlog::note::{open, Note, Verifier, MAX_SIGNATURES};

/// Public test keys (Go sumdb/note, C2SP), so seeds can carry real signatures.
fn verifiers() -> &'static [Verifier] {
    static V: OnceLock<Vec<Verifier>> = OnceLock::new();
    V.get_or_init(|| {
        [
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
        ]
        .iter()
        .map(|v| Verifier::from_vkey(v).unwrap())
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(note) = Note::parse(data) else {
        return;
    };
    assert!(!note.signatures.is_empty() && note.signatures.len() <= MAX_SIGNATURES);
    assert!(note.text.ends_with('\n'));
    for sig in &note.signatures {
        assert!(!sig.signature.is_empty());
    }
    // Every accepted note has exactly one spelling.
    let text = note.to_text();
    assert_eq!(
        text.as_bytes(),
        data,
        "to_text differs from the parsed bytes"
    );
    assert_eq!(Note::parse(text.as_bytes()).as_ref(), Ok(&note));
    if let Ok(verified) = open(&note, verifiers()) {
        assert!(!verified.is_empty());
        assert!(verified.iter().all(|&i| i < note.signatures.len()));
    }
});

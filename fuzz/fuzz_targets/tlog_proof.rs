#![no_main]
// Checks: TlogProof::parse never panics; accepted files hold at most 63 hashes, a valid note, and round-trip via to_text.
use libfuzzer_sys::fuzz_target;
use rootlog::merkle::MAX_PROOF_HASHES;
use rootlog::note::Note;
use rootlog::tlogproof::TlogProof;

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = TlogProof::parse(data) else {
        return;
    };
    assert!(proof.inclusion_proof.len() <= MAX_PROOF_HASHES);
    assert!(Note::parse(proof.checkpoint.as_bytes()).is_ok());
    let text = proof.to_text();
    assert_eq!(
        text.as_bytes(),
        data,
        "to_text differs from the parsed bytes"
    );
    assert_eq!(TlogProof::parse(text.as_bytes()).as_ref(), Ok(&proof));
});

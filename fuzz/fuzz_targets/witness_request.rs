#![no_main]
// Checks: the add-checkpoint body parser never panics; parsed requests respect the protocol limits, are canonical, and check() answers only spec statuses.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rootlog::merkle::MAX_PROOF_HASHES;
use rootlog::note::{encode_b64, Checkpoint, Signer, MAX_SIGNATURES};
use rootlog_witness::protocol::{check, parse_add_checkpoint, Stored, TrustedLog};

/// The public Go sumdb/note test key: seeds signed with it pass the signature check.
const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer::from_skey(SKEY).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = parse_add_checkpoint(data) else {
        return;
    };
    assert!(req.proof.len() <= MAX_PROOF_HASHES);
    assert!(!req.note.signatures.is_empty() && req.note.signatures.len() <= MAX_SIGNATURES);
    assert_eq!(
        Checkpoint::parse(&req.note.text).as_ref(),
        Ok(&req.checkpoint)
    );
    // Canonical: the body is exactly the re-serialized request.
    let mut body = format!("old {}\n", req.old);
    for h in &req.proof {
        body.push_str(&encode_b64(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&req.note.to_text());
    assert_eq!(body.as_bytes(), data, "request is not canonical");

    // The decision, for a log trusting the test key, with nothing stored and
    // with a stored checkpoint of size 1 (leaf "" of the fuzzed origin).
    let log = TrustedLog {
        origin: req.checkpoint.origin.clone(),
        verifiers: vec![signer().verifier()],
    };
    let cp = Checkpoint::new(&req.checkpoint.origin, 1, rootlog::merkle::leaf_hash(b""));
    let mut note = rootlog::note::Note::new(cp.to_text());
    note.signatures.push(signer().sign(note.text.as_bytes()));
    let stored = Stored {
        note,
        checkpoint: cp,
    };
    for st in [None, Some(&stored)] {
        match check(&log, st, &req) {
            Ok(cosign) => {
                assert_eq!(cosign.text, req.note.text);
                assert!(!cosign.signatures.is_empty());
                assert!(req.old <= req.checkpoint.size);
            }
            Err(r) => {
                assert!(
                    matches!(r.status, 400 | 403 | 409 | 422),
                    "status {}",
                    r.status
                );
                // Every 409 tells the client the stored size.
                assert!(r.status != 409 || r.stored_size.is_some());
            }
        }
    }
});

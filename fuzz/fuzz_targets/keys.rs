#![no_main]
// Checks: vkey/skey parsers never panic; parsed keys re-render to the same string and re-parse to the same name, key ID and key.
use libfuzzer_sys::fuzz_target;
use rootlog::note::{is_valid_key_name, open, KeyKind, Note, Signer, Verifier};

fn same_key(a: &Verifier, b: &Verifier) {
    assert_eq!(a.name(), b.name());
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.kind(), b.kind());
    assert_eq!(a.public_key(), b.public_key());
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let plain = Verifier::from_vkey(s);
    if let Ok(v) = &plain {
        assert!(is_valid_key_name(v.name()));
        // Canonical: one spelling per key.
        assert_eq!(v.vkey(), s);
        same_key(v, &Verifier::from_vkey(&v.vkey()).unwrap());
    }
    match Verifier::cosignature_from_vkey(s) {
        Ok(c) => {
            let v = plain
                .as_ref()
                .expect("cosignature_from_vkey accepted what from_vkey refused");
            assert_eq!(c.kind(), KeyKind::CosignatureV1);
            assert_eq!(c.name(), v.name());
            assert_eq!(c.public_key(), v.public_key());
            same_key(&c, &Verifier::from_vkey(&c.vkey()).unwrap());
            same_key(&c, &Verifier::cosignature_from_vkey(&c.vkey()).unwrap());
        }
        Err(_) => assert!(plain.is_err()),
    }
    if let Ok(signer) = Signer::from_skey(s) {
        assert_eq!(signer.skey(), s);
        let v = Verifier::from_vkey(&signer.vkey()).unwrap();
        same_key(&v, &signer.verifier());
        // The key signs and its verifiers accept exactly what it signed.
        let mut note = Note::new("fuzz\n".to_string());
        note.signatures.push(signer.sign(note.text.as_bytes()));
        note.signatures.push(signer.cosign(note.text.as_bytes(), 1));
        assert_eq!(
            open(&note, &[v, signer.cosignature_verifier()]),
            Ok(vec![0, 1])
        );
        let mut other = note.clone();
        other.text = "fuzz!\n".to_string();
        assert!(open(&other, &[signer.verifier()]).is_err());
    }
});

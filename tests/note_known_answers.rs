//! Known answers from ../shared/vectors/signed-note.md and
//! tlog-standards.md §4.1 and §8.2–8.3, plus the negative cases of the
//! signed-note, key and checkpoint parsers.

use std::path::Path;

use rootlog::note::{
    cosignature_message, decode_base64_canonical, encode_b64, key_id, open, Checkpoint, KeyError,
    KeyKind, Note, NoteError, NoteSignature, Signer, Verifier, MAX_SIGNATURES,
};

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_LINE: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

const FOO_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const FOO_NOTE: &str = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_NOTE: &str = "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";

const ANDROID_TEXT: &str = "developers.google.com/android/binary_transparency/0\n611\n2GZ1zmS5VkfUZmn2ZyR4KZXwHLD+xnwBIWzql/cD50w=\n";
const SMALL_BREEZE_LINE: &str = "— ArmoredWitness-small-breeze nRq5UQAAAABnoqrsRIofXn68vTohcAm2KG4ACGyRPNePUk02BSWD0WKV5ElejTk5Z+Tm3GmJ5j/etA+fkL9XuaQsnTyZbr437sF4AQ==";
const AUTUMN_WOOD_LINE: &str = "— ArmoredWitness-autumn-wood qZb5XQAAAABnoqrl57G9CblEl3lwwuqzbaJvVMqNiZCbYZseYT1YZHYmls3CmT1wxZ1fNgM4RxHuUxjAwcI2ghTx6R5aCg+L0DGPBA==";
const SMALL_BREEZE_VKEY: &str =
    "ArmoredWitness-small-breeze+7b3ada3a+AQAWYpUjfGGPQiWOgt6sLWap0P9rVOe+Ofu2uNZbO4FD";
const AUTUMN_WOOD_VKEY: &str =
    "ArmoredWitness-autumn-wood+863571a5+AesIVCbad7gbU07JnA6YfZD0qg4B1c8xF4ISdnt9vjip";

const WITNESS_SKEY: &str =
    "PRIVATE+KEY+witness+f13a86db+AaLa/dfyBhyo/m0Z7WCi98ENVZWtrP8pxgRNrx7tIWiA";
const WITNESS_VKEY_04: &str = "witness+24b37851+BNYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN";
const WITNESS_VKEY_01: &str = "witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN";
const SOFA_TEXT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const WITNESS_LINE: &str = "— witness JLN4UQAAAABkGFDL+vmNmC5GoDyGTuKZpyMw7YMUoldBDC7uLKziXdQ0KT/aBf8fpTZcWBCKqWXt8XfSI8IiM+ff1iHHE3vf4JNEBg==";

fn parse_line(line: &str) -> NoteSignature {
    NoteSignature::parse_line(line).unwrap()
}

/// The hard-coded values are the shared vectors; fail if the two drift apart.
#[test]
fn vectors_file_contains_every_known_answer() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/signed-note.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared vectors must be beside the repo: {}: {e}",
            path.display()
        )
    });
    for s in [
        PETER_SKEY,
        PETER_VKEY,
        PETER_LINE,
        FOO_VKEY,
        SUMDB_VKEY,
        SMALL_BREEZE_LINE,
        AUTUMN_WOOD_LINE,
        SMALL_BREEZE_VKEY,
        AUTUMN_WOOD_VKEY,
        "This is an example message.",
        "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=",
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=",
        "2GZ1zmS5VkfUZmn2ZyR4KZXwHLD+xnwBIWzql/cD50w=",
        "9d1ab951",
        "a996f95d",
        "1738713836",
    ] {
        assert!(md.contains(s), "signed-note.md lacks {s:?}");
    }
}

#[test]
fn peter_neumann_skey_derives_vkey_and_signs_exactly() {
    let signer = Signer::from_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.vkey(), PETER_VKEY);
    assert_eq!(signer.skey(), PETER_SKEY);
    let sig = signer.sign(PETER_TEXT.as_bytes());
    assert_eq!(sig.line(), format!("{PETER_LINE}\n"));

    let note_text = format!("{PETER_TEXT}\n{PETER_LINE}\n");
    let note = Note::parse(note_text.as_bytes()).unwrap();
    assert_eq!(note.text, PETER_TEXT);
    assert_eq!(note.to_text(), note_text);
    let verifier = Verifier::from_vkey(PETER_VKEY).unwrap();
    assert_eq!(open(&note, &[verifier]).unwrap(), vec![0]);
}

#[test]
fn c2sp_example_note_verifies() {
    let verifier = Verifier::from_vkey(FOO_VKEY).unwrap();
    assert_eq!(verifier.key_id(), 0x530d903a);
    assert_eq!(verifier.kind(), KeyKind::Ed25519);
    assert_eq!(verifier.vkey(), FOO_VKEY);
    let note = Note::parse(FOO_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(open(&note, &[verifier]).unwrap(), vec![0]);
    assert_eq!(note.to_text(), FOO_NOTE);
}

#[test]
fn sumdb_production_checkpoint_verifies_and_parses() {
    // The vkey's base64 contains '+': it must split into at most 3 fields.
    let verifier = Verifier::from_vkey(SUMDB_VKEY).unwrap();
    assert_eq!(verifier.name(), "sum.golang.org");
    assert_eq!(verifier.key_id(), 0x033de0ae);
    let note = Note::parse(SUMDB_NOTE.as_bytes()).unwrap();
    assert_eq!(open(&note, &[verifier]).unwrap(), vec![0]);
    let cp = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(cp.origin, "go.sum database tree");
    assert_eq!(cp.size, 6476701);
    assert_eq!(
        encode_b64(&cp.root),
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="
    );
    assert_eq!(cp.to_text(), note.text);
}

#[test]
fn armored_witness_production_cosignatures_verify() {
    let cases = [
        (
            SMALL_BREEZE_VKEY,
            SMALL_BREEZE_LINE,
            0x7b3ada3a,
            0x9d1ab951,
            1738713836,
        ),
        (
            AUTUMN_WOOD_VKEY,
            AUTUMN_WOOD_LINE,
            0x863571a5,
            0xa996f95d,
            1738713829,
        ),
    ];
    for (vkey, line, id_01, id_04, time) in cases {
        let plain = Verifier::from_vkey(vkey).unwrap();
        assert_eq!(plain.key_id(), id_01);
        assert_eq!(plain.kind(), KeyKind::Ed25519);

        let cosig = Verifier::cosignature_from_vkey(vkey).unwrap();
        assert_eq!(cosig.kind(), KeyKind::CosignatureV1);
        assert_eq!(cosig.key_id(), id_04);
        assert_eq!(cosig.name(), plain.name());
        assert_eq!(cosig.public_key(), plain.public_key());
        assert!(cosig.vkey().contains(&format!("+{id_04:08x}+B")));
        // The 0x04 vkey gives the same verifier.
        let again = Verifier::cosignature_from_vkey(&cosig.vkey()).unwrap();
        assert_eq!(again.vkey(), cosig.vkey());

        let sig = parse_line(line);
        assert_eq!(sig.key_id, id_04);
        assert_eq!(sig.signature.len(), 72);
        assert_eq!(cosig.cosignature_timestamp(&sig), Some(time));
        assert!(cosig.matches(&sig));
        assert!(!plain.matches(&sig));
        assert!(cosig.verify(ANDROID_TEXT.as_bytes(), &sig.signature));

        let note = Note::parse(format!("{ANDROID_TEXT}\n{line}\n").as_bytes()).unwrap();
        assert_eq!(open(&note, std::slice::from_ref(&cosig)).unwrap(), vec![0]);
        // The plain 0x01 verifier does not know the 0x04 key ID.
        assert_eq!(open(&note, &[plain]), Err(NoteError::UnverifiedNote));
        // A different body fails.
        assert!(!cosig.verify(SOFA_TEXT.as_bytes(), &sig.signature));
    }

    // Both cosignatures on one note.
    let both = format!("{ANDROID_TEXT}\n{SMALL_BREEZE_LINE}\n{AUTUMN_WOOD_LINE}\n");
    let note = Note::parse(both.as_bytes()).unwrap();
    let verifiers = [
        Verifier::cosignature_from_vkey(SMALL_BREEZE_VKEY).unwrap(),
        Verifier::cosignature_from_vkey(AUTUMN_WOOD_VKEY).unwrap(),
    ];
    assert_eq!(open(&note, &verifiers).unwrap(), vec![0, 1]);
    assert_eq!(
        Checkpoint::parse(&note.text).unwrap().origin,
        "developers.google.com/android/binary_transparency/0"
    );
}

#[test]
fn derived_witness_vector() {
    let signer = Signer::from_skey(WITNESS_SKEY).unwrap();
    assert_eq!(signer.vkey(), WITNESS_VKEY_01);
    assert_eq!(signer.cosignature_verifier().vkey(), WITNESS_VKEY_04);
    assert_eq!(
        Verifier::cosignature_from_vkey(WITNESS_VKEY_01)
            .unwrap()
            .vkey(),
        WITNESS_VKEY_04
    );
    let from_04 = Verifier::from_vkey(WITNESS_VKEY_04).unwrap();
    assert_eq!(from_04.kind(), KeyKind::CosignatureV1);
    assert_eq!(from_04.key_id(), 0x24b37851);

    let cosig = signer.cosign(SOFA_TEXT.as_bytes(), 1679315147);
    assert_eq!(cosig.line(), format!("{WITNESS_LINE}\n"));
    assert!(from_04.verify(SOFA_TEXT.as_bytes(), &cosig.signature));
    assert_eq!(from_04.cosignature_timestamp(&cosig), Some(1679315147));
}

#[test]
fn cosignature_message_exact_bytes() {
    assert_eq!(
        cosignature_message(1679315147, SOFA_TEXT.as_bytes()),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    assert_eq!(
        cosignature_message(0, b"x\n"),
        b"cosignature/v1\ntime 0\nx\n"
    );
}

#[test]
fn key_id_definition() {
    let v = Verifier::from_vkey(PETER_VKEY).unwrap();
    let mut type_and_key = vec![0x01];
    type_and_key.extend_from_slice(&v.public_key());
    assert_eq!(key_id("PeterNeumann", &type_and_key), 0xc74f20a3);
    type_and_key[0] = 0x04;
    assert_ne!(key_id("PeterNeumann", &type_and_key), 0xc74f20a3);
}

// ---- negative cases: notes ----

#[test]
fn tampered_text_fails() {
    let verifier = Verifier::from_vkey(FOO_VKEY).unwrap();
    let tampered = FOO_NOTE.replace("example message", "example massage");
    let note = Note::parse(tampered.as_bytes()).unwrap();
    assert_eq!(
        open(&note, &[verifier]),
        Err(NoteError::InvalidSignature {
            name: "example.com/foo".into(),
            key_id: 0x530d903a
        })
    );
}

#[test]
fn known_key_with_bad_signature_is_invalid_even_next_to_a_good_one() {
    let signer = Signer::from_skey(PETER_SKEY).unwrap();
    let mut bad = signer.sign(PETER_TEXT.as_bytes());
    bad.signature[10] ^= 1;
    let other = Signer::generate("other").unwrap();
    let mut note = Note::new(PETER_TEXT.to_string());
    note.signatures.push(other.sign(PETER_TEXT.as_bytes()));
    note.signatures.push(bad);
    let note = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(
        open(&note, &[other.verifier(), signer.verifier()]),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
    // Only the other key known: the bad unknown signature is ignored.
    assert_eq!(open(&note, &[other.verifier()]).unwrap(), vec![0]);
}

#[test]
fn unknown_signatures_only_is_unverified() {
    let note = Note::parse(FOO_NOTE.as_bytes()).unwrap();
    let peter = Verifier::from_vkey(PETER_VKEY).unwrap();
    assert_eq!(open(&note, &[peter]), Err(NoteError::UnverifiedNote));
    assert_eq!(open(&note, &[]), Err(NoteError::UnverifiedNote));
    // Same name, different key ID: still unknown.
    let impostor = Signer::generate("example.com/foo").unwrap();
    assert_eq!(
        open(&note, &[impostor.verifier()]),
        Err(NoteError::UnverifiedNote)
    );
}

#[test]
fn control_characters_and_encoding_errors_are_malformed() {
    let good = format!("{PETER_TEXT}\n{PETER_LINE}\n");
    let malformed = |msg: &[u8]| matches!(Note::parse(msg), Err(NoteError::Malformed(_)));
    assert!(!malformed(good.as_bytes()));
    assert!(malformed(good.replacen('\n', "\r\n", 1).as_bytes()));
    assert!(malformed(good.replace(",", ",\t").as_bytes()));
    assert!(malformed(good.replace(",", ",\0").as_bytes()));
    assert!(malformed(good.replace(",", ",\u{85}").as_bytes()));
    // CRLF after the signature line.
    assert!(malformed(
        format!("{PETER_TEXT}\n{PETER_LINE}\r\n").as_bytes()
    ));
    let mut invalid_utf8 = good.clone().into_bytes();
    invalid_utf8[3] = 0xff;
    assert!(malformed(&invalid_utf8));
    // Missing final newline.
    assert!(malformed(good.trim_end_matches('\n').as_bytes()));
    // No signatures.
    assert!(malformed(format!("{PETER_TEXT}\n").as_bytes()));
    assert!(malformed(PETER_TEXT.as_bytes()));
    assert!(malformed(b""));
    // Non-canonical base64 (last character changes only stray bits).
    let non_canonical = good.replace("JnAM=", "JnAN=");
    assert!(decode_base64_canonical("JnAN=").is_none());
    assert!(malformed(non_canonical.as_bytes()));
    // Missing padding.
    assert!(malformed(good.replace("JnAM=", "JnAM").as_bytes()));
    // An extra space before the base64.
    assert!(malformed(
        good.replace("PeterNeumann x08", "PeterNeumann  x08")
            .as_bytes()
    ));
    // Blank line inside the signature block: the last "\n\n" splits there.
    assert!(malformed(
        format!("{PETER_TEXT}\n{PETER_LINE}\n\n").as_bytes()
    ));
}

#[test]
fn signature_count_limit() {
    let signer = Signer::from_skey(PETER_SKEY).unwrap();
    let line = signer.sign(PETER_TEXT.as_bytes()).line();
    let with = |n: usize| format!("{PETER_TEXT}\n{}", line.repeat(n));
    let note = Note::parse(with(MAX_SIGNATURES).as_bytes()).unwrap();
    assert_eq!(note.signatures.len(), MAX_SIGNATURES);
    assert_eq!(
        Note::parse(with(MAX_SIGNATURES + 1).as_bytes()),
        Err(NoteError::TooManySignatures)
    );
}

// ---- negative cases: keys ----

#[test]
fn vkey_refusals() {
    // Wrong key ID.
    assert_eq!(
        Verifier::from_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap_err(),
        KeyError::WrongKeyId
    );
    // Same key, different name: the ID no longer matches.
    assert_eq!(
        Verifier::from_vkey("PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap_err(),
        KeyError::WrongKeyId
    );
    // Uppercase hex ID, short ID.
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::Malformed(_))
    ));
    // Bad base64.
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW"),
        Err(KeyError::Malformed(_))
    ));
    // Wrong length (31-byte key, with a matching ID so only the length is wrong).
    let mut short = vec![0x01];
    short.extend_from_slice(&[9u8; 31]);
    let vkey = format!("n+{:08x}+{}", key_id("n", &short), encode_b64(&short));
    assert!(matches!(
        Verifier::from_vkey(&vkey),
        Err(KeyError::Malformed(_))
    ));
    // Unsupported type.
    let v = Verifier::from_vkey(PETER_VKEY).unwrap();
    let mut typed = vec![0x02];
    typed.extend_from_slice(&v.public_key());
    let vkey = format!("n+{:08x}+{}", key_id("n", &typed), encode_b64(&typed));
    assert_eq!(
        Verifier::from_vkey(&vkey).unwrap_err(),
        KeyError::UnsupportedType(0x02)
    );
    assert_eq!(
        Verifier::cosignature_from_vkey(&vkey).unwrap_err(),
        KeyError::UnsupportedType(0x02)
    );
    // Bad names and missing fields.
    assert!(matches!(
        Verifier::from_vkey("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::BadName(_))
    ));
    assert!(matches!(
        Verifier::from_vkey("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::BadName(_))
    ));
    assert!(matches!(
        Verifier::from_vkey("PeterNeumann+c74f20a3"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        Verifier::from_vkey(""),
        Err(KeyError::Malformed(_) | KeyError::BadName(_))
    ));
}

#[test]
fn skey_refusals_and_plus_in_base64() {
    // PETER_SKEY has a '+' inside its base64.
    assert!(PETER_SKEY.splitn(5, '+').nth(4).unwrap().contains('+'));
    assert!(Signer::from_skey(PETER_SKEY).is_ok());
    assert_eq!(
        Signer::from_skey(&PETER_SKEY.replace("c74f20a3", "c74f20a4")).unwrap_err(),
        KeyError::WrongKeyId
    );
    assert!(matches!(
        Signer::from_skey(&PETER_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY")),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        Signer::from_skey(PETER_VKEY),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        Signer::from_skey(&PETER_SKEY.replace("DFz", "DF")),
        Err(KeyError::Malformed(_))
    ));
    // A 0x04 private key is not a Go skey.
    let seed = &decode_base64_canonical("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap();
    let mut typed = seed.clone();
    typed[0] = 0x04;
    let skey = format!("PRIVATE+KEY+PeterNeumann+c74f20a3+{}", encode_b64(&typed));
    assert_eq!(
        Signer::from_skey(&skey).unwrap_err(),
        KeyError::UnsupportedType(0x04)
    );
}

// ---- negative cases: checkpoints ----

const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

fn checkpoint_with_size(size: &str) -> String {
    format!("example.com/log\n{size}\n{ROOT}\n")
}

#[test]
fn checkpoint_refusals() {
    assert_eq!(
        Checkpoint::parse(&checkpoint_with_size("0")).unwrap().size,
        0
    );
    assert_eq!(
        Checkpoint::parse(&checkpoint_with_size("18446744073709551615"))
            .unwrap()
            .size,
        u64::MAX
    );
    for size in [
        "007",
        "00",
        "+5",
        "-1",
        "18446744073709551616",
        "",
        " 5",
        "5 ",
    ] {
        assert!(
            Checkpoint::parse(&checkpoint_with_size(size)).is_err(),
            "size {size:?}"
        );
    }
    let short_root = encode_b64(&[1u8; 31]);
    let long_root = encode_b64(&[1u8; 33]);
    for bad in [
        format!("example.com/log\n5\n{short_root}\n"),
        format!("example.com/log\n5\n{long_root}\n"),
        format!("example.com/log\n5\n{}\n", &ROOT[..43]),
        "example.com/log\n5\n".to_string(),
        "example.com/log\n".to_string(),
        format!("example.com/log\n{ROOT}\n"),
        format!("\n5\n{ROOT}\n"),
        format!("example.com/log\n5\n{ROOT}"),
        format!("example.com/log\n5\n{ROOT}\n\n"),
        format!("example.com/log\n5\n{ROOT}\next\n\nmore\n"),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn checkpoint_extension_lines_round_trip() {
    let text = format!("example.com/log\n5\n{ROOT}\nextension one\nsecond-ext\n");
    let cp = Checkpoint::parse(&text).unwrap();
    assert_eq!(cp.extensions, vec!["extension one", "second-ext"]);
    assert_eq!(cp.to_text(), text);
    assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
}

#[test]
fn signed_checkpoint_round_trip_with_log_key_and_cosignature() {
    let log = Signer::generate("example.com/log").unwrap();
    let witness = Signer::generate("example.com/witness").unwrap();
    let cp = Checkpoint::new("example.com/log", 5, [3u8; 32]);
    let text = cp.to_text();
    let mut note = Note::new(text.clone());
    note.signatures.push(log.sign(text.as_bytes()));
    note.signatures
        .push(witness.cosign(text.as_bytes(), 1_700_000_000));
    let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(parsed, note);
    assert_eq!(open(&parsed, &[log.verifier()]).unwrap(), vec![0]);
    let wv = Verifier::cosignature_from_vkey(&witness.vkey()).unwrap();
    assert_eq!(open(&parsed, std::slice::from_ref(&wv)).unwrap(), vec![1]);
    assert_eq!(open(&parsed, &[log.verifier(), wv]).unwrap(), vec![0, 1]);
    assert_eq!(Checkpoint::parse(&parsed.text).unwrap(), cp);
}

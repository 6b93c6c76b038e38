//! Known answers: production Armored Witness cosignatures (published as 0x01
//! vkeys, signing under 0x04 key IDs) verify the way the witness's own
//! cosignatures are checked.

use rootlog_tlog::note::{open, Note, Verifier};

const CHECKPOINT: &str = "developers.google.com/android/binary_transparency/0\n611\n2GZ1zmS5VkfUZmn2ZyR4KZXwHLD+xnwBIWzql/cD50w=\n";
const LINES: [(&str, &str, u64); 2] = [
    (
        "ArmoredWitness-small-breeze+7b3ada3a+AQAWYpUjfGGPQiWOgt6sLWap0P9rVOe+Ofu2uNZbO4FD",
        "\u{2014} ArmoredWitness-small-breeze nRq5UQAAAABnoqrsRIofXn68vTohcAm2KG4ACGyRPNePUk02BSWD0WKV5ElejTk5Z+Tm3GmJ5j/etA+fkL9XuaQsnTyZbr437sF4AQ==\n",
        1738713836,
    ),
    (
        "ArmoredWitness-autumn-wood+863571a5+AesIVCbad7gbU07JnA6YfZD0qg4B1c8xF4ISdnt9vjip",
        "\u{2014} ArmoredWitness-autumn-wood qZb5XQAAAABnoqrl57G9CblEl3lwwuqzbaJvVMqNiZCbYZseYT1YZHYmls3CmT1wxZ1fNgM4RxHuUxjAwcI2ghTx6R5aCg+L0DGPBA==\n",
        1738713829,
    ),
];

#[test]
fn armored_witness_cosignatures_verify_from_published_vkeys() {
    // The vectors are also in ../shared/vectors/signed-note.md; check they agree when present.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors/signed-note.md");
    if let Ok(text) = std::fs::read_to_string(&shared) {
        for (vkey, line, _) in LINES {
            assert!(text.contains(vkey));
            assert!(text.contains(line.trim_end()));
        }
    }
    for (vkey, line, time) in LINES {
        // As a client parses a 200 answer: append it to the checkpoint.
        let note = Note::parse(format!("{CHECKPOINT}\n{line}").as_bytes()).unwrap();
        let v = Verifier::cosignature_from_vkey(vkey).unwrap();
        assert_eq!(open(&note, std::slice::from_ref(&v)).unwrap(), vec![0]);
        assert_eq!(v.cosignature_timestamp(&note.signatures[0]), Some(time));
        // And from the 0x04 form of the same key.
        let v04 = Verifier::cosignature_from_vkey(&v.vkey()).unwrap();
        assert!(open(&note, &[v04]).is_ok());
        // The 0x01 verifier itself does not match (different key ID).
        assert!(open(&note, &[Verifier::from_vkey(vkey).unwrap()]).is_err());
    }
}

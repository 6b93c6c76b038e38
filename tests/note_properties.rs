//! Property tests of the strict encodings and the note container.

use proptest::prelude::*;
use rootlog::note::{decode_base64_canonical, encode_b64, parse_decimal_u64, Note, NoteSignature};

/// A note text: lines of printable characters (no control characters, so
/// no '\n' inside a line), each ending in '\n'; empty lines allowed.
fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[^\\p{Cc}]{0,20}", 1..6).prop_map(|lines| {
        lines.into_iter().fold(String::new(), |mut text, line| {
            text.push_str(&line);
            text.push('\n');
            text
        })
    })
}

fn signature() -> impl Strategy<Value = NoteSignature> {
    (
        "[^\\p{White_Space}+\\p{Cc}]{1,16}",
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 1..80),
    )
        .prop_map(|(name, key_id, signature)| NoteSignature {
            name,
            key_id,
            signature,
        })
}

proptest! {
    #[test]
    fn note_round_trips(text in note_text(), sigs in prop::collection::vec(signature(), 1..5)) {
        let note = Note { text, signatures: sigs };
        let serialized = note.to_text();
        let parsed = Note::parse(serialized.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &note);
        prop_assert_eq!(parsed.to_text(), serialized);
    }

    #[test]
    fn decimal_agrees_with_formatting(n in any::<u64>()) {
        prop_assert_eq!(parse_decimal_u64(&n.to_string()), Some(n));
        // A leading zero or a sign always makes it non-canonical.
        prop_assert_eq!(parse_decimal_u64(&format!("0{n}")), None);
        prop_assert_eq!(parse_decimal_u64(&format!("+{n}")), None);
    }

    #[test]
    fn decimal_accepts_only_canonical_strings(s in "[0-9+-]{0,22}") {
        let expected = s.parse::<u64>().ok().filter(|n| n.to_string() == s);
        prop_assert_eq!(parse_decimal_u64(&s), expected);
    }

    #[test]
    fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let encoded = encode_b64(&bytes);
        prop_assert_eq!(decode_base64_canonical(&encoded), Some(bytes));
    }

    #[test]
    fn base64_accepts_only_its_own_encoding(s in "[A-Za-z0-9+/=]{0,12}") {
        if let Some(bytes) = decode_base64_canonical(&s) {
            prop_assert_eq!(encode_b64(&bytes), s);
        }
    }
}

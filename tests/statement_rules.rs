//! The daily-root statement rules (README, "The daily-root statement", and
//! `POST /v1/roots` in openapi.yaml), one assertion per rule.

use rootlog::merkle::EMPTY_ROOT;
use rootlog::note::{encode_b64, Note, Signer, Verifier};
use rootlog::statement::{
    check_date, format_date, is_valid_tenant_id, parse_date, parse_submission,
    verify_tenant_signatures, ChainHead, Statement, StatementError, FORMAT_LINE,
    MAX_STATEMENT_BYTES,
};
use time::macros::date;

const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
const CHAIN: &str = "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=";
const EMPTY: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

fn valid_text() -> String {
    format!("daily-root/v1\ntenant acme\ndate 2026-03-14\nrecords 1234\nroot {ROOT}\n")
}

fn valid_text_with_chain() -> String {
    format!("{}chain 98765 {CHAIN}\n", valid_text())
}

fn parse(text: &str) -> Result<Statement, StatementError> {
    Statement::parse_text(text)
}

fn is_bad_format(text: &str) -> bool {
    matches!(parse(text), Err(StatementError::BadFormat(_)))
}

fn signed(text: &str, signers: &[&Signer]) -> String {
    let mut note = Note::new(text.to_string());
    for s in signers {
        note.signatures.push(s.sign(text.as_bytes()));
    }
    note.to_text()
}

#[test]
fn valid_statement_without_chain() {
    let st = parse(&valid_text()).unwrap();
    assert_eq!(st.tenant, "acme");
    assert_eq!(st.date, date!(2026 - 03 - 14));
    assert_eq!(st.date_string(), "2026-03-14");
    assert_eq!(st.records, 1234);
    assert_eq!(encode_b64(&st.root), ROOT);
    assert_eq!(st.chain, None);
    assert_eq!(st.to_text(), valid_text());
    assert_eq!(parse(&st.to_text()).unwrap(), st);
}

#[test]
fn valid_statement_with_chain() {
    let st = parse(&valid_text_with_chain()).unwrap();
    let chain: ChainHead = st.chain.unwrap();
    assert_eq!(chain.seq, 98765);
    assert_eq!(encode_b64(&chain.hash), CHAIN);
    assert_eq!(st.to_text(), valid_text_with_chain());
    assert_eq!(parse(&st.to_text()).unwrap(), st);
}

#[test]
fn round_trip_of_constructed_statement() {
    let st = Statement {
        tenant: "a".into(),
        date: date!(1970 - 01 - 01),
        records: 0,
        root: EMPTY_ROOT,
        chain: Some(ChainHead {
            seq: 0,
            hash: [0u8; 32],
        }),
    };
    assert_eq!(parse(&st.to_text()).unwrap(), st);
    assert!(st.to_text().starts_with(FORMAT_LINE));
}

#[test]
fn wrong_format_line() {
    assert!(is_bad_format(
        &valid_text().replace("daily-root/v1", "daily-root/v2")
    ));
    assert!(is_bad_format(&valid_text().replace("daily-root/v1\n", "")));
    assert!(is_bad_format(&format!(" {}", valid_text())));
}

#[test]
fn missing_lines() {
    for drop in ["tenant acme\n", "date 2026-03-14\n", "records 1234\n"] {
        assert!(is_bad_format(&valid_text().replace(drop, "")), "{drop:?}");
    }
    assert!(is_bad_format(
        &valid_text().replace(&format!("root {ROOT}\n"), "")
    ));
    assert!(is_bad_format("daily-root/v1\n"));
    assert!(is_bad_format(""));
}

#[test]
fn extra_lines() {
    assert!(is_bad_format(&format!(
        "{}extra\n",
        valid_text_with_chain()
    )));
    assert!(is_bad_format(&format!("{}\n", valid_text())));
    assert!(is_bad_format(&format!("{}note hello\n", valid_text())));
    assert!(is_bad_format(&format!(
        "{}chain 1 {CHAIN}\n",
        valid_text_with_chain()
    )));
}

#[test]
fn reordered_lines() {
    let swapped =
        format!("daily-root/v1\ndate 2026-03-14\ntenant acme\nrecords 1234\nroot {ROOT}\n");
    assert!(is_bad_format(&swapped));
    let swapped =
        format!("daily-root/v1\ntenant acme\ndate 2026-03-14\nroot {ROOT}\nrecords 1234\n");
    assert!(is_bad_format(&swapped));
}

#[test]
fn double_spaces() {
    assert!(is_bad_format(
        &valid_text().replace("tenant acme", "tenant  acme")
    ));
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records  1234")
    ));
    assert!(is_bad_format(&valid_text().replace("root ", "root  ")));
    assert!(is_bad_format(
        &valid_text_with_chain().replace("98765 ", "98765  ")
    ));
    assert!(is_bad_format(
        &valid_text_with_chain().replace("chain ", "chain  ")
    ));
    assert!(matches!(
        parse(&valid_text().replace("date 2026", "date  2026")),
        Err(StatementError::BadDate(_))
    ));
}

#[test]
fn trailing_spaces() {
    assert!(is_bad_format(&valid_text().replace("acme\n", "acme \n")));
    assert!(is_bad_format(&valid_text().replace("1234\n", "1234 \n")));
    assert!(is_bad_format(
        &valid_text().replace(&format!("{ROOT}\n"), &format!("{ROOT} \n"))
    ));
    assert!(is_bad_format(
        &valid_text().replace("daily-root/v1\n", "daily-root/v1 \n")
    ));
    assert!(is_bad_format(&format!(
        "{}chain 1 {CHAIN} \n",
        valid_text()
    )));
}

#[test]
fn crlf_and_missing_final_newline() {
    assert!(is_bad_format(&valid_text().replace('\n', "\r\n")));
    assert!(is_bad_format(&valid_text().replacen('\n', "\r\n", 1)));
    assert!(is_bad_format(valid_text().trim_end_matches('\n')));
    // Through the submission path CR is already a malformed note.
    let signer = Signer::generate("acme").unwrap();
    let note = signed(&valid_text(), &[&signer]).replacen('\n', "\r\n", 1);
    assert!(matches!(
        parse_submission(note.as_bytes()),
        Err(StatementError::MalformedNote(_))
    ));
}

#[test]
fn bad_base64_hashes() {
    assert!(is_bad_format(&valid_text().replace(ROOT, "not base64!")));
    assert!(is_bad_format(
        &valid_text().replace(ROOT, &ROOT.replace('/', "_"))
    ));
    assert!(is_bad_format(
        &valid_text().replace(ROOT, ROOT.trim_end_matches('='))
    ));
    // 31 and 33 bytes.
    assert!(is_bad_format(
        &valid_text().replace(ROOT, &encode_b64(&[1; 31]))
    ));
    assert!(is_bad_format(
        &valid_text().replace(ROOT, &encode_b64(&[1; 33]))
    ));
    assert!(is_bad_format(
        &valid_text_with_chain().replace(CHAIN, &encode_b64(&[1; 31]))
    ));
    assert!(is_bad_format(
        &valid_text_with_chain().replace(CHAIN, &encode_b64(&[1; 33]))
    ));
    // Non-canonical: same bytes, stray low bits set in the last character.
    let non_canonical = EMPTY.replace("FU=", "FV=");
    assert!(is_bad_format(&valid_text().replace(ROOT, &non_canonical)));
    assert!(is_bad_format(
        &valid_text_with_chain().replace(CHAIN, &non_canonical)
    ));
}

#[test]
fn bad_numbers() {
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records 01234")
    ));
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records 00")
    ));
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records +1234")
    ));
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records -1")
    ));
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records 18446744073709551616")
    ));
    assert!(is_bad_format(
        &valid_text_with_chain().replace("98765", "098765")
    ));
    assert_eq!(
        parse(&valid_text().replace("records 1234", "records 18446744073709551615"))
            .unwrap()
            .records,
        u64::MAX
    );
}

#[test]
fn zero_records_need_the_empty_root() {
    assert!(is_bad_format(
        &valid_text().replace("records 1234", "records 0")
    ));
    let empty = valid_text()
        .replace("records 1234", "records 0")
        .replace(ROOT, EMPTY);
    let st = parse(&empty).unwrap();
    assert_eq!(st.records, 0);
    assert_eq!(st.root, EMPTY_ROOT);
}

#[test]
fn bad_dates() {
    for bad in [
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-2-3",
        "+2026-02-03",
        "02026-02-03",
        "2026/02/03",
        "2026-02-03T00:00",
        "20260203",
        "",
    ] {
        assert!(
            matches!(
                parse(&valid_text().replace("2026-03-14", bad)),
                Err(StatementError::BadDate(_))
            ),
            "{bad:?}"
        );
        assert_eq!(parse_date(bad), None, "{bad:?}");
    }
    // Leap day is real in 2024, not in 2026.
    assert_eq!(parse_date("2024-02-29"), Some(date!(2024 - 02 - 29)));
    assert_eq!(format_date(date!(2024 - 02 - 29)), "2024-02-29");
    assert_eq!(format_date(date!(0099 - 01 - 02)), "0099-01-02");
}

#[test]
fn date_window() {
    let today = date!(2026 - 03 - 14);
    assert_eq!(check_date(today, today), Ok(()));
    assert_eq!(check_date(date!(2026 - 03 - 15), today), Ok(()));
    assert!(matches!(
        check_date(date!(2026 - 03 - 16), today),
        Err(StatementError::BadDate(_))
    ));
    assert_eq!(check_date(date!(1970 - 01 - 01), today), Ok(()));
    assert!(matches!(
        check_date(date!(1969 - 12 - 31), today),
        Err(StatementError::BadDate(_))
    ));
    // A year-end "tomorrow".
    assert_eq!(
        check_date(date!(2027 - 01 - 01), date!(2026 - 12 - 31)),
        Ok(())
    );
}

#[test]
fn bad_tenant_ids() {
    for bad in [
        "Acme", "ACME", "-acme", ".acme", "_acme", "ac me", "acmé", "",
    ] {
        assert!(!is_valid_tenant_id(bad), "{bad:?}");
        let text = valid_text().replace("tenant acme", &format!("tenant {bad}"));
        assert!(is_bad_format(&text), "{bad:?}");
    }
    let max = format!("a{}", "b".repeat(62));
    assert!(is_valid_tenant_id(&max));
    assert!(parse(&valid_text().replace("acme", &max)).is_ok());
    let too_long = format!("a{}", "b".repeat(63));
    assert_eq!(too_long.len(), 64);
    assert!(!is_valid_tenant_id(&too_long));
    assert!(is_bad_format(&valid_text().replace("acme", &too_long)));
    for good in ["0", "a", "acme-corp.eu_1", "9lives", "a-", "a."] {
        assert!(is_valid_tenant_id(good), "{good:?}");
    }
}

#[test]
fn oversize_submission() {
    let signer = Signer::generate("acme").unwrap();
    let note = signed(&valid_text(), &[&signer]);
    // Pad the text region with a harmless-looking prefix so the size is exact.
    let mut big = vec![b'x'; MAX_STATEMENT_BYTES + 1 - note.len()];
    big.extend_from_slice(note.as_bytes());
    assert_eq!(big.len(), 16 * 1024 + 1);
    assert_eq!(parse_submission(&big), Err(StatementError::TooLarge));
    // Size is checked before anything else, even for garbage.
    assert_eq!(
        parse_submission(&vec![0xff; MAX_STATEMENT_BYTES + 1]),
        Err(StatementError::TooLarge)
    );
    // Exactly the limit is not "too large" (it fails later, on the text).
    let mut at_limit = vec![b'x'; MAX_STATEMENT_BYTES - note.len()];
    at_limit.extend_from_slice(note.as_bytes());
    assert!(matches!(
        parse_submission(&at_limit),
        Err(StatementError::BadFormat(_))
    ));
}

#[test]
fn valid_submission_verifies() {
    let signer = Signer::generate("acme").unwrap();
    let bytes = signed(&valid_text_with_chain(), &[&signer]);
    let (note, st) = parse_submission(bytes.as_bytes()).unwrap();
    assert_eq!(note.text, valid_text_with_chain());
    assert_eq!(st.tenant, "acme");
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[signer.verifier()]),
        Ok(vec![signer.vkey()])
    );
}

#[test]
fn malformed_notes() {
    assert!(matches!(
        parse_submission(valid_text().as_bytes()),
        Err(StatementError::MalformedNote(_))
    ));
    assert!(matches!(
        parse_submission(b"\xff\xfe"),
        Err(StatementError::MalformedNote(_))
    ));
    let signer = Signer::generate("acme").unwrap();
    let line = signer.sign(valid_text().as_bytes()).line();
    // 101 signature lines (all distinct keys would be the same outcome).
    let many = format!("{}\n{}", valid_text(), line.repeat(101));
    assert!(many.len() <= MAX_STATEMENT_BYTES);
    assert!(matches!(
        parse_submission(many.as_bytes()),
        Err(StatementError::MalformedNote(_))
    ));
}

#[test]
fn duplicate_signature_lines_by_the_same_key() {
    let signer = Signer::generate("acme").unwrap();
    let line = signer.sign(valid_text().as_bytes()).line();
    let dup = format!("{}\n{line}{line}", valid_text());
    assert_eq!(
        parse_submission(dup.as_bytes()),
        Err(StatementError::DuplicateSignature {
            name: "acme".into(),
            key_id: signer.verifier().key_id()
        })
    );
    // Same key, different (garbage) signature bytes: still a duplicate.
    let mut other = signer.sign(b"something else\n");
    other.signature[0] ^= 1;
    let dup = format!("{}\n{line}{}", valid_text(), other.line());
    assert!(matches!(
        parse_submission(dup.as_bytes()),
        Err(StatementError::DuplicateSignature { .. })
    ));
    // Same name, different key: not a duplicate.
    let other_key = Signer::generate("acme").unwrap();
    let ok = signed(&valid_text(), &[&signer, &other_key]);
    assert!(parse_submission(ok.as_bytes()).is_ok());
}

#[test]
fn signature_by_another_key_only_is_unsigned() {
    let registered = Signer::generate("acme").unwrap();
    let stranger = Signer::generate("acme").unwrap();
    let bytes = signed(&valid_text(), &[&stranger]);
    let (note, _) = parse_submission(bytes.as_bytes()).unwrap();
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[registered.verifier()]),
        Err(StatementError::Unsigned("acme".into()))
    );
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[]),
        Err(StatementError::Unsigned("acme".into()))
    );
}

#[test]
fn registered_key_with_bad_signature() {
    let registered = Signer::generate("acme").unwrap();
    let mut sig = registered.sign(valid_text().as_bytes());
    sig.signature[5] ^= 0x40;
    let mut note = Note::new(valid_text());
    note.signatures.push(sig);
    let (note, _) = parse_submission(note.to_text().as_bytes()).unwrap();
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[registered.verifier()]),
        Err(StatementError::BadSignature("acme".into()))
    );
    // A good signature by a second registered key does not rescue it.
    let second = Signer::generate("acme").unwrap();
    let mut with_good = note.clone();
    with_good
        .signatures
        .push(second.sign(valid_text().as_bytes()));
    assert_eq!(
        verify_tenant_signatures(
            &with_good,
            "acme",
            &[registered.verifier(), second.verifier()]
        ),
        Err(StatementError::BadSignature("acme".into()))
    );
}

#[test]
fn unknown_extra_signatures_are_ignored() {
    let registered = Signer::generate("acme").unwrap();
    let auditor = Signer::generate("auditor.example").unwrap();
    let mut note = Note::new(valid_text());
    note.signatures.push(auditor.sign(valid_text().as_bytes()));
    note.signatures
        .push(registered.sign(valid_text().as_bytes()));
    // An unknown signature that would not even verify is still ignored.
    let mut junk = auditor.sign(b"other\n");
    junk.name = "junk.example".into();
    note.signatures.push(junk);
    let (note, _) = parse_submission(note.to_text().as_bytes()).unwrap();
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[registered.verifier()]),
        Ok(vec![registered.vkey()])
    );
}

#[test]
fn tenant_keys_from_vkeys() {
    let registered = Signer::generate("acme").unwrap();
    let verifier = Verifier::from_vkey(&registered.vkey()).unwrap();
    let bytes = signed(&valid_text(), &[&registered]);
    let (note, _) = parse_submission(bytes.as_bytes()).unwrap();
    assert_eq!(
        verify_tenant_signatures(&note, "acme", &[verifier]),
        Ok(vec![registered.vkey()])
    );
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(StatementError::TooLarge.code(), "statement_too_large");
    assert_eq!(
        StatementError::Unsigned("a".into()).code(),
        "unsigned_statement"
    );
}

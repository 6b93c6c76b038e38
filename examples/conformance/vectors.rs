//! The conformance vectors of `docs/conformance/` (see its README.md): every
//! vector and the answer it must get, built deterministically from published
//! test keys. `cargo run --example conformance` writes the files;
//! `tests/conformance.rs` includes this module, checks the committed files
//! are exactly what it makes, and submits and verifies every vector.
//!
//! The expected answers are written here by hand from the statement rules
//! (README, "The daily-root statement") and the error table of
//! openapi.yaml, never computed with the code under test: a vector that the
//! log answers otherwise is a bug in one of them.

use rootlog::merkle::{leaf_hash, Frontier, Hash, EMPTY_ROOT};
use rootlog::note::{encode_b64, Checkpoint, Note, Signer};
use rootlog::receipt::{encode_proof, KeyChangeProof, Receipt};
use rootlog::tenant_key::{registration_entry, KeyAction, KeyChange};
use rootlog::tlogproof::TlogProof;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The registered tenant of the statement vectors (and of the receipts).
pub const TENANT: &str = "conformance";
/// A tenant that is never registered.
pub const STRANGER: &str = "stranger";
/// The origin (and log key name) of the receipts' log.
pub const ORIGIN: &str = "conformance.example/log";
/// The witness of the receipts' log.
pub const WITNESS: &str = "witness.conformance.example";

/// A published test key: the seed is SHA-256 of a fixed label, so anybody
/// can derive it again. Never a real key.
pub fn key(name: &str, label: &str) -> Signer {
    let seed: [u8; 32] = Sha256::digest(format!("rootlog conformance key: {label}")).into();
    Signer::from_seed(name, seed).expect("a valid key name")
}

/// The tenant's registered key.
pub fn tenant_key() -> Signer {
    key(TENANT, "tenant")
}

/// A key named like the tenant that is never registered.
pub fn unregistered_key() -> Signer {
    key(TENANT, "unregistered")
}

/// The key of the tenant that is never registered.
pub fn stranger_key() -> Signer {
    key(STRANGER, "stranger")
}

fn hash(label: &str) -> Hash {
    leaf_hash(label.as_bytes())
}

/// A statement's text (`chain` is the optional line's value).
fn text(tenant: &str, date: &str, records: &str, root: &str, chain: Option<&str>) -> String {
    let mut t =
        format!("daily-root/v1\ntenant {tenant}\ndate {date}\nrecords {records}\nroot {root}\n");
    if let Some(chain) = chain {
        t.push_str(&format!("chain {chain}\n"));
    }
    t
}

/// `text` signed by each of `signers`, as a signed note.
fn signed(text: &str, signers: &[&Signer]) -> String {
    let mut note = Note::new(text.to_string());
    for s in signers {
        note.signatures.push(s.sign(text.as_bytes()));
    }
    note.to_text()
}

fn vector(
    name: &str,
    description: &str,
    note: String,
    status: u16,
    error: Option<&str>,
    parse: Option<&str>,
) -> Value {
    json!({
        "name": name,
        "description": description,
        "note": note,
        "status": status,
        "error": error,
        "parse_error": parse,
    })
}

fn relative(
    name: &str,
    description: &str,
    offset: i64,
    records: u64,
    status: u16,
    error: Option<&str>,
) -> Value {
    let root = if records == 0 {
        EMPTY_ROOT
    } else {
        hash(&format!("relative {offset}"))
    };
    json!({
        "name": name,
        "description": description,
        "template": text(TENANT, "{date}", &records.to_string(), &encode_b64(&root), None),
        "date_offset_days": offset,
        "sign_with": "tenant",
        "status": status,
        "error": error,
        "parse_error": null,
    })
}

/// `docs/conformance/statements.json`.
pub fn statements() -> Value {
    let tenant = tenant_key();
    let unregistered = unregistered_key();
    let stranger = stranger_key();
    let r1 = encode_b64(&hash("records of 2025-06-01"));
    let r2 = encode_b64(&hash("other records of 2025-06-01"));
    let c1 = encode_b64(&hash("chain head 1041"));
    let empty = encode_b64(&EMPTY_ROOT);
    let t = |date: &str, records: &str, root: &str, chain: Option<&str>| {
        text(TENANT, date, records, root, chain)
    };
    let sign = |text: &str| signed(text, &[&tenant]);

    let first = sign(&t("2025-06-01", "3", &r1, None));
    let mut bad_signature = Note::new(t("2025-06-13", "3", &r1, None));
    let mut sig = tenant.sign(bad_signature.text.as_bytes());
    sig.signature[0] ^= 0x01;
    bad_signature.signatures.push(sig);
    let duplicate = {
        let body = t("2025-06-12", "3", &r1, None);
        let line = tenant.sign(body.as_bytes()).line();
        format!("{body}\n{line}{line}")
    };
    let many = {
        let body = t("2025-06-16", "3", &r1, None);
        let line = tenant.sign(body.as_bytes()).line();
        format!("{body}\n{}", line.repeat(101))
    };
    let too_large = sign(&t("2025-06-17", "3", &r1, None).replace(
        "records 3\n",
        &format!("records 3\nnote {}\n", "x".repeat(16 * 1024)),
    ));
    let no_final_newline = sign(&t("2025-06-14", "3", &r1, None));
    let no_final_newline = no_final_newline.trim_end_matches('\n').to_string();
    let hex_root = hex::encode(hash("records of 2025-06-01"));
    // The empty root with its last character's unused low bits set: the
    // same 32 bytes to a lax decoder, refused by a canonical one.
    let stray_bits = empty.replace("FU=", "FV=");

    let fixed_vectors = vec![
        vector("valid-without-chain", "A valid statement without the optional chain line.", first.clone(), 201, None, None),
        vector("identical-retry", "Exactly the bytes of valid-without-chain again: an idempotent retry, answered with the existing entry.", first, 200, None, None),
        vector("conflict", "Another statement for the same tenant and day as valid-without-chain: refused, with the existing entry; a day's root is never replaced.", sign(&t("2025-06-01", "4", &r2, None)), 409, Some("conflict"), None),
        vector("valid-with-chain", "A valid statement with the chain line (the archive's hash-chain head at the end of the day).", sign(&t("2025-06-02", "3", &r1, Some(&format!("1041 {c1}")))), 201, None, None),
        vector("valid-empty-day", "A day with no records: records 0 and the empty-tree root.", sign(&t("2025-06-03", "0", &empty, None)), 201, None, None),
        vector("unknown-signature-ignored", "Signed by the tenant's key and by a key the log does not know: unknown signatures are ignored (signed-note rules).", signed(&t("2025-06-05", "3", &r1, None), &[&stranger, &tenant]), 201, None, None),
        vector("empty-day-with-non-empty-root", "records 0 with a root that is not the empty-tree hash.", sign(&t("2025-06-04", "0", &r1, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("non-canonical-base64", "The root in base64 with stray low bits in its last character (decodes to 32 bytes, but is not the canonical spelling).", sign(&t("2025-06-06", "5", &stray_bits, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("unpadded-base64", "The root in base64 without its padding.", sign(&t("2025-06-06", "5", r1.trim_end_matches('='), None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("hex-root", "The root in hex: the note carries base64 only (tools may take hex and convert).", sign(&t("2025-06-06", "5", &hex_root, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("leading-zero-records", "records with a leading zero.", sign(&t("2025-06-07", "03", &r1, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("leading-zero-chain-seq", "The chain sequence number with a leading zero.", sign(&t("2025-06-07", "3", &r1, Some(&format!("01041 {c1}")))), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("records-overflow", "records does not fit in 64 bits.", sign(&t("2025-06-07", "18446744073709551616", &r1, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("crlf", "A valid note with CRLF line endings.", sign(&t("2025-06-08", "3", &r1, None)).replace('\n', "\r\n"), 400, Some("malformed_note"), Some("malformed_note")),
        vector("missing-final-newline", "A valid note without the newline after its last signature line.", no_final_newline, 400, Some("malformed_note"), Some("malformed_note")),
        vector("no-signature", "The statement text alone, not a signed note.", t("2025-06-08", "3", &r1, None), 400, Some("malformed_note"), Some("malformed_note")),
        vector("too-many-signatures", "101 signature lines (at most 100).", many, 400, Some("malformed_note"), Some("malformed_note")),
        vector("extra-line", "A line after the root that is not the chain line.", sign(&format!("{}note hello\n", t("2025-06-09", "3", &r1, None))), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("missing-line", "No records line.", sign(&t("2025-06-09", "3", &r1, None).replace("records 3\n", "")), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("wrong-format-line", "daily-root/v2 instead of daily-root/v1.", sign(&t("2025-06-09", "3", &r1, None).replace("daily-root/v1", "daily-root/v2")), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("wrong-tenant-id-syntax", "A tenant id with an upper-case letter (ids match [a-z0-9][a-z0-9._-]{0,62}).", sign(&text("Conformance", "2025-06-10", "3", &r1, None)), 400, Some("bad_statement_format"), Some("bad_statement_format")),
        vector("bad-calendar-date", "2025-02-29 is not a calendar date.", sign(&t("2025-02-29", "3", &r1, None)), 400, Some("bad_date"), Some("bad_date")),
        vector("date-before-1970", "A real date, before the earliest the log accepts (1970-01-01).", sign(&t("1969-12-31", "3", &r1, None)), 400, Some("bad_date"), None),
        vector("duplicate-signature-lines", "The tenant's signature line twice.", duplicate, 400, Some("duplicate_signature"), Some("duplicate_signature")),
        vector("unknown-key-only", "Signed only by a key named like the tenant that is not registered for it.", signed(&t("2025-06-11", "3", &r1, None), &[&unregistered]), 403, Some("unsigned_statement"), None),
        vector("bad-signature-by-registered-key", "A signature line by the registered key whose signature does not verify (one bit flipped).", bad_signature.to_text(), 403, Some("bad_signature"), None),
        vector("too-large", "A note over 16384 bytes.", too_large, 413, Some("statement_too_large"), Some("statement_too_large")),
        vector("unregistered-tenant", "A well-formed statement of a tenant the log does not know, signed by that tenant's key.", signed(&text(STRANGER, "2025-06-15", "3", &r1, None), &[&stranger]), 403, Some("unknown_tenant"), None),
    ];
    let relative_vectors = vec![
        relative("today", "Today (UTC).", 0, 7, 201, None),
        relative("tomorrow", "Tomorrow (UTC): the latest date accepted.", 1, 0, 201, None),
        relative("day-after-tomorrow", "The day after tomorrow (UTC): too early.", 2, 7, 400, Some("bad_date")),
        relative("oldest-accepted", "Seven days before today: the day ended less than 7 days ago, within the log's --max-statement-age 7d.", -7, 7, 201, None),
        relative("stale-date", "Nine days before today: the day ended more than 7 days ago, beyond the log's --max-statement-age 7d.", -9, 7, 400, Some("stale_date")),
    ];
    let key_json = |s: &Signer| json!({ "skey": s.skey(), "vkey": s.vkey() });
    json!({
        "format": "rootlog-conformance-statements/v1",
        "about": "Daily-root statements (README, The daily-root statement) and the answer POST /v1/roots must give each. See docs/conformance/README.md. The keys are published test keys: never use them for anything else.",
        "tenant": TENANT,
        "keys": {
            "tenant": key_json(&tenant),
            "unregistered": key_json(&unregistered),
            "stranger": key_json(&stranger),
        },
        "fixed": {
            "about": "Submit in this order to a log run with --max-statement-age none on which only the tenant is registered (with keys.tenant.vkey).",
            "vectors": fixed_vectors,
        },
        "relative": {
            "about": "Replace {date} in template with today's UTC date plus date_offset_days, sign the text with keys.tenant as a signed note, and submit in this order to a log run with --max-statement-age 7d (the default) on which only the tenant is registered.",
            "vectors": relative_vectors,
        },
    })
}

/// The RFC 6962 inclusion proof of leaf `index` among `leaves`.
fn inclusion(leaves: &[Hash], index: usize) -> Vec<Hash> {
    fn root(leaves: &[Hash]) -> Hash {
        let mut f = Frontier::new();
        for l in leaves {
            f.append(*l, |_, _| {});
        }
        f.root()
    }
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = leaves.len().next_power_of_two() / 2;
    if index < k {
        let mut p = inclusion(&leaves[..k], index);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion(&leaves[k..], index - k);
        p.push(root(&leaves[..k]));
        p
    }
}

/// A log's entries, its checkpoint signed and timestamped as asked, and a
/// receipt for entry `index`.
struct Built {
    entries: Vec<Vec<u8>>,
}

impl Built {
    fn leaves(&self) -> Vec<Hash> {
        self.entries.iter().map(|e| leaf_hash(e)).collect()
    }

    /// The checkpoint note of the whole tree: the log's signature, then its
    /// own timestamp (`log_time`) and the witness's cosignature (`witness_time`).
    fn checkpoint(
        &self,
        log: &Signer,
        witness: &Signer,
        log_time: Option<u64>,
        witness_time: Option<u64>,
    ) -> String {
        let leaves = self.leaves();
        let root = leaves.iter().fold(Frontier::new(), |mut f, l| {
            f.append(*l, |_, _| {});
            f
        });
        let mut note = Note::new(Checkpoint::new(ORIGIN, root.size(), root.root()).to_text());
        note.signatures.push(log.sign(note.text.as_bytes()));
        if let Some(t) = log_time {
            note.signatures.push(log.cosign(note.text.as_bytes(), t));
        }
        if let Some(t) = witness_time {
            note.signatures
                .push(witness.cosign(note.text.as_bytes(), t));
        }
        note.to_text()
    }

    /// The receipt of entry `index` under `checkpoint`, with the key-change
    /// entries at `history`.
    fn receipt(&self, index: usize, checkpoint: &str, history: &[usize]) -> Receipt {
        let leaves = self.leaves();
        let proof = TlogProof {
            extra: None,
            index: index as u64,
            inclusion_proof: inclusion(&leaves, index),
            checkpoint: checkpoint.to_string(),
        };
        let history = history
            .iter()
            .map(|&i| KeyChangeProof {
                index: i as u64,
                entry: String::from_utf8_lossy(&self.entries[i]).into_owned(),
                inclusion_proof: encode_proof(&inclusion(&leaves, i)),
            })
            .collect();
        Receipt::new(&self.entries[index], &proof, history)
    }
}

fn utc(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("a time")
}

#[allow(clippy::too_many_arguments)]
fn verification(
    name: &str,
    description: &str,
    receipt: String,
    log_key: &str,
    witnesses: &[&str],
    quorum: usize,
    max_delay: &str,
    (verdict, exit_code): (&str, u8),
    failed: &[&str],
    unknown: &[&str],
    logged_by: Option<&str>,
) -> Value {
    json!({
        "name": name,
        "description": description,
        "receipt": receipt,
        "log_key": log_key,
        "witnesses": witnesses,
        "quorum": quorum,
        "max_delay": max_delay,
        "verdict": verdict,
        "exit_code": exit_code,
        "failed_checks": failed,
        "unknown_checks": unknown,
        "logged_by": logged_by,
    })
}

/// `docs/conformance/receipts.json`.
pub fn receipts() -> Value {
    let log = key(ORIGIN, "log");
    let other_log = key(ORIGIN, "another log key");
    let witness = key(WITNESS, "witness");
    let other_witness = key("other-witness.conformance.example", "other witness");
    let tenant = tenant_key();
    let registered = utc("2025-06-01T00:00:00Z");
    let (registration, _) =
        registration_entry(&log, TENANT, &tenant.vkey(), 0, registered).expect("a registration");
    let statement = |date: &str, records: u64| {
        signed(
            &text(
                TENANT,
                date,
                &records.to_string(),
                &encode_b64(&hash(&format!("records of {date}"))),
                Some(&format!(
                    "{} {}",
                    records * 10,
                    encode_b64(&hash(&format!("chain head of {date}")))
                )),
            ),
            &[&tenant],
        )
        .into_bytes()
    };
    // Entry 0 registers the tenant; entries 1..=4 are its statements for
    // 2025-06-01..04. The receipts are for entry 2 (2025-06-02), whose day
    // ended at 2025-06-03T00:00:00Z.
    let built = Built {
        entries: vec![
            registration,
            statement("2025-06-01", 3),
            statement("2025-06-02", 5),
            statement("2025-06-03", 8),
            statement("2025-06-04", 13),
        ],
    };
    let day_end = utc("2025-06-03T00:00:00Z").unix_timestamp() as u64;
    let on_time = built.checkpoint(&log, &witness, Some(day_end + 3600), Some(day_end + 3605));
    let late = built.checkpoint(
        &log,
        &witness,
        Some(day_end + 3 * 86_400),
        Some(day_end + 3 * 86_400 + 5),
    );
    let untimed = built.checkpoint(&log, &witness, None, None);
    let valid = built.receipt(2, &on_time, &[0]).to_json();
    let late_receipt = built.receipt(2, &late, &[0]).to_json();

    let tampered_statement = {
        let mut r = built.receipt(2, &on_time, &[0]);
        r.statement = r.statement.replacen("records 5\n", "records 6\n", 1);
        r.to_json()
    };
    let tampered_proof = {
        let mut r = built.receipt(2, &on_time, &[0]);
        let mut proof = TlogProof::parse(r.proof.as_bytes()).expect("our own proof");
        proof.inclusion_proof[0][0] ^= 0x01;
        r.proof = proof.to_text();
        r.to_json()
    };
    let tampered_checkpoint = {
        let mut r = built.receipt(2, &on_time, &[0]);
        r.proof = r.proof.replacen("\n5\n", "\n6\n", 1);
        r.to_json()
    };
    let no_history = built.receipt(2, &on_time, &[]).to_json();
    // A second log: the key is revoked (entry 5) with effect from
    // 2025-06-01T12:00:00Z, before the day of the statement at entry 2.
    let revoked = {
        let mut entries = built.entries.clone();
        entries.push(
            KeyChange {
                tenant: TENANT.into(),
                action: KeyAction::Revoke,
                vkey: tenant.vkey(),
                effective: utc("2025-06-01T12:00:00Z"),
            }
            .signed_entry(&log),
        );
        let b = Built { entries };
        let cp = b.checkpoint(&log, &witness, Some(day_end + 3600), Some(day_end + 3605));
        b.receipt(2, &cp, &[0, 5]).to_json()
    };

    let l = log.vkey();
    let w = witness.cosignature_verifier().vkey();
    let on_time_at = Some("2025-06-03T01:00:05Z");
    let vectors = vec![
        verification("valid", "A timely statement, its proof into a checkpoint cosigned by the trusted witness, and the tenant's registration.", valid.clone(), &l, &[&w], 1, "2d", ("verified", 0), &[], &[], on_time_at),
        verification("valid-log-claim", "The same receipt checked without witnesses: the log's own timestamp bounds the time (reported as the log's claim).", valid.clone(), &l, &[], 0, "2d", ("verified", 0), &[], &[], Some("2025-06-03T01:00:00Z")),
        verification("late", "Logged three days after the end of its day, beyond --max-delay 2d.", late_receipt.clone(), &l, &[&w], 1, "2d", ("not_verified", 1), &["time_bound"], &[], Some("2025-06-06T00:00:05Z")),
        verification("late-accepted", "The late receipt with --max-delay none: verified, and still reported as late.", late_receipt, &l, &[&w], 1, "none", ("verified", 0), &[], &[], Some("2025-06-06T00:00:05Z")),
        verification("no-time-bound", "A checkpoint with neither a witness cosignature nor the log's timestamp, checked without witnesses: when it was logged cannot be known.", built.receipt(2, &untimed, &[0]).to_json(), &l, &[], 0, "2d", ("could_not_check", 3), &[], &["time_bound"], None),
        verification("tampered-statement", "The valid receipt with the statement's records changed from 5 to 6.", tampered_statement, &l, &[&w], 1, "2d", ("not_verified", 1), &["inclusion"], &[], None),
        verification("tampered-proof", "The valid receipt with one bit of an inclusion-proof hash flipped.", tampered_proof, &l, &[&w], 1, "2d", ("not_verified", 1), &["inclusion"], &[], None),
        verification("tampered-checkpoint", "The valid receipt with the checkpoint's tree size changed: its signatures no longer verify.", tampered_checkpoint, &l, &[&w], 1, "2d", ("not_verified", 1), &["checkpoint"], &[], None),
        verification("wrong-log-key", "The valid receipt checked against another key with the log's name.", valid.clone(), &other_log.vkey(), &[&w], 1, "2d", ("not_verified", 1), &["checkpoint", "tenant_keys"], &[], None),
        verification("quorum-not-met", "The valid receipt checked against a witness that did not cosign it.", valid, &l, &[&other_witness.cosignature_verifier().vkey()], 1, "2d", ("not_verified", 1), &["checkpoint"], &[], None),
        verification("no-key-history", "A receipt without the tenant's key-change entries: no key can be shown to have been able to sign it.", no_history, &l, &[&w], 1, "2d", ("not_verified", 1), &["tenant_keys"], &[], on_time_at),
        verification("revoked-key", "The tenant's only key was revoked with effect from before the statement's day.", revoked, &l, &[&w], 1, "2d", ("not_verified", 1), &["tenant_keys"], &[], on_time_at),
        verification("not-a-receipt", "A file that is not a rootlog-receipt/v1.", "{\"receipt\": \"something-else/v1\"}\n".into(), &l, &[&w], 1, "2d", ("not_verified", 1), &["receipt"], &[], None),
    ];
    json!({
        "format": "rootlog-conformance-receipts/v1",
        "about": "Receipts (docs/receipts.md) and the verdict `rootlog verify --receipt` must give each (docs/verdict-json.md). See docs/conformance/README.md. The keys are published test keys: never use them for anything else.",
        "keys": {
            "log": l,
            "witness": w,
            "other_log": other_log.vkey(),
            "other_witness": other_witness.cosignature_verifier().vkey(),
            "tenant": tenant.vkey(),
        },
        "vectors": vectors,
    })
}

/// A vectors file as written: pretty JSON with a final newline.
pub fn to_file(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON");
    text.push('\n');
    text
}

/// A statement vector's note: `note` as is, or `template` with `{date}`
/// filled in (today plus `date_offset_days`, UTC) and signed with the tenant
/// key. For the test; the generator does not need it.
#[allow(dead_code)]
pub fn note_of(vector: &Value, today: time::Date) -> Vec<u8> {
    if let Some(note) = vector["note"].as_str() {
        return note.as_bytes().to_vec();
    }
    let offset = vector["date_offset_days"]
        .as_i64()
        .expect("date_offset_days");
    let template = vector["template"].as_str().expect("template");
    let date = rootlog::statement::format_date(today + time::Duration::days(offset));
    signed(&template.replace("{date}", &date), &[&tenant_key()]).into_bytes()
}

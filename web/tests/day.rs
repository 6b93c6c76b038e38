//! One day of the page (`check_day`) built from the conformance receipts'
//! parts, as the page assembles it from the log's answers: the day's
//! `data-verdict` follows the CLI's verdict, late days are `late`, and the
//! checkpoint is remembered only when it and its consistency verified.

use std::path::Path;

use serde_json::{json, Value};

fn vector(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/conformance/receipts.json");
    let text = std::fs::read_to_string(&path).expect("read receipts.json");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no vector {name}"))
}

fn trust_of(v: &Value) -> String {
    json!({"log_key": v["log_key"], "witnesses": v["witnesses"], "quorum": v["quorum"], "max_delay": v["max_delay"]}).to_string()
}

/// The day's evidence from a vector's receipt, for `date`.
fn day_of(v: &Value, date: &str, previous: Option<Value>) -> String {
    let receipt: Value =
        serde_json::from_str(v["receipt"].as_str().expect("text")).expect("receipt JSON");
    let proof: Value = serde_json::from_str(
        &rootlog_web::check::parse_proof(receipt["proof"].as_str().expect("proof"))
            .expect("a proof file"),
    )
    .expect("JSON");
    let mut day = json!({
        "tenant": "conformance",
        "date": date,
        "statement": receipt["statement"],
        "index": proof["index"],
        "inclusion_proof": proof["inclusion_proof"],
        "checkpoint": proof["checkpoint"],
        "key_history": receipt["key_history"],
    });
    if let Some(p) = previous {
        day["previous"] = p;
    }
    day.to_string()
}

fn check(v: &Value, date: &str, previous: Option<Value>) -> Value {
    let out = rootlog_web::check::check_day(&day_of(v, date, previous), &trust_of(v))
        .expect("good input");
    serde_json::from_str(&out).expect("JSON")
}

#[test]
fn a_timely_day_verifies_and_its_checkpoint_is_remembered() {
    let v = vector("valid");
    let day = check(&v, "2025-06-02", None);
    assert_eq!(day["data_verdict"], "verified", "{day}");
    assert_eq!(day["report"]["verdict"], "verified", "{day}");
    let remembered = day["remember"].as_str().expect("a checkpoint to remember");
    // The same checkpoint again: consistent (same size, same root).
    let again = check(
        &v,
        "2025-06-02",
        Some(json!({"checkpoint": remembered, "consistency_proof": []})),
    );
    assert_eq!(again["data_verdict"], "verified", "{again}");
}

#[test]
fn another_day_than_the_statement_s_does_not_verify() {
    let day = check(&vector("valid"), "2025-06-03", None);
    assert_eq!(day["data_verdict"], "not-verified", "{day}");
}

#[test]
fn a_late_day_is_late_and_an_altered_one_is_not_verified() {
    let late = vector("late");
    let date = serde_json::from_str::<Value>(late["receipt"].as_str().expect("text"))
        .ok()
        .and_then(|r| {
            r["statement"]
                .as_str()
                .and_then(|s| s.lines().find_map(|l| l.strip_prefix("date ")))
                .map(String::from)
        })
        .expect("the late statement's date");
    assert_eq!(check(&late, &date, None)["data_verdict"], "late");
    let altered = check(&vector("tampered-statement"), "2025-06-02", None);
    assert_eq!(altered["data_verdict"], "not-verified", "{altered}");
}

#[test]
fn an_altered_remembered_checkpoint_is_not_trusted() {
    let v = vector("valid");
    let day = check(&v, "2025-06-02", None);
    let remembered = day["remember"].as_str().expect("a checkpoint");
    // Browser storage is not the log's word: a remembered note whose log
    // signature fails (here, its size altered) proves nothing.
    let altered = remembered.replacen("\n5\n", "\n4\n", 1);
    assert_ne!(altered, remembered);
    let day = check(
        &v,
        "2025-06-02",
        Some(json!({"checkpoint": altered, "consistency_proof": []})),
    );
    assert_eq!(day["data_verdict"], "unchecked", "{day}");
    assert!(day["remember"].is_null(), "{day}");
}

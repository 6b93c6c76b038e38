//! The page's verifier against the conformance receipts
//! (docs/conformance/receipts.json): each vector's verdict, exit code,
//! failed and unknown checks and time bound are what `rootlog verify
//! --receipt --json` must print (tests/conformance.rs runs the CLI on the
//! same file), so the page and the CLI give one verdict.

use std::path::Path;

use serde_json::{json, Value};

fn vectors() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/conformance/receipts.json");
    let text = std::fs::read_to_string(&path).expect("read docs/conformance/receipts.json");
    let doc: Value = serde_json::from_str(&text).expect("receipts.json is JSON");
    doc["vectors"].as_array().expect("vectors").clone()
}

fn trust_of(v: &Value) -> String {
    json!({
        "log_key": v["log_key"],
        "witnesses": v["witnesses"],
        "quorum": v["quorum"],
        "max_delay": v["max_delay"],
    })
    .to_string()
}

/// The names of the checks with `result` in the document, sorted.
fn checks_with(doc: &Value, result: &str) -> Vec<String> {
    let mut names: Vec<String> = doc["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            doc["statements"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["checks"].as_array().into_iter().flatten()),
        )
        .filter(|c| c["result"] == result)
        .filter_map(|c| c["check"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

#[test]
fn every_receipt_vector_gets_the_cli_verdict() {
    let vectors = vectors();
    assert!(vectors.len() >= 10, "expected the conformance vectors");
    for v in &vectors {
        let name = v["name"].as_str().unwrap_or("?");
        let receipt = v["receipt"].as_str().expect("receipt text");
        let out = rootlog_web::check::verify_receipt(receipt, &trust_of(v))
            .unwrap_or_else(|e| panic!("{name}: bad usage: {e}"));
        let doc: Value = serde_json::from_str(&out).expect("one JSON document");
        assert_eq!(doc["schema"], "rootlog-verdict/v1", "{name}");
        assert_eq!(doc["command"], "verify", "{name}");
        assert_eq!(doc["verdict"], v["verdict"], "{name}: {out}");
        assert_eq!(doc["exit_code"], v["exit_code"], "{name}: {out}");
        let mut failed: Vec<String> = v["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(String::from))
            .collect();
        failed.sort();
        assert_eq!(checks_with(&doc, "fail"), failed, "{name}: {out}");
        let mut unknown: Vec<String> = v["unknown_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(String::from))
            .collect();
        unknown.sort();
        assert_eq!(checks_with(&doc, "unknown"), unknown, "{name}: {out}");
        if let Some(by) = v.get("logged_by").and_then(Value::as_str) {
            assert_eq!(doc["statements"][0]["logged"]["logged_by"], by, "{name}");
        }
    }
}

#[test]
fn the_same_evidence_as_a_statement_and_proof_file() {
    // A receipt's statement and proof given as the two files of
    // `rootlog verify --statement --proof`: the same checks, except the key
    // history, which only a receipt carries.
    let v = vectors()
        .into_iter()
        .find(|v| v["name"] == "valid")
        .expect("the valid vector");
    let receipt: Value =
        serde_json::from_str(v["receipt"].as_str().expect("text")).expect("receipt JSON");
    let out = rootlog_web::check::verify_statement(
        receipt["statement"].as_str().expect("statement"),
        receipt["proof"].as_str().expect("proof"),
        &trust_of(&v),
    )
    .expect("trust settings are good");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["verdict"], "could_not_check", "{out}");
    assert_eq!(checks_with(&doc, "unknown"), vec!["tenant_keys"], "{out}");
    assert_eq!(
        checks_with(&doc, "pass"),
        vec!["checkpoint", "inclusion", "time_bound"],
        "{out}"
    );
}

#[test]
fn bad_trust_settings_are_an_error_not_a_verdict() {
    let v = &vectors()[0];
    let receipt = v["receipt"].as_str().expect("receipt text");
    for trust in [
        "not json".to_string(),
        json!({"log_key": "nonsense"}).to_string(),
        json!({"log_key": v["log_key"], "witnesses": v["witnesses"], "quorum": 5}).to_string(),
        json!({"log_key": v["log_key"], "max_delay": "soon"}).to_string(),
    ] {
        assert!(
            rootlog_web::check::verify_receipt(receipt, &trust).is_err(),
            "{trust}"
        );
    }
}

//! The conformance vectors of `docs/conformance/`: the committed files are
//! exactly what the generator (`examples/conformance`) makes; every
//! statement vector gets its status and error code from a real log (and
//! its parse error from `rootlog::statement::parse_submission`); every
//! receipt vector gets its verdict, exit code and failing checks from the
//! real `rootlog verify --receipt`.

mod common;
#[path = "../examples/conformance/vectors.rs"]
mod vectors;

use std::collections::BTreeSet;

use common::{register, run_rootlog, Server, Tenant};
use serde_json::Value;

/// A committed vectors file, as text.
fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/conformance")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed(name: &str) -> Value {
    serde_json::from_str(&committed(name)).unwrap()
}

/// Every statement vector (fixed first, then relative), as committed.
fn statement_vectors(file: &Value) -> Vec<Value> {
    let mut all = file["fixed"]["vectors"].as_array().unwrap().clone();
    all.extend(
        file["relative"]["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    all
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

#[test]
fn the_committed_vectors_are_what_the_generator_makes() {
    for (name, value) in [
        ("statements.json", vectors::statements()),
        ("receipts.json", vectors::receipts()),
    ] {
        assert!(
            committed(name) == vectors::to_file(&value),
            "docs/conformance/{name} is not what the generator makes: run `cargo run --example conformance` and commit the result"
        );
    }
    // The published keys are the ones the generator derives.
    let file = parsed("statements.json");
    assert_eq!(file["keys"]["tenant"]["vkey"], vectors::tenant_key().vkey());
    let signer = rootlog::note::Signer::from_skey(file["keys"]["tenant"]["skey"].as_str().unwrap())
        .expect("a valid skey");
    assert_eq!(signer.vkey(), vectors::tenant_key().vkey());
}

#[test]
fn the_parser_gives_each_vector_its_parse_error() {
    let file = parsed("statements.json");
    let names: BTreeSet<String> = statement_vectors(&file)
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names.len(),
        statement_vectors(&file).len(),
        "names are unique"
    );
    for vector in statement_vectors(&file) {
        let note = vectors::note_of(&vector, today());
        let got = rootlog::statement::parse_submission(&note)
            .err()
            .map(|e| e.code());
        assert_eq!(
            got,
            vector["parse_error"].as_str(),
            "vector {}",
            vector["name"]
        );
    }
}

/// Submits `vectors` in order to `log` and checks each answer.
async fn submit_all(log: &Server, vectors: &[Value]) {
    let http = reqwest::Client::new();
    for vector in vectors {
        let name = &vector["name"];
        let response = http
            .post(format!("{}/v1/roots", log.url))
            .header("content-type", "text/plain; charset=utf-8")
            .body(vectors::note_of(vector, today()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("vector {name}: {e}"));
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            u64::from(status),
            vector["status"].as_u64().unwrap(),
            "vector {name}: {body}"
        );
        let code = if status < 300 {
            assert!(body["index"].is_u64(), "vector {name}: {body}");
            Value::Null
        } else {
            body["error"].clone()
        };
        assert_eq!(code, vector["error"], "vector {name}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_gives_each_statement_vector_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let file = parsed("statements.json");
    let tenant = Tenant {
        id: file["tenant"].as_str().unwrap().to_string(),
        signer: rootlog::note::Signer::from_skey(file["keys"]["tenant"]["skey"].as_str().unwrap())
            .unwrap(),
    };
    // Fixed vectors: dates in the past, so a log without an age limit.
    let fixed = Server::start(&dir.path().join("fixed"), &["--max-statement-age", "none"]);
    register(&fixed, &tenant).await;
    submit_all(&fixed, file["fixed"]["vectors"].as_array().unwrap()).await;
    // Relative vectors: dates around today, on a log with the default limit.
    let relative = Server::start(&dir.path().join("relative"), &["--max-statement-age", "7d"]);
    register(&relative, &tenant).await;
    submit_all(&relative, file["relative"]["vectors"].as_array().unwrap()).await;
}

/// Every check name with this result, in the document and its statements.
fn checks_with(report: &Value, result: &str) -> BTreeSet<String> {
    let mut lists = vec![&report["checks"]];
    if let Some(statements) = report["statements"].as_array() {
        lists.extend(statements.iter().map(|s| &s["checks"]));
    }
    lists
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter(|c| c["result"] == result)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rootlog_verify_gives_each_receipt_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let file = parsed("receipts.json");
    for vector in file["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let path = dir.path().join(format!("{name}.receipt"));
        std::fs::write(&path, vector["receipt"].as_str().unwrap()).unwrap();
        let quorum = vector["quorum"].to_string();
        let mut args = vec![
            "verify",
            "--receipt",
            path.to_str().unwrap(),
            "--log-key",
            vector["log_key"].as_str().unwrap(),
            "--quorum",
            &quorum,
            "--max-delay",
            vector["max_delay"].as_str().unwrap(),
            "--json",
        ];
        for w in vector["witnesses"].as_array().unwrap() {
            args.extend(["--witness", w.as_str().unwrap()]);
        }
        let (code, out, err) = run_rootlog(&args);
        let report: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("vector {name}: not a verdict ({e}): {out}{err}"));
        assert_eq!(
            i64::from(code),
            vector["exit_code"].as_i64().unwrap(),
            "vector {name}: {out}"
        );
        assert_eq!(report["verdict"], vector["verdict"], "vector {name}: {out}");
        assert_eq!(
            checks_with(&report, "fail"),
            names(&vector["failed_checks"]),
            "vector {name}: {out}"
        );
        assert_eq!(
            checks_with(&report, "unknown"),
            names(&vector["unknown_checks"]),
            "vector {name}: {out}"
        );
        assert_eq!(
            report["statements"][0]["logged"]["logged_by"], vector["logged_by"],
            "vector {name}: {out}"
        );
    }
}

//! The auditor's page's verifier: what the browser calls, compiled to
//! WebAssembly with wasm-bindgen. Every verdict comes from the core crate
//! (`rootlog_tlog::verify::judge_statement`, `rootlog_tlog::receipt`), the
//! code `rootlog verify` and `rootlog audit` run, so the page and the CLI
//! cannot disagree; this crate only turns text in into JSON out.
//!
//! - [`settings`]: the trust settings the auditor controls, parsed by the
//!   CLI's rules.
//! - [`check`]: the checks themselves, as plain Rust (tested natively):
//!   a receipt, a statement with its tlog-proof file, one day of the page.
//! - the `#[wasm_bindgen]` functions below: the JavaScript API. Each takes
//!   text and returns one JSON document; a malformed input the page should
//!   have refused (bad trust settings, bad JSON) is thrown as an `Error`.

pub mod check;
pub mod settings;

use wasm_bindgen::prelude::*;

/// A receipt (`rootlog-receipt/v1` text) verified under the trust settings
/// (JSON, see [`settings::TrustSettings`]): the verdict document
/// `rootlog verify --receipt --json` prints (`docs/verdict-json.md`).
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(receipt: &str, trust: &str) -> Result<String, JsError> {
    check::verify_receipt(receipt, trust).map_err(|e| JsError::new(&e))
}

/// A statement note with its `c2sp.org/tlog-proof@v1` file: the document
/// `rootlog verify --statement --proof --json` prints.
#[wasm_bindgen(js_name = verifyStatement)]
pub fn verify_statement(statement: &str, proof: &str, trust: &str) -> Result<String, JsError> {
    check::verify_statement(statement, proof, trust).map_err(|e| JsError::new(&e))
}

/// One day of the page's calendar (JSON, see [`check::DayEvidence`]): the
/// `rootlog-web-day/v1` document with the day's `data-verdict`, the verdict
/// document, and the checkpoint to remember when it verified.
#[wasm_bindgen(js_name = checkDay)]
pub fn check_day(evidence: &str, trust: &str) -> Result<String, JsError> {
    check::check_day(evidence, trust).map_err(|e| JsError::new(&e))
}

/// The version of the verifier, shown on the page beside its verdicts.
#[wasm_bindgen(js_name = verifierVersion)]
pub fn verifier_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A tlog-proof file's parts (`{"index", "inclusion_proof", "checkpoint"}`)
/// for [`check_day`]'s evidence.
#[wasm_bindgen(js_name = parseProof)]
pub fn parse_proof(proof: &str) -> Result<String, JsError> {
    check::parse_proof(proof).map_err(|e| JsError::new(&e))
}

/// The key-change entries to fetch for a tenant record below `size`, as a
/// JSON array of indexes.
#[wasm_bindgen(js_name = keyChangeIndexes)]
pub fn key_change_indexes(record: &str, size: u64) -> Result<String, JsError> {
    check::key_change_indexes(record, size).map_err(|e| JsError::new(&e))
}

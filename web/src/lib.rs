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
//! - [`tiles`]: evidence from a static mirror's files (entries out of
//!   bundles, proofs folded from tiles) when no log API is at hand.
//! - the `#[wasm_bindgen]` functions below: the JavaScript API. Each takes
//!   text and returns one JSON document; a malformed input the page should
//!   have refused (bad trust settings, bad JSON) is thrown as an `Error`.

pub mod check;
pub mod settings;
pub mod tiles;

use wasm_bindgen::prelude::*;

/// A receipt (`rootlog-receipt/v1` text) verified under the trust settings
/// (JSON, see [`settings::TrustSettings`]): the verdict document
/// `rootlog verify --receipt --json` prints (`docs/verdict-json.md`).
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(receipt: &str, trust: &str) -> Result<String, JsError> {
    check::verify_receipt(receipt, trust).map_err(|e| JsError::new(&e))
}

/// An export manifest with the receipts dropped beside it (a JSON array of
/// `{name, text}`): the document `rootlog verify-export --receipts --json`
/// prints.
#[wasm_bindgen(js_name = verifyExport)]
pub fn verify_export(manifest: &str, receipts: &str, trust: &str) -> Result<String, JsError> {
    check::verify_export(manifest, receipts, trust).map_err(|e| JsError::new(&e))
}

/// Files dropped on the page (a JSON array of `{name, text}`: receipts, or
/// an export manifest with its receipts), verified offline: the
/// `rootlog-web-files/v1` document with the page's verdicts.
#[wasm_bindgen(js_name = verifyFiles)]
pub fn verify_files(files: &str, trust: &str) -> Result<String, JsError> {
    check::verify_files(files, trust).map_err(|e| JsError::new(&e))
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

/// The trust settings checked and named back (`{log, witnesses, quorum,
/// max_delay}`), or an `Error` naming the malformed one: the page shows
/// what it trusts before it verifies anything.
#[wasm_bindgen(js_name = describeTrust)]
pub fn describe_trust(trust: &str) -> Result<String, JsError> {
    settings::describe(trust).map_err(|e| JsError::new(&e))
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

/// The hash tiles a proof needs (`kind` `inclusion`: `a` index, `b` size;
/// `consistency`: `a` old size, `b` new size), as a JSON array of
/// `{path, full_path, width}`.
#[wasm_bindgen(js_name = proofTiles)]
pub fn proof_tiles(kind: &str, a: u64, b: u64) -> Result<String, JsError> {
    tiles::proof_tiles(kind, a, b).map_err(|e| JsError::new(&e))
}

/// The proof (JSON array of base64 hashes) from the bodies of the tiles
/// [`proof_tiles`] named, a JSON array of base64 strings in that order.
#[wasm_bindgen(js_name = proofFromTiles)]
pub fn proof_from_tiles(kind: &str, a: u64, b: u64, bodies: &str) -> Result<String, JsError> {
    tiles::proof_from_tiles(kind, a, b, bodies).map_err(|e| JsError::new(&e))
}

/// The entry bundle holding leaf `index` of a tree of `size`: JSON
/// `{path, full_path, width}`.
#[wasm_bindgen(js_name = bundleFor)]
pub fn bundle_for(index: u64, size: u64) -> Result<String, JsError> {
    tiles::bundle_for(index, size).map_err(|e| JsError::new(&e))
}

/// Entry `index`'s text out of its bundle's body (base64).
#[wasm_bindgen(js_name = entryFromBundle)]
pub fn entry_from_bundle(index: u64, size: u64, body: &str) -> Result<String, JsError> {
    tiles::entry_from_bundle(index, size, body).map_err(|e| JsError::new(&e))
}

/// The tree size a checkpoint note claims (not verified here).
#[wasm_bindgen(js_name = checkpointSize)]
pub fn checkpoint_size(note: &str) -> Result<u64, JsError> {
    tiles::checkpoint_size(note).map_err(|e| JsError::new(&e))
}

//! Proof endpoints and the helpers that read proofs from the store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{ApiError, AppState};
use crate::merkle::Hash;
use crate::note::{decode_hash_b64, encode_b64, encode_b64_into, parse_decimal_u64};
use crate::proof_reader::ProofReadError;

/// A proof read for a request: an index or sizes that admit no proof are
/// the request's fault (`code`), anything else the store's.
fn proof_answer<T>(read: Result<T, ProofReadError>, code: &'static str) -> Result<T, ApiError> {
    read.map_err(|e| match e {
        ProofReadError::Plan(e) => ApiError::bad_request(code, e.to_string()),
        ProofReadError::Store(e) => ApiError::from(e),
    })
}

/// The inclusion proof of `index` at `size` (index < size <= stored size)
/// and the leaf hash stored for `index`, in one read.
pub fn read_inclusion_and_leaf(
    state: &AppState,
    index: u64,
    size: u64,
) -> Result<(Vec<String>, Hash), ApiError> {
    let (proof, leaf) = read_inclusion_hashes(state, index, size)?;
    Ok((proof.iter().map(|h| encode_b64(h)).collect(), leaf))
}

/// [`read_inclusion_and_leaf`] with the proof's hashes as they are.
fn read_inclusion_hashes(
    state: &AppState,
    index: u64,
    size: u64,
) -> Result<(Vec<Hash>, Hash), ApiError> {
    proof_answer(
        state.proofs().inclusion_and_leaf(index, size),
        "index_out_of_range",
    )
}

/// The inclusion proof of `index` at `size`, as hashes.
pub fn read_inclusion_proof(
    state: &AppState,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ApiError> {
    proof_answer(state.proofs().inclusion(index, size), "index_out_of_range")
}

/// Reads the consistency proof from `old` to `new` (0 < old <= new <= stored size).
pub fn read_consistency(state: &AppState, old: u64, new: u64) -> Result<Vec<String>, ApiError> {
    let proof = proof_answer(state.proofs().consistency(old, new), "bad_size")?;
    Ok(proof.iter().map(|h| encode_b64(h)).collect())
}

/// The leaf hash stored for `index`.
pub fn read_leaf_hash(state: &AppState, index: u64) -> Result<Hash, ApiError> {
    Ok(state.proofs().leaf_hash(index)?)
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(m)| m)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// Parses an optional decimal query parameter.
fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    params.get(name).map(|v| parse_decimal_u64(v).ok_or_else(|| ApiError::bad_request("bad_number", format!("{name}={v:?} is not a decimal number without sign or leading zeros that fits in 64 bits")))).transpose()
}

/// Parses a hash given as base64 (a '+' that form decoding turned into a space is restored) or 64 hex digits.
pub fn parse_hash_param(name: &str, value: &str) -> Result<Hash, ApiError> {
    let restored = value.replace(' ', "+");
    decode_hash_b64(&restored)
        .or_else(|| hex::decode(value).ok().and_then(|b| b.try_into().ok()))
        .ok_or_else(|| ApiError::bad_request("bad_hash", format!("{name} must be a 32-byte hash in base64 (percent-encode '+' as %2B) or 64 hex digits")))
}

/// The size a proof is asked at: `size` if given (at most the checkpointed size), else the checkpointed size.
fn tree_size(state: &AppState, asked: Option<u64>) -> Result<u64, ApiError> {
    let current = state.latest().size;
    match asked {
        Some(size) if size > current => Err(ApiError::bad_request(
            "size_out_of_range",
            format!("size {size} is beyond the log's checkpointed size {current}"),
        )),
        Some(size) => Ok(size),
        None => Ok(current),
    }
}

/// The body of an inclusion answer:
/// `{"index":…,"tree_size":…,"leaf_hash":"<b64>","inclusion_proof":["<b64>",…]}`.
///
/// Written directly rather than through serde: it is the hottest answer the
/// log gives, base64 needs no JSON escaping, and serde_json's escaping scan
/// and the per-hash `String`s were about a tenth of its server CPU.
fn inclusion_json(index: u64, tree_size: u64, leaf_hash: &Hash, proof: &[Hash]) -> String {
    let mut out = String::with_capacity(96 + 47 * (proof.len() + 1));
    out.push_str("{\"index\":");
    out.push_str(&index.to_string());
    out.push_str(",\"tree_size\":");
    out.push_str(&tree_size.to_string());
    out.push_str(",\"leaf_hash\":\"");
    encode_b64_into(leaf_hash, &mut out);
    out.push_str("\",\"inclusion_proof\":[");
    for (i, hash) in proof.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        encode_b64_into(hash, &mut out);
        out.push('"');
    }
    out.push_str("]}");
    out
}

/// `GET /v1/proof/inclusion?index=&size=` or `?leaf_hash=&size=`
pub async fn inclusion(
    State(state): State<Arc<AppState>>,
    q: Params,
) -> Result<Response, ApiError> {
    let params = params(q)?;
    let size = tree_size(&state, number(&params, "size")?)?;
    let index = match (number(&params, "index")?, params.get("leaf_hash")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "bad_query",
                "give index or leaf_hash, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "bad_query",
                "give index=<n> or leaf_hash=<base64>",
            ))
        }
        (Some(index), None) => index,
        (None, Some(h)) => {
            let hash = parse_hash_param("leaf_hash", h)?;
            state
                .store
                .index_of_hash(&hash)?
                .ok_or_else(|| ApiError::not_found("no entry has that leaf hash"))?
        }
    };
    if index >= size {
        return Err(ApiError::bad_request(
            "index_out_of_range",
            format!("index {index} is not below tree size {size}"),
        ));
    }
    let (proof, leaf_hash) = read_inclusion_hashes(&state, index, size)?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        inclusion_json(index, size, &leaf_hash, &proof),
    )
        .into_response())
}

#[derive(Serialize)]
pub struct ConsistencyAnswer {
    pub old: u64,
    pub new: u64,
    pub consistency_proof: Vec<String>,
}

/// `GET /v1/proof/consistency?old=&new=`
pub async fn consistency(
    State(state): State<Arc<AppState>>,
    q: Params,
) -> Result<Json<ConsistencyAnswer>, ApiError> {
    let params = params(q)?;
    let old = number(&params, "old")?.ok_or_else(|| {
        ApiError::bad_request("bad_query", "give old=<size> (and optionally new=<size>)")
    })?;
    let new = tree_size(&state, number(&params, "new")?)?;
    if old == 0 || old > new {
        return Err(ApiError::bad_request(
            "bad_size",
            format!("need 0 < old <= new, got old={old} new={new}"),
        ));
    }
    let consistency_proof = read_consistency(&state, old, new)?;
    Ok(Json(ConsistencyAnswer {
        old,
        new,
        consistency_proof,
    }))
}

#[cfg(test)]
mod tests {
    use super::inclusion_json;
    use crate::note::encode_b64;

    #[test]
    fn the_inclusion_answer_is_the_json_serde_would_write() {
        let leaf = [7u8; 32];
        let proof: Vec<[u8; 32]> = (0..5u8).map(|i| [i.wrapping_mul(51); 32]).collect();
        for n in [0, 1, 5] {
            let written: serde_json::Value = serde_json::from_str(&inclusion_json(
                12,
                18_446_744_073_709_551_615,
                &leaf,
                &proof[..n],
            ))
            .unwrap();
            let want = serde_json::json!({
                "index": 12u64,
                "tree_size": u64::MAX,
                "leaf_hash": encode_b64(&leaf),
                "inclusion_proof": proof[..n].iter().map(|h| encode_b64(h)).collect::<Vec<_>>(),
            });
            assert_eq!(written, want);
        }
    }
}

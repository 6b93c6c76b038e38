//! Submitting daily-root statements and reading them back.

use std::sync::Arc;

use axum::body::Bytes;
use std::collections::HashMap;

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::proofs::{read_inclusion_proof, read_leaf_hash};
use super::shared::{key_error, prove, sequence, ProvenEntry};
use super::tenants::CachedKeys;
use super::{ApiError, AppState, Audited, PathParams};
use crate::merkle::leaf_hash;
use crate::note::{encode_b64, parse_decimal_u64, Note};
use crate::sequencer::{Entry, Outcome, StatementEntry};
use crate::signed_checkpoint::SignedCheckpoint;
use crate::statement::{
    check_age, check_date, format_date, is_valid_tenant_id, parse_date, parse_submission,
    verify_tenant_signatures, Statement, StatementError,
};
use crate::tenant_key::KeyChangeError;

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.is_empty() || mime == "text/plain" || mime == "application/octet-stream" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the statement note as text/plain, not {mime}"),
        ))
    }
}

/// Whether the submitter asked to wait for a witnessed checkpoint.
fn wants_witnessed(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<bool, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    match params.get("wait").map(String::as_str) {
        None => Ok(false),
        Some("witnessed") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "bad_query",
            format!("wait={other:?}: the only accepted value is wait=witnessed"),
        )),
    }
}

/// Waits until a checkpoint meeting the witness policy covers `index`.
async fn witnessed_covering(
    state: &AppState,
    index: u64,
    leaf: &str,
) -> Result<Arc<SignedCheckpoint>, ApiError> {
    let mut rx = state.witnessed.clone();
    let waited = tokio::time::timeout(state.witness_wait, rx.wait_for(|cp| cp.size > index)).await;
    match waited {
        Ok(Ok(cp)) => Ok(cp.clone()),
        _ => Err(ApiError::unavailable(
            "not_witnessed_yet",
            format!("the entry is durably sequenced at index {index}, but no checkpoint meeting the witness policy covers it yet; fetch GET /v1/roots/{{tenant}}/{{date}}/proof later"),
            5,
        )
        .with_details(json!({ "index": index, "leaf_hash": leaf }))),
    }
}

/// `POST /v1/roots`: checks a statement, queues it, and answers once it is durable
/// (with `?wait=witnessed`, once a witnessed checkpoint covers it).
pub async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut audited = None;
    let answer = submit_checked(state, headers, query, body, &mut audited).await;
    let mut response = answer.into_response();
    if let Some(audited) = audited {
        response.extensions_mut().insert(audited);
    }
    response
}

/// The submission itself; `audited` learns the tenant, date and index as
/// soon as they are known, for the audit trail (`api::edge`).
async fn submit_checked(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
    audited: &mut Option<Audited>,
) -> Result<Response, ApiError> {
    let wait = wants_witnessed(query)?;
    check_content_type(&headers)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "statement_too_large",
                "a statement note is at most 16384 bytes",
            )
        } else {
            ApiError::bad_request("bad_body", e.body_text())
        }
    })?;
    let (note, statement) = parse_submission(&body)?;
    let audit = audited.insert(Audited {
        tenant: statement.tenant.clone(),
        date: statement.date_string(),
        index: None,
    });
    let now = time::OffsetDateTime::now_utc();
    check_date(statement.date, now.date())?;
    // Before the signature check, so a flood for one tenant costs no verification.
    state.limits.check_tenant(&statement.tenant)?;
    let unknown = || {
        ApiError::new(StatusCode::FORBIDDEN, "unknown_tenant", format!("tenant {:?} is not registered or has no active key; an admin registers it with POST /v1/tenants and adds keys with POST /v1/tenants/{{id}}/keys", statement.tenant))
    };
    let keys = state.tenants.get(&statement.tenant).ok_or_else(unknown)?;
    // An identical retry of a logged statement is answered with the entry,
    // whatever happened to the tenant's keys (or the calendar) since.
    if let Some(index) = logged_identical(&state, &note, &body, &statement, &keys)? {
        audit.index = Some(index);
        state.metrics.submission("existing");
        let checkpoint = if wait {
            witnessed_covering(&state, index, &encode_b64(&leaf_hash(&body))).await?
        } else {
            state.latest()
        };
        return Ok((
            StatusCode::OK,
            Json(prove(&state, index, &checkpoint, None)?),
        )
            .into_response());
    }
    if let Some(max_age) = state.max_statement_age {
        check_age(
            statement.date,
            u64::try_from(now.unix_timestamp()).unwrap_or(0),
            max_age,
        )?;
    }
    let signers = match verify_tenant_signatures(&note, &statement.tenant, &keys.active) {
        Ok(signers) => signers,
        // No active key signed it: say so precisely if a retired or revoked one did.
        Err(StatementError::Unsigned(tenant)) => {
            let otherwise = if keys.active.is_empty() {
                unknown()
            } else {
                StatementError::Unsigned(tenant).into()
            };
            return Err(signed_only_by_inactive(&note, &keys)
                .map(|e| key_error(e, true))
                .unwrap_or(otherwise));
        }
        Err(e) => return Err(e.into()),
    };

    let hash = leaf_hash(&body);
    let outcome = sequence(
        &state,
        Entry::Statement(StatementEntry {
            leaf_hash: hash,
            bytes: body.to_vec(),
            tenant: statement.tenant.clone(),
            date: statement.date_string(),
            signers,
        }),
    )
    .await?;
    let (status, index, checkpoint) = match outcome {
        Outcome::Appended { index, checkpoint } => {
            state.metrics.submission("appended");
            (StatusCode::CREATED, index, checkpoint)
        }
        Outcome::Existing { index, checkpoint } => {
            state.metrics.submission("existing");
            (StatusCode::OK, index, checkpoint)
        }
        Outcome::Conflict {
            index,
            statement: existing,
        } => {
            // Counted once, as a rejection by its code (the edge middleware).
            let existing = json!({ "index": index, "statement": String::from_utf8_lossy(&existing), "leaf_hash": encode_b64(&leaf_hash(&existing)) });
            return Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("tenant {} already has a different statement for {} at index {index}; a day's root cannot be replaced", statement.tenant, statement.date_string())).with_details(json!({ "existing": existing })));
        }
        Outcome::Refused(e) => return Err(key_error(e, true)),
        Outcome::TenantChanged { .. } | Outcome::Held => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the sequencer answered a statement with a key change's outcome",
            ))
        }
    };
    let checkpoint = if wait {
        witnessed_covering(&state, index, &encode_b64(&hash)).await?
    } else {
        checkpoint
    };
    audit.index = Some(index);
    Ok((status, Json(prove(&state, index, &checkpoint, None)?)).into_response())
}

/// The index of the logged statement `body` repeats, if the log holds the
/// same statement text for its (tenant, date) and `body` carries a valid
/// signature by a key the tenant has ever had (active, retired or revoked):
/// a retry, to be answered with the entry rather than judged again.
fn logged_identical(
    state: &AppState,
    note: &Note,
    body: &[u8],
    statement: &crate::statement::Statement,
    keys: &CachedKeys,
) -> Result<Option<u64>, ApiError> {
    let Some(index) = state
        .store
        .index_of(&statement.tenant, &statement.date_string())?
        .filter(|&i| i < state.latest().size)
    else {
        return Ok(None);
    };
    let Some(logged) = state.store.leaf(index)? else {
        return Ok(None);
    };
    if crate::note::signed_text(&logged) != crate::note::signed_text(body) {
        return Ok(None);
    }
    let every_key: Vec<crate::note::Verifier> = keys
        .active
        .iter()
        .cloned()
        .chain(keys.inactive.iter().map(|(v, _, _)| v.clone()))
        .collect();
    Ok(crate::note::open(note, &every_key).is_ok().then_some(index))
}

/// When no active key signed a note: the retirement or revocation of a key of
/// the tenant whose signature on it verifies, so the submitter learns why.
fn signed_only_by_inactive(note: &Note, keys: &CachedKeys) -> Option<KeyChangeError> {
    note.signatures.iter().find_map(|sig| {
        let (verifier, status, since) = keys.inactive.iter().find(|(v, _, _)| v.matches(sig))?;
        verifier
            .verify(note.text.as_bytes(), &sig.signature)
            .then(|| KeyChangeError::KeyNotActive {
                tenant: verifier.name().to_string(),
                vkey: verifier.vkey(),
                status: *status,
                since: since.clone(),
            })
    })
}

fn parse_tenant_date(tenant: &str, date: &str) -> Result<String, ApiError> {
    if !is_valid_tenant_id(tenant) {
        return Err(ApiError::bad_request(
            "bad_tenant_id",
            format!("tenant id {tenant:?} must match [a-z0-9][a-z0-9._-]{{0,62}}"),
        ));
    }
    parse_date(date).map(format_date).ok_or_else(|| {
        ApiError::bad_request(
            "bad_date",
            format!("{date:?} is not a calendar date YYYY-MM-DD"),
        )
    })
}

fn leaf_text(state: &AppState, index: u64) -> Result<String, ApiError> {
    let bytes = state.store.leaf(index)?.ok_or_else(|| {
        ApiError::from(crate::storage::StoreError::Corrupt(format!(
            "leaf {index} is missing"
        )))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        ApiError::from(crate::storage::StoreError::invalid(
            format!("leaf {index}"),
            e,
        ))
    })
}

/// `GET /v1/roots/{tenant}/{date}`
pub async fn show(
    State(state): State<Arc<AppState>>,
    PathParams((tenant, date)): PathParams<(String, String)>,
) -> Result<Json<ProvenEntry>, ApiError> {
    let date = parse_tenant_date(&tenant, &date)?;
    let index = logged_index(&state, &tenant, &date)?;
    // The earliest witnessed checkpoint bounds the time best; before the
    // entry is witnessed, the newest checkpoint (logged_by is then null).
    let checkpoint = match earliest_witnessed(&state, index)? {
        Some(witnessed) => Arc::new(witnessed),
        None => state.latest(),
    };
    let statement = leaf_text(&state, index)?;
    Ok(Json(prove(&state, index, &checkpoint, Some(statement))?))
}

/// The index of tenant's statement for `date`, if the latest checkpoint covers it.
fn logged_index(state: &AppState, tenant: &str, date: &str) -> Result<u64, ApiError> {
    state
        .store
        .index_of(tenant, date)?
        .filter(|&i| i < state.latest().size)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "tenant {tenant:?} has no statement for {date} in the log"
            ))
        })
}

/// The earliest checkpoint covering `index` that meets the witness policy.
fn earliest_witnessed(state: &AppState, index: u64) -> Result<Option<SignedCheckpoint>, ApiError> {
    let upto = state.served().size;
    Ok(crate::witnessing::earliest_witnessed(
        &state.store,
        &state.policy,
        index,
        upto,
    )?)
}

/// `GET /v1/roots/{tenant}/{date}/proof`: a c2sp.org/tlog-proof@v1 file for the
/// entry against the earliest checkpoint covering it that meets the witness
/// policy (whose cosignature times bound when it was logged).
pub async fn proof_file(
    State(state): State<Arc<AppState>>,
    PathParams((tenant, date)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let date = parse_tenant_date(&tenant, &date)?;
    let index = logged_index(&state, &tenant, &date)?;
    let Some(witnessed) = earliest_witnessed(&state, index)? else {
        return Err(ApiError::unavailable("not_witnessed_yet", format!("entry {index} is sequenced but no checkpoint meeting the witness policy covers it yet (witnessed size {}); retry shortly", state.served().size), 5));
    };
    let inclusion_proof = read_inclusion_proof(&state, index, witnessed.size)?;
    let file = crate::tlogproof::TlogProof {
        extra: None,
        index,
        inclusion_proof,
        checkpoint: witnessed.note.clone(),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        file.to_text(),
    )
        .into_response())
}

/// `GET /v1/log/{date}`: every root published for that date.
pub async fn by_date(
    State(state): State<Arc<AppState>>,
    PathParams(date): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let date = parse_date(&date).map(format_date).ok_or_else(|| {
        ApiError::bad_request(
            "bad_date",
            format!("{date:?} is not a calendar date YYYY-MM-DD"),
        )
    })?;
    let size = state.latest().size;
    let mut roots = Vec::new();
    for (tenant, index) in state.store.entries_on(&date)? {
        if index >= size {
            continue;
        }
        let text = leaf_text(&state, index)?;
        let root = parse_submission(text.as_bytes())
            .map(|(_, s): (_, Statement)| encode_b64(&s.root))
            .unwrap_or_default();
        roots.push(json!({ "tenant": tenant, "index": index, "leaf_hash": encode_b64(&read_leaf_hash(&state, index)?), "root": root }));
    }
    Ok(Json(json!({ "date": date, "roots": roots })))
}

/// `GET /v1/entries/{index}`
pub async fn entry(
    State(state): State<Arc<AppState>>,
    PathParams(index): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let index = parse_decimal_u64(&index).ok_or_else(|| {
        ApiError::bad_request(
            "bad_number",
            format!("index {index:?} is not a decimal number without sign or leading zeros"),
        )
    })?;
    let size = state.latest().size;
    if index >= size {
        return Err(ApiError::not_found(format!(
            "no entry {index}: the log has {size} entries"
        )));
    }
    Ok(Json(
        json!({ "index": index, "statement": leaf_text(&state, index)?, "leaf_hash": encode_b64(&read_leaf_hash(&state, index)?) }),
    ))
}

//! Tenant registration (admin) and lookup, and the in-memory cache of tenant
//! keys that submissions are verified against.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::shared::{key_error, prove, sequence};
use super::{ApiError, AppState, PathParams};
use crate::note::{KeyKind, Verifier};
use crate::sequencer::{Entry, Outcome};
use crate::statement::is_valid_tenant_id;
use crate::storage::{Store, StoreError};
use crate::tenant_key::{
    parse_user_time, KeyAction, KeyChangeError, KeyChangeRequest, KeyStatus, TenantRecord,
};

/// A tenant's keys as submissions are checked against them.
#[derive(Default)]
pub struct CachedKeys {
    /// Keys that sign now.
    pub active: Vec<Verifier>,
    /// Retired and revoked keys, so a statement signed by one gets a clear answer.
    pub inactive: Vec<(Verifier, KeyStatus, String)>,
    /// The index of the newest key-change entry the keys reflect.
    pub as_of: Option<u64>,
}

/// Every tenant's keys, so a submission costs no database read or key parse.
/// Only a cache: the integrator checks each statement's signers against the
/// authoritative record at the statement's place in the log.
#[derive(Default)]
pub struct TenantKeys {
    map: RwLock<HashMap<String, Arc<CachedKeys>>>,
}

impl TenantKeys {
    /// Loads every registered tenant.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let keys = TenantKeys::default();
        for record in store.tenants()? {
            keys.update(&record);
        }
        Ok(keys)
    }

    /// Replaces a tenant's cached keys with its record's, unless the cache
    /// already reflects a later key change (two changes' answers can reach
    /// here in either order).
    pub fn update(&self, record: &TenantRecord) {
        let mut cached = CachedKeys {
            as_of: record.change_indexes().last().copied(),
            ..CachedKeys::default()
        };
        for key in &record.keys {
            let Ok(verifier) = Verifier::from_vkey(&key.vkey) else {
                continue;
            };
            match key.status {
                KeyStatus::Active => cached.active.push(verifier),
                status => cached.inactive.push((
                    verifier,
                    status,
                    key.changed_at.clone().unwrap_or_default(),
                )),
            }
        }
        if let Ok(mut map) = self.map.write() {
            let newer = map
                .get(&record.id)
                .is_none_or(|current| current.as_of <= cached.as_of);
            if newer {
                map.insert(record.id.clone(), Arc::new(cached));
            }
        }
    }

    /// The keys of a registered tenant.
    pub fn get(&self, tenant: &str) -> Option<Arc<CachedKeys>> {
        self.map.read().ok()?.get(tenant).cloned()
    }
}

/// Body of `POST /v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub id: String,
    pub vkey: String,
}

/// Checks `Authorization: Bearer <token>` in constant time.
pub fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the admin token: send 'Authorization: Bearer <token>'",
        ));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    if bool::from(presented.as_bytes().ct_eq(state.admin_token.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the admin token is wrong",
        ))
    }
}

/// `POST /v1/tenants`
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<NewTenant>, JsonRejection>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let Json(req) = body.map_err(|e| {
        let status = if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE { e.status() } else { StatusCode::BAD_REQUEST };
        ApiError::new(status, "bad_json", format!("expected a JSON object {{\"id\": ..., \"vkey\": ...}} with Content-Type: application/json: {}", e.body_text()))
    })?;
    if !is_valid_tenant_id(&req.id) {
        return Err(ApiError::bad_request(
            "bad_tenant_id",
            format!(
                "tenant id {:?} must match [a-z0-9][a-z0-9._-]{{0,62}}",
                req.id
            ),
        ));
    }
    let verifier = Verifier::from_vkey(req.vkey.trim())
        .map_err(|e| ApiError::bad_request("bad_vkey", format!("vkey: {e}")))?;
    if verifier.kind() != KeyKind::Ed25519 {
        return Err(ApiError::bad_request(
            "bad_vkey",
            "tenant keys must be Ed25519 signed-note keys (type 0x01)",
        ));
    }
    if verifier.name() != req.id {
        return Err(ApiError::bad_request(
            "key_name_mismatch",
            format!(
                "the vkey is named {:?} but a tenant's key name must equal its id {:?}",
                verifier.name(),
                req.id
            ),
        ));
    }
    let request = KeyChangeRequest {
        tenant: req.id.clone(),
        action: KeyAction::Add,
        vkey: verifier.vkey(),
        effective: None,
        registers: true,
    };
    log_key_change(&state, request).await
}

/// Body of `POST /v1/tenants/{id}/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyChangeBody {
    pub action: String,
    pub vkey: String,
    /// RFC 3339; revocations only, not later than now (default: now).
    #[serde(default)]
    pub effective: Option<String>,
}

/// `POST /v1/tenants/{id}/keys`: add, retire or revoke one of a tenant's keys.
pub async fn change_key(
    State(state): State<Arc<AppState>>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Result<Json<KeyChangeBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    if !is_valid_tenant_id(&id) {
        return Err(ApiError::bad_request(
            "bad_tenant_id",
            format!("tenant id {id:?} must match [a-z0-9][a-z0-9._-]{{0,62}}"),
        ));
    }
    let Json(req) = body.map_err(|e| {
        let status = if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE { e.status() } else { StatusCode::BAD_REQUEST };
        ApiError::new(status, "bad_json", format!("expected a JSON object {{\"action\": \"add\" | \"retire\" | \"revoke\", \"vkey\": ..., \"effective\": RFC 3339 (revoke only)}} with Content-Type: application/json: {}", e.body_text()))
    })?;
    let action = KeyAction::parse(&req.action).ok_or_else(|| {
        ApiError::bad_request(
            "bad_action",
            format!("action {:?} must be add, retire or revoke", req.action),
        )
    })?;
    let effective = match req.effective.as_deref() {
        None => None,
        Some(t) => Some(parse_user_time(t).ok_or_else(|| {
            ApiError::bad_request(
                "bad_effective_time",
                format!("effective {t:?} must be an RFC 3339 time such as 2026-12-01T09:30:00Z"),
            )
        })?),
    };
    let request = KeyChangeRequest {
        tenant: id,
        action,
        vkey: req.vkey.trim().to_string(),
        effective,
        registers: false,
    };
    log_key_change(&state, request).await
}

/// Queues a key change for the integrator, which decides it in log order and
/// appends it as a signed `tenant-key/v1` entry; answers once that is durable
/// with the tenant record and the entry's proof.
async fn log_key_change(
    state: &Arc<AppState>,
    request: KeyChangeRequest,
) -> Result<Response, ApiError> {
    // The audit trail names the tenant of every admin action (`api::edge`).
    let mut audited = super::Audited {
        tenant: request.tenant.clone(),
        date: String::new(),
        index: None,
    };
    let answer = decide_key_change(state, request, &mut audited).await;
    let mut response = answer.into_response();
    response.extensions_mut().insert(audited);
    Ok(response)
}

async fn decide_key_change(
    state: &Arc<AppState>,
    request: KeyChangeRequest,
    audited: &mut super::Audited,
) -> Result<Response, ApiError> {
    let outcome = sequence(state, Entry::KeyChange(request)).await?;
    match outcome {
        Outcome::TenantChanged {
            index,
            checkpoint,
            record,
            appended,
        } => {
            audited.index = Some(index);
            state.tenants.update(&record);
            if appended {
                tracing::info!(tenant = %record.id, index, "logged a tenant key change");
            }
            let entry = prove(state, index, &checkpoint, None)?;
            let mut body = serde_json::to_value(&record).unwrap_or_default();
            if let Some(obj) = body.as_object_mut() {
                obj.insert(
                    "entry".into(),
                    serde_json::to_value(entry).unwrap_or_default(),
                );
            }
            let status = if appended {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(body)).into_response())
        }
        Outcome::Refused(KeyChangeError::TenantExists(id)) => {
            let existing = state.store.tenant(&id)?;
            Err(key_error(KeyChangeError::TenantExists(id), false)
                .with_details(serde_json::json!({ "tenant": existing })))
        }
        Outcome::Refused(e) => Err(key_error(e, false)),
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the sequencer answered a key change with a statement's outcome",
        )),
    }
}
/// `GET /v1/tenants`: every registered tenant with its keys, in id order.
///
/// Public, like `GET /v1/tenants/{id}`: tenant ids and keys are what anyone
/// checks statements against. Not paginated: only the admin adds tenants,
/// one per archive customer (hundreds, not millions), so the whole list is
/// small, and one answer is one consistent snapshot, which pages of a list
/// that changes between requests would not be.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let tenants = state.store.tenants()?;
    Ok(Json(serde_json::json!({ "tenants": tenants })))
}

/// `GET /v1/tenants/{id}`
pub async fn show(
    State(state): State<Arc<AppState>>,
    PathParams(id): PathParams<String>,
) -> Result<Json<TenantRecord>, ApiError> {
    if !is_valid_tenant_id(&id) {
        return Err(ApiError::bad_request(
            "bad_tenant_id",
            format!("tenant id {id:?} must match [a-z0-9][a-z0-9._-]{{0,62}}"),
        ));
    }
    state
        .store
        .tenant(&id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no tenant {id:?} is registered")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;
    use crate::tenant_key::Transition;

    #[test]
    fn an_older_record_never_replaces_a_newer_one_in_the_cache() {
        let (k1, k2) = (
            Signer::generate("acme").unwrap(),
            Signer::generate("acme").unwrap(),
        );
        let now = time::OffsetDateTime::now_utc();
        let change = |record: Option<&TenantRecord>, action, vkey: String, index, registers| {
            let request = KeyChangeRequest {
                tenant: "acme".into(),
                action,
                vkey,
                effective: None,
                registers,
            };
            match request.decide(record, index, now).unwrap().1 {
                Transition::Append(r) => r,
                other => panic!("{other:?}"),
            }
        };
        let first = change(None, KeyAction::Add, k1.vkey(), 0, true);
        let second = change(Some(&first), KeyAction::Add, k2.vkey(), 5, false);
        let cache = TenantKeys::default();
        cache.update(&second);
        cache.update(&first);
        let keys = cache.get("acme").unwrap();
        assert_eq!(keys.active.len(), 2);
        assert_eq!(keys.as_of, Some(5));
    }
}

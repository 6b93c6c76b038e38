//! Tenant registration (admin) and lookup, and the in-memory cache of tenant
//! keys that submissions are verified against.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::note::{KeyKind, Verifier};
use crate::statement::is_valid_tenant_id;
use crate::storage::{Store, StoreError, TenantInsert, TenantKey, TenantRecord};

/// Active tenants' verifiers, so a submission costs no database read or key parse.
#[derive(Default)]
pub struct TenantKeys {
    map: RwLock<HashMap<String, Arc<[Verifier]>>>,
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

    /// Replaces a tenant's cached keys with its record's active keys.
    pub fn update(&self, record: &TenantRecord) {
        let verifiers: Vec<Verifier> = if record.active {
            record
                .keys
                .iter()
                .filter(|k| k.status == "active")
                .filter_map(|k| Verifier::from_vkey(&k.vkey).ok())
                .collect()
        } else {
            Vec::new()
        };
        if let Ok(mut map) = self.map.write() {
            map.insert(record.id.clone(), verifiers.into());
        }
    }

    /// The active keys of a registered, active tenant.
    pub fn get(&self, tenant: &str) -> Option<Arc<[Verifier]>> {
        self.map
            .read()
            .ok()?
            .get(tenant)
            .filter(|k| !k.is_empty())
            .cloned()
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

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
    let now = now_rfc3339();
    let record = TenantRecord {
        id: req.id.clone(),
        active: true,
        keys: vec![TenantKey {
            vkey: verifier.vkey(),
            status: "active".into(),
            added_at: now.clone(),
        }],
        created_at: now,
    };
    let store = state.store.clone();
    let outcome = tokio::task::spawn_blocking(move || store.insert_tenant(record))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "registration task failed",
            )
        })??;
    match outcome {
        TenantInsert::Created(record) => {
            state.tenants.update(&record);
            tracing::info!(tenant = %record.id, "registered tenant");
            Ok((StatusCode::CREATED, Json(record)).into_response())
        }
        TenantInsert::Unchanged(record) => Ok((StatusCode::OK, Json(record)).into_response()),
        TenantInsert::Conflict(record) => Err(ApiError::new(StatusCode::CONFLICT, "tenant_exists", format!("tenant {:?} is already registered with another key; key changes have their own lifecycle", record.id)).with_details(serde_json::json!({ "tenant": record }))),
    }
}

/// `GET /v1/tenants/{id}`
pub async fn show(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
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

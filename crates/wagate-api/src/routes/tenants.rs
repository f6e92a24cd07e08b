//! Tenants and their API keys (admin only). A tenant key sees only its own
//! sessions; keys are shown once, at creation, and stored hashed.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::{ErrorCode, iso_ms};
use wagate_store::app::{ADMIN_TENANT_ID, SessionFilter};

use crate::auth::Admin;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route("/tenants/{id}", delete(delete_tenant))
        .route("/tenants/{id}/keys", get(list_keys).post(create_key))
        .route("/tenants/{id}/keys/{key_id}", delete(delete_key))
        .route(
            "/tenants/{id}/session-limit",
            get(get_session_limit).put(put_session_limit),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTenant {
    #[schema(example = "acme")]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKey {
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyDto {
    pub id: String,
    pub name: Option<String>,
    pub created_at: String,
    /// Only present in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenantDto {
    pub tenant: TenantDto,
    /// The tenant's first API key. Shown once: store it now.
    pub api_key: String,
}

/// Create a tenant with its first API key.
#[utoipa::path(post, path = "/api/tenants", tag = "tenants", request_body = CreateTenant,
    security(("api_key" = [])), responses((status = 201, body = CreatedTenantDto), (status = 403, description = "Not admin")))]
pub async fn create_tenant(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Json(body): Json<CreateTenant>,
) -> Result<Envelope<CreatedTenantDto>, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("name must be 1 to 100 characters"));
    }
    let (tenant, _key, secret) = state.store.create_tenant(name).await?;
    Ok(envelope::created(CreatedTenantDto {
        tenant: TenantDto {
            id: tenant.id,
            name: tenant.name,
            created_at: iso_ms(tenant.created_at),
        },
        api_key: secret,
    }))
}

/// List tenants.
#[utoipa::path(get, path = "/api/tenants", tag = "tenants", security(("api_key" = [])),
    responses((status = 200, body = [TenantDto])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> Result<Envelope<Vec<TenantDto>>, ApiError> {
    let tenants = state.store.list_tenants().await?;
    Ok(envelope::ok(
        tenants
            .into_iter()
            .map(|t| TenantDto {
                id: t.id,
                name: t.name,
                created_at: iso_ms(t.created_at),
            })
            .collect(),
    ))
}

/// Delete a tenant, its keys and its sessions (each device is unlinked).
#[utoipa::path(delete, path = "/api/tenants/{id}", tag = "tenants", params(("id" = String, Path)),
    security(("api_key" = [])), responses((status = 200), (status = 404)))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    if id == ADMIN_TENANT_ID {
        return Err(ApiError::forbidden("the admin tenant cannot be deleted"));
    }
    if state.store.get_tenant(&id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant {id} not found"),
        ));
    }
    loop {
        let (sessions, _) = state
            .store
            .list_sessions(&SessionFilter {
                tenant_id: Some(id.clone()),
                page: 1,
                limit: 100,
                ..SessionFilter::default()
            })
            .await?;
        if sessions.is_empty() {
            break;
        }
        for s in sessions {
            state.manager.delete(&s.id).await?;
        }
    }
    state.store.delete_tenant(&id).await?;
    Ok(envelope::message("Tenant deleted successfully"))
}

/// Create another API key for a tenant.
#[utoipa::path(post, path = "/api/tenants/{id}/keys", tag = "tenants", params(("id" = String, Path)),
    request_body = CreateKey, security(("api_key" = [])), responses((status = 201, body = KeyDto)))]
pub async fn create_key(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    Json(body): Json<CreateKey>,
) -> Result<Envelope<KeyDto>, ApiError> {
    if state.store.get_tenant(&id).await?.is_none() || id == ADMIN_TENANT_ID {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant {id} not found"),
        ));
    }
    let (key, secret) = state
        .store
        .create_api_key(&id, body.name.as_deref())
        .await?;
    Ok(envelope::created(KeyDto {
        id: key.id,
        name: key.name,
        created_at: iso_ms(key.created_at),
        api_key: Some(secret),
    }))
}

/// List a tenant's keys (never the secrets).
#[utoipa::path(get, path = "/api/tenants/{id}/keys", tag = "tenants", params(("id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = [KeyDto])))]
pub async fn list_keys(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<Envelope<Vec<KeyDto>>, ApiError> {
    let keys = state.store.list_api_keys(&id).await?;
    Ok(envelope::ok(
        keys.into_iter()
            .map(|k| KeyDto {
                id: k.id,
                name: k.name,
                created_at: iso_ms(k.created_at),
                api_key: None,
            })
            .collect(),
    ))
}

/// Revoke a key.
#[utoipa::path(delete, path = "/api/tenants/{id}/keys/{key_id}", tag = "tenants",
    params(("id" = String, Path), ("key_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200), (status = 404)))]
pub async fn delete_key(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    if !state.store.delete_api_key(&id, &key_id).await? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("key {key_id} not found"),
        ));
    }
    Ok(envelope::message("Key deleted successfully"))
}

/// A tenant's own session quota: `null` follows `MAX_SESSIONS_PER_TENANT`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionLimitBody {
    /// Most sessions the tenant may hold; `null`: the server's default.
    #[schema(example = 10)]
    pub max_sessions: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimitDto {
    pub tenant_id: String,
    /// The tenant's own quota (`null`: none).
    pub max_sessions: Option<u64>,
    /// What applies (`null`: unlimited).
    pub effective: Option<u64>,
    /// Sessions the tenant holds now.
    pub sessions: u64,
}

/// Largest quota one may set.
const SESSION_LIMIT_MAX: u64 = 1_000_000;

async fn session_limit_dto(state: &AppState, id: &str) -> Result<SessionLimitDto, ApiError> {
    let own = state
        .store
        .tenant_session_limit(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("tenant {id} not found")))?;
    Ok(SessionLimitDto {
        tenant_id: id.to_string(),
        max_sessions: own,
        effective: own.or(state.config.max_sessions_per_tenant),
        sessions: state.store.count_tenant_sessions(id).await?,
    })
}

/// A tenant's session quota.
#[utoipa::path(get, path = "/api/tenants/{id}/session-limit", tag = "tenants",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = SessionLimitDto), (status = 404)))]
pub async fn get_session_limit(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<Envelope<SessionLimitDto>, ApiError> {
    Ok(envelope::ok(session_limit_dto(&state, &id).await?))
}

/// Set a tenant's session quota (`{"maxSessions": 10}`; `null` follows
/// `MAX_SESSIONS_PER_TENANT`). Sessions beyond a lowered quota stay; new
/// ones answer 403 `SESSION_LIMIT_REACHED`.
#[utoipa::path(put, path = "/api/tenants/{id}/session-limit", tag = "tenants",
    params(("id" = String, Path)), request_body = SessionLimitBody, security(("api_key" = [])),
    responses((status = 200, body = SessionLimitDto), (status = 400), (status = 404)))]
pub async fn put_session_limit(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    Json(body): Json<SessionLimitBody>,
) -> Result<Envelope<SessionLimitDto>, ApiError> {
    if body.max_sessions.is_some_and(|n| n > SESSION_LIMIT_MAX) {
        return Err(ApiError::validation(format!(
            "maxSessions is at most {SESSION_LIMIT_MAX}"
        )));
    }
    if !state
        .store
        .set_tenant_session_limit(&id, body.max_sessions)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant {id} not found"),
        ));
    }
    Ok(envelope::ok(session_limit_dto(&state, &id).await?))
}

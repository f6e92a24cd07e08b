//! A tenant's own API rate limits (`GET/PUT /api/tenants/{id}/rate-limits`,
//! admin only), beside the other tenant routes; the limiter itself is
//! [`crate::rate_limit`].

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::ErrorCode;
use wagate_store::app::TenantRateLimits;

use crate::auth::Admin;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::rate_limit::{Limits, MAX_PER_MIN};
use crate::state::AppState;

/// `GET/PUT /api/tenants/{id}/rate-limits`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/tenants/{id}/rate-limits",
        get(get_tenant_rate_limits).put(put_tenant_rate_limits),
    )
}

/// A tenant's own limits, requests per minute; `null` keeps the server's
/// default, `0` turns the category off for the tenant.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverrides {
    #[schema(example = 10)]
    pub session: Option<u32>,
    #[schema(example = 60)]
    pub send: Option<u32>,
    #[schema(example = 120)]
    pub read: Option<u32>,
    #[schema(example = 10)]
    pub webhook: Option<u32>,
}

impl From<TenantRateLimits> for RateLimitOverrides {
    fn from(t: TenantRateLimits) -> Self {
        RateLimitOverrides {
            session: t.session,
            send: t.send,
            read: t.read,
            webhook: t.webhook,
        }
    }
}

impl From<RateLimitOverrides> for TenantRateLimits {
    fn from(o: RateLimitOverrides) -> Self {
        TenantRateLimits {
            session: o.session,
            send: o.send,
            read: o.read,
            webhook: o.webhook,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRateLimitsDto {
    pub tenant_id: String,
    /// What the tenant sets itself apart with.
    pub overrides: RateLimitOverrides,
    /// What applies: the overrides over the server's defaults (`0` = off).
    pub effective: Limits,
    /// Whether rate limiting is on at all (`RATE_LIMIT_ENABLED`).
    pub enabled: bool,
}

async fn tenant_limits_dto(state: &AppState, id: &str) -> Result<TenantRateLimitsDto, ApiError> {
    let o = state
        .store
        .tenant_rate_limits(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("tenant {id} not found")))?;
    let config = &state.rate_limiter.config;
    Ok(TenantRateLimitsDto {
        tenant_id: id.to_string(),
        overrides: o.into(),
        effective: config.limits.with(&o),
        enabled: config.enabled,
    })
}

/// A tenant's API rate limits.
#[utoipa::path(get, path = "/api/tenants/{id}/rate-limits", tag = "tenants",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = TenantRateLimitsDto), (status = 404)))]
pub async fn get_tenant_rate_limits(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<Envelope<TenantRateLimitsDto>, ApiError> {
    Ok(envelope::ok(tenant_limits_dto(&state, &id).await?))
}

/// Set a tenant's API rate limits (all four; a missing or `null` category
/// keeps the server default).
#[utoipa::path(put, path = "/api/tenants/{id}/rate-limits", tag = "tenants",
    params(("id" = String, Path)), request_body = RateLimitOverrides, security(("api_key" = [])),
    responses((status = 200, body = TenantRateLimitsDto), (status = 400), (status = 404)))]
pub async fn put_tenant_rate_limits(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    Json(body): Json<RateLimitOverrides>,
) -> Result<Envelope<TenantRateLimitsDto>, ApiError> {
    if [body.session, body.send, body.read, body.webhook]
        .into_iter()
        .flatten()
        .any(|n| n > MAX_PER_MIN)
    {
        return Err(ApiError::validation(format!(
            "a limit is at most {MAX_PER_MIN} requests per minute"
        )));
    }
    if !state
        .store
        .set_tenant_rate_limits(&id, &body.into())
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("tenant {id} not found"),
        ));
    }
    state.rate_limiter.forget_tenant(&id);
    Ok(envelope::ok(tenant_limits_dto(&state, &id).await?))
}

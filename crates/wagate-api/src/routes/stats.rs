//! Statistics: `GET /api/stats` over the sessions the caller may see (the
//! dashboard's overview counters, plus its tenant statistics) and
//! `GET /api/tenants/{id}/stats` for one tenant (the admin, or the tenant
//! itself): API calls, messages sent, received and failed per UTC day, and
//! sessions by status.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use utoipa::IntoParams;
use wagate_core::ErrorCode;

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::statistics::{StatsDto, build};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/tenants/{id}/stats", get(tenant_stats))
}

/// Most days one answer covers.
const MAX_DAYS: u32 = 90;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Days of `daily` counts, today included (1–90, default 7).
    pub days: Option<u32>,
}

fn days_ok(q: &StatsQuery) -> Result<u32, ApiError> {
    let days = q.days.unwrap_or(7);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::validation(format!("days is 1 to {MAX_DAYS}")));
    }
    Ok(days)
}

/// Activity over the caller's sessions (the admin key: every tenant's):
/// today's counters, sessions by status, and per-day counts.
#[utoipa::path(get, path = "/api/stats", tag = "sessions", params(StatsQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Counters", body = StatsDto)))]
pub async fn stats(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<StatsQuery>,
) -> Result<Envelope<StatsDto>, ApiError> {
    let days = days_ok(&q)?;
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    Ok(envelope::ok(build(&state, tenant, days).await?))
}

/// One tenant's statistics (the admin key, or the tenant's own key).
#[utoipa::path(get, path = "/api/tenants/{id}/stats", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id"), StatsQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Counters", body = StatsDto),
              (status = 404, description = "NOT_FOUND")))]
pub async fn tenant_stats(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<StatsQuery>,
) -> Result<Envelope<StatsDto>, ApiError> {
    let days = days_ok(&q)?;
    let exists = principal.can_access(&id) && state.store.get_tenant(&id).await?.is_some();
    if !exists {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("Tenant '{id}' not found"),
        ));
    }
    Ok(envelope::ok(build(&state, Some(&id), days).await?))
}

//! Statistics: `GET /api/stats` over the sessions the caller may see (the
//! dashboard's overview counters, plus its tenant statistics) and
//! `GET /api/tenants/{id}/stats` for one tenant (the admin, or the tenant
//! itself): API calls, messages sent, received and failed per UTC day, and
//! sessions by status.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::ErrorCode;
use wagate_store::app::tenant_stats::{DAY_MS, TenantStats};

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayDto {
    #[schema(example = "2026-12-02")]
    pub date: String,
    pub api_calls: i64,
    pub sent: i64,
    pub received: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsDto {
    /// Start of the counting period of the counters below (midnight UTC today).
    pub since: String,
    pub messages_in: i64,
    pub messages_out: i64,
    pub queue_depth: i64,
    pub webhook_failures: i64,
    /// API calls today.
    pub api_calls: i64,
    /// Messages that failed for good today.
    pub messages_failed: i64,
    /// Sessions by status (`CONNECTED`, `SCAN_QR`, …).
    pub sessions: BTreeMap<String, i64>,
    /// One entry per day, oldest first, today last.
    pub daily: Vec<DayDto>,
}

fn days_ok(q: &StatsQuery) -> Result<u32, ApiError> {
    let days = q.days.unwrap_or(7);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::validation(format!("days is 1 to {MAX_DAYS}")));
    }
    Ok(days)
}

/// The statistics of `tenant` (every tenant for `None`) over `days` days.
pub(crate) async fn build(
    state: &AppState,
    tenant: Option<&str>,
    days: u32,
) -> Result<StatsDto, ApiError> {
    // Counts waiting in memory are part of the answer.
    state.api_calls.flush(&state.store).await;
    let today = wagate_core::now_ms() / DAY_MS;
    let since = today * DAY_MS;
    let first = today - i64::from(days) + 1;
    let c = state.store.activity_counts(tenant, since).await?;
    let TenantStats {
        days: by_day,
        sessions,
    } = state.store.tenant_stats(tenant, first).await?;
    let daily: Vec<DayDto> = (first..=today)
        .map(|day| {
            let counts = by_day.get(&day).cloned().unwrap_or_default();
            DayDto {
                date: wagate_core::iso_ms(day * DAY_MS)[..10].to_string(),
                api_calls: counts.api_calls,
                sent: counts.sent,
                received: counts.received,
                failed: counts.failed,
            }
        })
        .collect();
    let today_counts = by_day.get(&today).cloned().unwrap_or_default();
    Ok(StatsDto {
        since: wagate_core::iso_ms(since),
        messages_in: c.messages_in,
        messages_out: c.messages_out,
        queue_depth: c.queue_depth,
        webhook_failures: c.webhook_failures,
        api_calls: today_counts.api_calls,
        messages_failed: today_counts.failed,
        sessions: sessions
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        daily,
    })
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

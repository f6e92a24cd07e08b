//! `GET /api/stats`: the counters of the dashboard's overview (messages in
//! and out, webhook failures since midnight UTC, the send-queue depth) over
//! the sessions the caller may see.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsDto {
    /// Start of the counting period (midnight UTC today).
    pub since: String,
    pub messages_in: i64,
    pub messages_out: i64,
    pub queue_depth: i64,
    pub webhook_failures: i64,
}

/// Today's activity over the caller's sessions.
#[utoipa::path(get, path = "/api/stats", tag = "sessions", security(("api_key" = [])),
    responses((status = 200, description = "Counters", body = StatsDto)))]
pub async fn stats(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Envelope<StatsDto>, ApiError> {
    const DAY_MS: i64 = 86_400_000;
    let since = wagate_core::now_ms() / DAY_MS * DAY_MS;
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let c = state.store.activity_counts(tenant, since).await?;
    Ok(envelope::ok(StatsDto {
        since: wagate_core::iso_ms(since),
        messages_in: c.messages_in,
        messages_out: c.messages_out,
        queue_depth: c.queue_depth,
        webhook_failures: c.webhook_failures,
    }))
}

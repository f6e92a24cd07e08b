//! `GET /health` (public) and `GET /health/detailed` (any valid key; a
//! tenant sees its own session counts, the admin all).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use wagate_core::SessionStatus;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/detailed", get(detailed))
}

fn now_iso() -> String {
    wagate_core::iso_ms(wagate_core::now_ms())
}

/// Liveness: answers while the process serves HTTP.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The process is up", example = json!({"status":"ok","timestamp":"2026-02-02T10:30:00.000Z"}))))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "timestamp": now_iso() }))
}

/// Readiness with details: database check and session counts (the
/// caller's tenant's; the admin's: every tenant's).
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    security(("api_key" = [])),
    responses((status = 200, description = "Details"), (status = 401, description = "No or bad key")))]
pub async fn detailed(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Value>, ApiError> {
    // A tenant counts its own sessions; the admin every tenant's.
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(_) => "error",
    };
    let counts = state
        .store
        .count_sessions_by_status(tenant)
        .await
        .unwrap_or_default();
    let count = |s: SessionStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let status = if database == "ok" { "ok" } else { "degraded" };
    Ok(Json(json!({
        "status": status,
        "version": wagate_core::VERSION,
        "uptime": state.started_at.elapsed().as_secs(),
        "timestamp": now_iso(),
        "checks": {
            "database": database,
            "databaseKind": format!("{:?}", state.store.kind()).to_lowercase(),
            "sessions": {
                "total": total,
                "connected": count(SessionStatus::Ready),
                "disconnected": count(SessionStatus::Disconnected),
                "scanQr": count(SessionStatus::QrReady),
                "connecting": count(SessionStatus::Connecting) + count(SessionStatus::Initializing),
                "failed": count(SessionStatus::Error),
            }
        }
    })))
}

//! `GET /health` (public) and `GET /health/detailed` (any valid key).

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

/// Readiness with details: database check and session counts.
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    security(("api_key" = [])),
    responses((status = 200, description = "Details"), (status = 401, description = "No or bad key")))]
pub async fn detailed(
    State(state): State<AppState>,
    Auth(_auth): Auth,
) -> Result<Json<Value>, ApiError> {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(_) => "error",
    };
    let counts = state
        .store
        .count_sessions_by_status()
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

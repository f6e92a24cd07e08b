//! Circles: named groups of a tenant's sessions. A circle exists while a
//! session is in it; these routes list, rename and delete them (put a
//! session in one with `PATCH /api/sessions/{id}` `{circle}`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::ErrorCode;
use wagate_store::app::Principal;

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::session_admin::{CIRCLE_MAX_CHARS, checked_name};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/circles", get(list_circles)).route(
        "/circles/{name}",
        axum::routing::put(rename_circle).delete(delete_circle),
    )
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircleDto {
    #[schema(example = "sales")]
    pub name: String,
    /// How many sessions are in it.
    pub sessions: u64,
}

/// Circles (named groups of sessions) with how many sessions each holds; a
/// tenant sees its own, the admin all.
#[utoipa::path(get, path = "/api/circles", tag = "sessions", security(("api_key" = [])),
    responses((status = 200, description = "Circles", body = [CircleDto])))]
pub async fn list_circles(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Envelope<Vec<CircleDto>>, ApiError> {
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let circles = state.store.list_circles(tenant).await?;
    Ok(envelope::ok(
        circles
            .into_iter()
            .map(|(name, sessions)| CircleDto { name, sessions })
            .collect(),
    ))
}

/// Whose circle: circles are per tenant, so the admin names the tenant
/// (default: its own).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CircleQuery {
    /// Admin only: the tenant whose circle this is (default: the admin's own).
    pub tenant_id: Option<String>,
}

/// The tenant a circle route acts on: the caller's own; the admin may name
/// another with `?tenantId=`.
fn circle_tenant<'a>(
    principal: &'a Principal,
    asked: Option<&'a str>,
) -> Result<&'a str, ApiError> {
    match asked.filter(|t| !t.is_empty()) {
        None => Ok(principal.tenant_id.as_str()),
        Some(t) if principal.can_access(t) => Ok(t),
        Some(_) => Err(ApiError::forbidden(
            "only the admin may name another tenant",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameCircle {
    /// The circle's new name.
    pub name: String,
}

/// Rename a circle: every session in it moves to the new name (merging into
/// that circle if it exists). A circle exists while a session is in it: put a
/// session in a new one with `PATCH /api/sessions/{id}` `{circle}`.
#[utoipa::path(put, path = "/api/circles/{name}", tag = "sessions",
    params(("name" = String, Path)), request_body = RenameCircle, security(("api_key" = [])),
    responses((status = 200, description = "Renamed", body = CircleDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "NOT_FOUND: no session is in that circle")))]
pub async fn rename_circle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(name): Path<String>,
    Query(q): Query<CircleQuery>,
    Json(body): Json<RenameCircle>,
) -> Result<Envelope<CircleDto>, ApiError> {
    let to = checked_name("name", &body.name, CIRCLE_MAX_CHARS)?
        .ok_or_else(|| ApiError::validation("name must not be empty"))?;
    let tenant = Some(circle_tenant(&principal, q.tenant_id.as_deref())?);
    let moved = state.store.rename_circle(tenant, &name, &to).await?;
    if moved == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no session is in circle '{name}'"),
        ));
    }
    let sessions = state
        .store
        .list_circles(tenant)
        .await?
        .into_iter()
        .find(|(n, _)| *n == to)
        .map_or(moved, |(_, n)| n);
    Ok(envelope::ok(CircleDto { name: to, sessions }))
}

/// Delete a circle: its sessions stay, outside any circle.
#[utoipa::path(delete, path = "/api/circles/{name}", tag = "sessions",
    params(("name" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted"),
              (status = 404, description = "NOT_FOUND: no session is in that circle")))]
pub async fn delete_circle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(name): Path<String>,
    Query(q): Query<CircleQuery>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let tenant = Some(circle_tenant(&principal, q.tenant_id.as_deref())?);
    let cleared = state.store.clear_circle(tenant, &name).await?;
    if cleared == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no session is in circle '{name}'"),
        ));
    }
    Ok(envelope::ok(
        serde_json::json!({ "name": name, "sessionsReleased": cleared }),
    ))
}

//! The admin routes of calls: a phone places a call (`POST
//! /admin/phones/{phone}/call` `{"to", "video"}` → `{"callId"}`), the call
//! as it stands (`GET /admin/calls/{callId}`), and the caller hanging up
//! (`POST /admin/phones/{phone}/call/{callId}/end`). Errors are the admin
//! API's `{"error": …}` with 400/404/409.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::json;

use super::CallError;
use crate::state::{State, lock};

pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/admin/phones/{phone}/call", routing::post(place))
        .route(
            "/admin/phones/{phone}/call/{call_id}/end",
            routing::post(end),
        )
        .route("/admin/calls/{call_id}", routing::get(get))
}

/// The admin API's error: `{"error": …}`.
fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn call_error(e: CallError) -> Response {
    match e {
        CallError::NotFound(m) => error(StatusCode::NOT_FOUND, m),
        CallError::BadRequest(m) => error(StatusCode::BAD_REQUEST, m),
        CallError::Conflict(m) => error(StatusCode::CONFLICT, m),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceBody {
    to: String,
    #[serde(default)]
    video: bool,
}

async fn place(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    let req: PlaceBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let to = req.to.trim().trim_start_matches('+');
    let to = to.split('@').next().unwrap_or_default();
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            StatusCode::BAD_REQUEST,
            "to must be a phone number in international format",
        );
    }
    match super::place(&state, &phone, to, req.video) {
        Ok(call_id) => (StatusCode::CREATED, Json(json!({ "callId": call_id }))).into_response(),
        Err(e) => call_error(e),
    }
}

async fn get(AxState(state): AxState<Arc<State>>, Path(call_id): Path<String>) -> Response {
    match lock(&state.calls).get(&call_id) {
        Some(call) => Json(call.view()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown call {call_id}")),
    }
}

async fn end(
    AxState(state): AxState<Arc<State>>,
    Path((phone, call_id)): Path<(String, String)>,
) -> Response {
    match super::end(&state, &phone, &call_id) {
        Ok(view) => Json(view).into_response(),
        Err(e) => call_error(e),
    }
}

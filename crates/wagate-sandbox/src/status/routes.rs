//! The admin view of statuses: `GET /admin/phones/{phone}/statuses` →
//! `{"statuses": [{id, from, type, recipients, timestamp}]}`, the statuses
//! the phone's devices posted, oldest first, each with the phone numbers it
//! was relayed to. 404 for a phone that does not exist.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde_json::json;

use crate::state::{State, lock};

pub fn router() -> Router<Arc<State>> {
    Router::new().route("/admin/phones/{phone}/statuses", routing::get(posted))
}

async fn posted(AxState(state): AxState<Arc<State>>, Path(phone): Path<String>) -> Response {
    if !state.phone_exists(&phone) {
        return crate::admin::error(StatusCode::NOT_FOUND, format!("no phone {phone}"));
    }
    let statuses = lock(&state.statuses).posted_by(&phone);
    Json(json!({ "statuses": statuses })).into_response()
}

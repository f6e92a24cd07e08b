//! `GET /metrics`: who may scrape (the admin key, or the metrics token)
//! and the answer in Prometheus' text format.
//!
//! The HTTP face of the metrics: it takes the [`AppState`] and hands the
//! registry what it reads at scrape time.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::secret::same_secret;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// `GET /metrics`: the admin key, or the metrics token.
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !may_scrape(&state, &headers) {
        return Err(ApiError::unauthorized());
    }
    let text = state.metrics.render(&state.store, &state.streams).await?;
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(r)
}

fn may_scrape(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-api-key").is_some_and(|k| same_secret(k, &state.config.admin_key)) {
        return true;
    }
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
    match (&state.config.metrics_token, bearer) {
        (Some(token), Some(given)) => same_secret(given.trim(), token),
        _ => false,
    }
}

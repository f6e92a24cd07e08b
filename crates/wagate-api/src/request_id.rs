//! Request ids: the client's `X-Request-ID` when it sends one, else
//! `req_<epoch_ms>`; available to the envelopes through a task-local and
//! echoed back as a response header.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static REQUEST_ID: String;
}

const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The current request's id (outside a request: a fresh one).
pub fn current() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| fresh())
}

fn fresh() -> String {
    format!("req_{}", wagate_core::now_ms())
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_LEN)
        .map(str::to_owned)
        .unwrap_or_else(fresh);
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

//! The access log: one `info` line per request (method, path, status,
//! milliseconds, request id), and a span around the handler so every line a
//! handler logs carries the same request.
//!
//! Browsers and WebSocket clients authenticate with `?apiKey=`, so the query
//! string holds secrets:
//! [`redacted_target`] replaces the value of every secret-bearing parameter
//! before the target reaches a log line or a span. Nothing else in the API
//! logs a request's URI.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

/// Query parameters whose values are never logged (compared without case).
const SECRET_PARAMS: &[&str] = &[
    "apikey",
    "api_key",
    "key",
    "token",
    "access_token",
    "jwt",
    "password",
    "secret",
];

const REDACTED: &str = "[redacted]";

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let target = redacted_target(request.uri());
    let request_id = crate::request_id::current();
    let span = tracing::info_span!("request", %method, %target, %request_id);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.request(method.as_str(), status, elapsed);
    let ms = elapsed.as_millis() as u64;
    span.in_scope(|| tracing::info!(target: "wagate::access", status, ms, "served"));
    response
}

/// The request's path and query, with secret parameters' values replaced.
pub fn redacted_target(uri: &Uri) -> String {
    let path = uri.path();
    match uri.query() {
        None => path.to_string(),
        Some(query) => format!("{path}?{}", redacted_query(query)),
    }
}

fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            if is_secret(name) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A parameter name is compared after percent-decoding, so `api%4Bey`
/// (which the key extractor would not accept anyway) is redacted too.
fn is_secret(raw_name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(raw_name.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default();
    let lower = decoded.to_ascii_lowercase();
    SECRET_PARAMS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> String {
        redacted_target(&s.parse::<Uri>().unwrap())
    }

    #[test]
    fn secret_parameters_lose_their_values() {
        assert_eq!(
            target("/api/sessions/s1/files/f?apiKey=sk_live_abc&download=1"),
            "/api/sessions/s1/files/f?apiKey=[redacted]&download=1"
        );
        assert_eq!(
            target("/ws?APIKEY=x&lastSeq=4"),
            "/ws?APIKEY=[redacted]&lastSeq=4"
        );
        assert_eq!(target("/x?token=a.b.c"), "/x?token=[redacted]");
        assert_eq!(target("/x?api%4Bey=zz"), "/x?api%4Bey=[redacted]");
        assert_eq!(target("/x?apiKey"), "/x?apiKey=[redacted]");
    }

    #[test]
    fn other_parameters_and_paths_pass_unchanged() {
        assert_eq!(target("/api/sessions"), "/api/sessions");
        assert_eq!(target("/api/x?limit=5&q=a%20b"), "/api/x?limit=5&q=a%20b");
    }
}

//! The HTTP API.
//!
//! - [`envelope`] and [`error`]: the contract's success and error envelopes
//!   (with `meta.timestamp`, `meta.requestId`, `meta.version`) and the one
//!   error type every handler returns;
//! - [`request_id`]: the `X-Request-ID` echo;
//! - [`cors`]: browser origins allowed to call the API (off by default);
//! - [`metrics`]: Prometheus metrics at `/metrics`;
//! - [`template`]: bulk templates' `{name}` filling, linear and capped;
//! - [`request_log`]: the access log, with `?apiKey=` and other secret
//!   query values redacted;
//! - [`auth`]: API keys (the admin key from the environment, tenant keys from
//!   the store) and the caller's [`wagate_store::app::Principal`];
//! - [`secret`]: comparing secrets in constant time;
//! - [`extract`]: JSON, path and query extractors whose rejections answer in
//!   the contract's envelope instead of axum's plain text;
//! - [`routes`]: one module per resource; they share [`send`] (the send
//!   requests, their checks and the queue hand-off), [`history`] (a stored
//!   message as shown), [`webhook_config`] (what a webhook endpoint may be),
//!   [`session_admin`] (a session as shown, and creating one),
//!   [`session_proxy`] (a session's proxy as taken and shown),
//!   [`statistics`], [`sse`] (a feed as Server-Sent Events) and
//!   [`media_files`] (serving a stored file), never each other — the
//!   drop-in modes under `routes::compat` included;
//! - [`owned`]: the session a `/api/sessions/{id}/…` route acts on, checked
//!   for the caller before the handler reads the body;
//! - [`login`]: dashboard login (operator password or tenant key → JWT);
//! - [`dashboard`]: the web dashboard, embedded in the binary;
//! - [`rate_limit`]: requests per minute per tenant and contract category,
//!   with the `X-RateLimit-*` headers and 429 `RATE_LIMITED`;
//! - [`openapi`]: the OpenAPI 3.1 document and the offline Swagger UI;
//! - [`streams`]: caps on open WebSocket/SSE streams and their filters, and
//!   closing streams whose key was deleted;
//! - [`state`]: what every handler can reach. It holds components (the
//!   limiter, the streams' registry, the login guard, the metrics registry)
//!   that never import it; the HTTP faces import it, never the other way.

pub mod api_calls;
pub mod auth;
pub mod cluster;
pub mod cors;
pub mod dashboard;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod feed;
pub mod history;
pub mod login;
pub mod media_files;
pub mod metrics;
pub mod openapi;
pub mod owned;
pub mod rate_limit;
pub mod request_id;
pub mod request_log;
pub mod routes;
pub mod secret;
pub mod send;
pub mod session_admin;
pub mod session_proxy;
pub mod session_settings;
pub mod sse;
pub mod state;
pub mod statistics;
pub mod streams;
pub mod template;
pub mod webhook_config;

pub use error::ApiError;
pub use state::{ApiConfig, AppState};

use axum::Router;
use axum::extract::DefaultBodyLimit;

/// The whole HTTP surface: `/health`, `/api/…`, `/api/docs`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let cors = state.config.cors.layer();
    let router = Router::new()
        .merge(routes::health::router())
        .merge(routes::ws::root_router())
        .merge(metrics::router())
        .merge(dashboard::router())
        .nest("/api", routes::api_router())
        .merge(routes::compat::router(&state))
        .merge(openapi::router())
        .fallback(error::not_found_fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            owned::guard,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::middleware,
        ))
        .layer(axum::middleware::from_fn(request_id::middleware));
    // Outermost: a preflight is answered before authentication.
    match cors {
        Some(layer) => router.layer(layer).with_state(state),
        None => router.with_state(state),
    }
}

//! The rate-limit middleware: counts each request against its tenant's
//! window in its category, sets the `X-RateLimit-*` headers, and answers
//! 429 `RATE_LIMITED` over the limit.
//!
//! The HTTP face of the limiter: it takes the [`AppState`] (the caller's
//! key, the store for a tenant's overrides, the metrics); the limiter it
//! drives never imports the state.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wagate_core::ErrorCode;

use super::limiter::{Decision, classify, now_ms};
use crate::error::ApiError;
use crate::state::AppState;

fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(d.reset));
}

/// The middleware (on the whole router; it only acts on `/api/…`).
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = state.rate_limiter.clone();
    if !limiter.config.enabled {
        return next.run(request).await;
    }
    let Some(category) = classify(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    // The key decides the admin's exemption, also while it acts as a
    // tenant (`X-Act-As-Tenant`: the outbox worker sends that way).
    let caller = match crate::auth::authenticate_request(&state, &parts).await {
        Ok(p) => p,
        // Not counted; the handler answers 401 (or 500) itself.
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    let key_is_admin = caller.is_admin;
    let principal = match crate::auth::acting_as(&state, &parts, caller).await {
        Ok(p) => p,
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    state.api_calls.count(&principal.tenant_id);
    parts.extensions.insert(principal.clone());
    let request = Request::from_parts(parts, body);
    if key_is_admin && !limiter.config.limit_admin {
        return next.run(request).await;
    }
    let now = now_ms();
    let limit = limiter
        .limits_for(&state.store, &principal.tenant_id, now)
        .await
        .get(category);
    if limit == 0 {
        return next.run(request).await;
    }
    let decision = limiter.hit(&principal.tenant_id, category, limit, now);
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        state.metrics.rate_limited(category.name());
        let mut r = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many {} requests: the limit is {limit} per minute; retry in {} s",
                category.name(),
                decision.retry_after
            ),
        )
        .with_details(json!({
            "category": category.name(),
            "limit": limit,
            "retryAfter": decision.retry_after,
        }))
        .into_response();
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(decision.retry_after),
        );
        debug_assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        r
    };
    set_headers(response.headers_mut(), &decision);
    response
}

//! The drop-in routes in a cluster: the routes of the seed systems that act
//! on one session go to the node that runs it, as the native routes do
//! ([`crate::cluster`]). Seed 003's `/compat/microservice/session/{id}/…`
//! names the session by its client-chosen name; seed 002's
//! `/compat/wago/…` acts on `COMPAT_SESSION`, or the key's only session.
//! The session is found as the handler will find it; one not found is left
//! to the handler's own answer.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Auth;
use crate::cluster::{Route, to_new_session_node, to_session_node};
use crate::state::AppState;

const MICROSERVICE_NEW_SESSION: &str = "/compat/microservice/tenant/sessions";
const MICROSERVICE_SESSION: &str = "/compat/microservice/session/{id}";
const WAGO: &str = "/compat/wago/";
const WAGO_HEALTH: &str = "/compat/wago/health";

/// Middleware of the drop-in routes.
pub async fn to_session_node_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match route(&state, request).await {
        Route::Here(request) => next.run(request).await,
        Route::Answered(response) => response,
    }
}

async fn route(state: &AppState, request: Request) -> Route {
    if state.manager.cluster().is_none() {
        return Route::Here(request);
    }
    let matched = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    if matched == MICROSERVICE_NEW_SESSION && request.method() == axum::http::Method::POST {
        return to_new_session_node(state, request).await;
    }
    let microservice =
        matched.starts_with(MICROSERVICE_SESSION) && !matched.ends_with("/messages/stream");
    let wago = matched.starts_with(WAGO) && matched != WAGO_HEALTH;
    if !microservice && !wago {
        return Route::Here(request);
    }
    let (mut parts, body) = request.into_parts();
    let session_id = session_id(state, &mut parts, microservice).await;
    let request = Request::from_parts(parts, body);
    match session_id {
        Some(id) => to_session_node(state, &matched, &id, request).await,
        None => Route::Here(request),
    }
}

async fn session_id(state: &AppState, parts: &mut Parts, microservice: bool) -> Option<String> {
    let Auth(principal) =
        <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .ok()?;
    if microservice {
        let name = crate::owned::path_param(parts, state, "id").await.ok()?;
        let record = state
            .store
            .get_session_by_name(&principal.tenant_id, &name)
            .await
            .ok()??;
        return Some(record.id);
    }
    super::compat_session(state, &principal)
        .await
        .ok()
        .map(|(record, _)| record.id)
}

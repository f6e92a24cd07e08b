//! Session ownership, checked before anything else of a request.
//!
//! Every route under `/api/sessions/{id}` acts on one session. [`guard`]
//! resolves it for the caller (by id, or by the phone number it is linked
//! to) and answers 404 `SESSION_NOT_FOUND` when the caller may not see it —
//! before a handler extracts or validates the body, so another tenant's key
//! learns nothing, not even whether its body would have been valid. Handlers
//! take what the guard found as the [`OwnedSession`] extractor.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use wagate_engine::Session;
use wagate_store::app::SessionRecord;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::owned_session;
use crate::state::AppState;

/// The session named by the route's `{id}`, as the caller may see it.
#[derive(Clone)]
pub struct OwnedSession {
    pub record: SessionRecord,
    pub session: Arc<Session>,
}

/// The routes [`guard`] checks: everything below one session.
const SESSION_ROUTES: &str = "/api/sessions/{id}";

/// Middleware: resolve and check the route's session before the handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let scoped = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str().starts_with(SESSION_ROUTES));
    if !scoped {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match OwnedSession::resolve(&mut parts, &state).await {
        Ok(owned) => {
            parts.extensions.insert(owned);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

impl OwnedSession {
    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<OwnedSession, ApiError> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::validation("this route needs a session id"))?;
        let id = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, value)| value.to_string())
            .ok_or_else(|| ApiError::validation("this route needs a session id"))?;
        let (record, session) = owned_session(state, &principal, &id).await?;
        Ok(OwnedSession { record, session })
    }
}

impl FromRequestParts<AppState> for OwnedSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(owned) = parts.extensions.get::<OwnedSession>() {
            return Ok(owned.clone());
        }
        let owned = Self::resolve(parts, state).await?;
        parts.extensions.insert(owned.clone());
        Ok(owned)
    }
}

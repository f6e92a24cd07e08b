//! Session ownership, checked before anything else of a request.
//!
//! Every route under `/api/sessions/{id}` acts on one session (and every
//! route under `/api/warming/rooms/{room_id}` on one room). [`guard`]
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
use wagate_core::ErrorCode;
use wagate_engine::Session;
use wagate_store::app::{Principal, SessionRecord};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The session named by the route's `{id}`, as the caller may see it.
#[derive(Clone)]
pub struct OwnedSession {
    pub record: SessionRecord,
    pub session: Arc<Session>,
}

/// The routes [`guard`] checks: everything below one session.
const SESSION_ROUTES: &str = "/api/sessions/{id}";

/// Creating a session (placed on the least-loaded node in a cluster).
const NEW_SESSION: &str = "/api/sessions";

/// The routes of one warming room: checked the same way.
const ROOM_ROUTES: &str = "/api/warming/rooms/{room_id}";

/// Middleware: resolve and check the route's session (or warming room)
/// before the handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    if matched.starts_with(SESSION_ROUTES) {
        let (mut parts, body) = request.into_parts();
        let owned = match OwnedSession::resolve(&mut parts, &state).await {
            Ok(owned) => owned,
            Err(e) => return e.into_response(),
        };
        let id = owned.record.id.clone();
        parts.extensions.insert(owned);
        let request = Request::from_parts(parts, body);
        // In a cluster: on the node that runs the session.
        return match crate::cluster::to_session_node(&state, &matched, &id, request).await {
            crate::cluster::Route::Here(request) => next.run(request).await,
            crate::cluster::Route::Answered(response) => response,
        };
    }
    if matched == NEW_SESSION && request.method() == axum::http::Method::POST {
        return match crate::cluster::to_new_session_node(&state, request).await {
            crate::cluster::Route::Here(request) => next.run(request).await,
            crate::cluster::Route::Answered(response) => response,
        };
    }
    if matched.starts_with(ROOM_ROUTES) {
        let (mut parts, body) = request.into_parts();
        return match check_room(&mut parts, &state).await {
            Ok(()) => next.run(Request::from_parts(parts, body)).await,
            Err(e) => e.into_response(),
        };
    }
    next.run(request).await
}

/// The route's warming room belongs to the caller (else 404, as missing).
async fn check_room(parts: &mut Parts, state: &AppState) -> Result<(), ApiError> {
    let Auth(principal) = Auth::from_request_parts(parts, state).await?;
    let id = path_param(parts, state, "room_id").await?;
    state
        .store
        .get_warming_room(&id)
        .await?
        .filter(|r| principal.can_access(&r.tenant_id))
        .map(|_| ())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no warming room '{id}'")))
}

/// The route's path parameter `name`.
pub(crate) async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::validation(format!("this route needs {name}")))?;
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .ok_or_else(|| ApiError::validation(format!("this route needs {name}")))
}

impl OwnedSession {
    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<OwnedSession, ApiError> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let id = path_param(parts, state, "id").await?;
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

/// The session `id` as `principal` may see it: another tenant's session is
/// indistinguishable from a missing one (404). An `id` of 7–15 digits
/// (optionally with `+`) is the phone number the session is linked to.
pub async fn owned_session(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(SessionRecord, Arc<Session>), ApiError> {
    let record = match phone_address(id) {
        Some(phone) => {
            let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
            state.store.get_session_by_phone(tenant, &phone).await?
        }
        None => state.store.get_session(id).await?,
    }
    .filter(|r| principal.can_access(&r.tenant_id))
    .ok_or_else(|| ApiError::session_not_found(id))?;
    let session = state.manager.attach(&record).await;
    Ok((record, session))
}

/// `id` as a phone number: 7–15 ASCII digits, optionally after a `+`.
fn phone_address(id: &str) -> Option<String> {
    let digits = id.strip_prefix('+').unwrap_or(id);
    ((7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.to_string())
}

//! Drop-in modes: the APIs of the systems wagate replaces, each under its
//! own prefix, so an existing client changes only its base URL.
//!
//! - [`wago`]: seed 002's single-number OTP gateway, `/compat/wago/…`;
//! - [`microservice`]: seed 003's multi-tenant microservice,
//!   `/compat/microservice/…` (sessions by the client's own id);
//! - [`sudevwa`]: seed 000's per-instance webhook setting,
//!   `POST /api/instances/{id}/webhook-setconfig` (its own path, which its
//!   clients call; nothing else of seed 000's API collides with ours).
//!
//! In a cluster, [`cluster`] sends each request that acts on one session
//! to the node that runs it.
//!
//! Each mode is a thin translation onto the native pipeline (the same
//! durable send queue, history and auth: any wagate key works, in the
//! header each system used), with its own OpenAPI tag. Where a system had
//! one WhatsApp number and no session in its paths, the session is
//! [`compat_session`]'s choice.

pub mod cluster;
pub mod microservice;
pub mod sudevwa;
pub mod wago;

use std::sync::Arc;

use axum::Router;
use wagate_core::ErrorCode;
use wagate_engine::Session;
use wagate_store::app::{Principal, SessionFilter, SessionRecord};

use crate::error::ApiError;
use crate::state::AppState;

/// Every drop-in route; in a cluster each goes to its session's node
/// ([`cluster`]).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(wago::router())
        .merge(microservice::router())
        .merge(sudevwa::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cluster::to_session_node_layer,
        ))
}

/// The session a single-number client's request goes to: `COMPAT_SESSION`
/// (the id of a session the caller may use, or a session's name in the
/// caller's tenant) when set, else the caller's only session. Found with one
/// lookup, never by listing the caller's sessions.
pub async fn compat_session(
    state: &AppState,
    principal: &Principal,
) -> Result<(SessionRecord, Arc<Session>), ApiError> {
    let chosen = match state.config.compat_session.as_deref() {
        Some(wanted) => named(state, principal, wanted).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::SessionNotFound,
                format!("COMPAT_SESSION names '{wanted}', which is not a session of this key"),
            )
        })?,
        None => only_session(state, principal).await?,
    };
    let session = state.manager.attach(&chosen).await;
    Ok((chosen, session))
}

/// The session `wanted` names (its id, or its name in the caller's
/// tenant), if the caller may use it.
async fn named(
    state: &AppState,
    principal: &Principal,
    wanted: &str,
) -> Result<Option<SessionRecord>, ApiError> {
    if let Some(record) = state.store.get_session(wanted).await?
        && principal.can_access(&record.tenant_id)
    {
        return Ok(Some(record));
    }
    Ok(state
        .store
        .get_session_by_name(&principal.tenant_id, wanted)
        .await?)
}

/// The caller's one session (one row and the count, not the list).
async fn only_session(state: &AppState, principal: &Principal) -> Result<SessionRecord, ApiError> {
    let tenant = (!principal.is_admin).then(|| principal.tenant_id.clone());
    let (mut first, total) = state
        .store
        .list_sessions(&SessionFilter {
            tenant_id: tenant,
            page: 1,
            limit: 1,
            ..Default::default()
        })
        .await?;
    match (total, first.pop()) {
        (1, Some(record)) => Ok(record),
        (0, _) | (_, None) => Err(ApiError::new(
            ErrorCode::SessionNotFound,
            "this key has no session yet: create one with POST /api/sessions and pair it",
        )),
        (n, Some(_)) => Err(ApiError::new(
            ErrorCode::SessionNotFound,
            format!(
                "this key has {n} sessions: set COMPAT_SESSION to the one compatibility routes use"
            ),
        )),
    }
}

//! Routes by resource. Each module exposes `router()` and its handlers,
//! which are also listed in the OpenAPI document.

pub mod actions;
pub mod bulk;
pub mod chats;
pub mod contacts;
pub mod groups;
pub mod health;
pub mod media;
pub mod messages;
pub mod outbox;
pub mod presence;
pub mod queue;
pub mod sessions;
pub mod sse;
pub mod stats;
pub mod tenants;
pub mod warming;
pub mod webhooks;
pub mod ws;

use axum::Router;
use std::sync::Arc;
use wagate_engine::Session;
use wagate_store::app::{Principal, SessionRecord};

use crate::error::ApiError;
use crate::state::AppState;

/// Everything under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(sessions::router())
        .merge(messages::router())
        .merge(chats::router())
        .merge(stats::router())
        .merge(media::router())
        .merge(actions::router())
        .merge(contacts::router())
        .merge(groups::router())
        .merge(presence::router())
        .merge(queue::router())
        .merge(bulk::router())
        .merge(tenants::router())
        .merge(crate::login::router())
        .merge(crate::rate_limit::router())
        .merge(webhooks::router())
        .merge(outbox::router())
        .merge(warming::router())
        .merge(sse::router())
        .merge(ws::router())
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

//! Routes by resource. Each module exposes `router()` and its handlers,
//! which are also listed in the OpenAPI document.

pub mod actions;
pub mod bulk;
pub mod channels;
pub mod chat_actions;
pub mod chats;
pub mod circles;
pub mod cluster;
pub mod compat;
pub mod contact_lids;
pub mod contacts;
pub mod groups;
pub mod health;
pub mod labels;
pub mod media;
pub mod messages;
pub mod otp;
pub mod outbox;
pub mod outputs;
pub mod polls;
pub mod presence;
pub mod queue;
pub mod sessions;
pub mod sse;
pub mod stats;
pub mod status;
pub mod tenant_rate_limits;
pub mod tenants;
pub mod warming;
pub mod webhooks;
pub mod ws;

use crate::state::AppState;
use axum::Router;

/// Everything under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(sessions::router())
        .merge(circles::router())
        .merge(cluster::router())
        .merge(messages::router())
        .merge(chats::router())
        .merge(chat_actions::router())
        .merge(labels::router())
        .merge(stats::router())
        .merge(media::router())
        .merge(actions::router())
        .merge(polls::router())
        .merge(status::router())
        .merge(contacts::router())
        .merge(contact_lids::router())
        .merge(groups::router())
        .merge(channels::router())
        .merge(presence::router())
        .merge(queue::router())
        .merge(bulk::router())
        .merge(otp::router())
        .merge(tenants::router())
        .merge(crate::login::router())
        .merge(tenant_rate_limits::router())
        .merge(webhooks::router())
        .merge(outbox::router())
        .merge(outputs::router())
        .merge(warming::router())
        .merge(sse::router())
        .merge(ws::router())
}

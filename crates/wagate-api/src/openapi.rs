//! The OpenAPI 3.1 document, generated from the handlers' annotations, at
//! `/api/docs-json`, and Swagger UI at `/api/docs` from vendored assets
//! (nothing is fetched at build or run time).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{
    actions, contacts, groups, health, media, messages, presence, sessions, sse, tenants, webhooks,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "wagate", description = "Self-hosted multi-session WhatsApp HTTP API gateway."),
    paths(
        health::health, health::detailed,
        sessions::create_session, sessions::list_sessions, sessions::get_session,
        sessions::delete_session, sessions::start_session, sessions::stop_session,
        sessions::restart_session, sessions::logout_session, sessions::get_qr, sessions::pair_code,
        sessions::update_session, sessions::list_circles,
        messages::send_text, messages::list_messages,
        media::send_image, media::send_video, media::send_audio, media::send_document,
        media::send_sticker, media::get_file,
        actions::send_location, actions::send_contact, actions::react, actions::revoke,
        actions::delete_message, actions::edit,
        contacts::check_one, contacts::check_many,
        groups::list_groups, groups::create_group, groups::get_group, groups::change_participants,
        groups::set_subject, groups::set_description, groups::invite_link, groups::revoke_invite_link,
        groups::leave_group, groups::join_group,
        presence::set_presence, presence::subscribe, presence::chat_state, presence::mark_read,
        tenants::create_tenant, tenants::list_tenants, tenants::delete_tenant,
        tenants::create_key, tenants::list_keys, tenants::delete_key,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook, webhooks::update_webhook,
        webhooks::delete_webhook, webhooks::list_deliveries, webhooks::redeliver, webhooks::replay,
        sse::session_events, sse::tenant_events,
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "health"), (name = "sessions"), (name = "messages"), (name = "contacts"), (name = "groups"), (name = "presence"), (name = "tenants"), (name = "webhooks"), (name = "events"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/docs-json", ApiDoc::openapi()))
}

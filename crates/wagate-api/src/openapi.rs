//! The OpenAPI 3.1 document, generated from the handlers' annotations, at
//! `/api/docs-json`, and Swagger UI at `/api/docs` from vendored assets
//! (nothing is fetched at build or run time).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::envelope::Pagination;
use crate::routes::{
    actions, channels, contacts, groups, health, media, messages, polls, presence, sessions, sse,
    tenants, webhooks,
};
use crate::state::AppState;

mod answers;
use answers::Answers;

#[derive(OpenApi)]
#[openapi(
    info(title = "wagate", description = "Self-hosted multi-session WhatsApp HTTP API gateway.\n\nRate limits, per tenant and per minute: session management 10, send message 60, read operations 120, webhook management 10 (configurable). Every limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds); over the limit the answer is 429 `RATE_LIMITED` with `Retry-After`."),
    paths(
        health::health, health::detailed,
        sessions::create_session, sessions::list_sessions, sessions::get_session,
        sessions::delete_session, sessions::start_session, sessions::stop_session,
        sessions::restart_session, sessions::logout_session, sessions::get_qr, sessions::regenerate_qr, sessions::pair_code,
        sessions::update_session, crate::routes::circles::list_circles,
        crate::routes::circles::rename_circle, crate::routes::circles::delete_circle,
        messages::send_text, messages::list_messages, messages::message_feed, crate::routes::chats::list_chats,
        crate::routes::chat_actions::archive, crate::routes::chat_actions::pin,
        crate::routes::chat_actions::mute, crate::routes::chat_actions::unread,
        crate::routes::chat_actions::clear, crate::routes::chat_actions::delete_chat,
        crate::routes::chat_actions::star, crate::routes::chat_actions::delete_for_me,
        crate::routes::labels::list_labels, crate::routes::labels::create_label,
        crate::routes::labels::update_label, crate::routes::labels::delete_label,
        crate::routes::labels::label_chats, crate::routes::labels::chat_labels,
        crate::routes::labels::add_chat_label, crate::routes::labels::remove_chat_label,
        crate::routes::stats::stats, crate::routes::stats::tenant_stats,
        crate::routes::bulk::send_bulk, crate::routes::bulk::get_batch,
        crate::routes::bulk::cancel_batch, crate::routes::otp::send_otp,
        crate::routes::queue::queue_status, crate::routes::queue::list_queued,
        crate::routes::queue::get_queued,
        crate::routes::queue::cancel_queued, crate::routes::queue::get_pacing,
        crate::routes::queue::put_pacing, crate::routes::queue::delete_pacing,
        media::send_image, media::send_video, media::send_audio, media::send_document,
        media::send_sticker, media::get_file,
        actions::send_location, actions::send_contact, actions::react, actions::revoke,
        actions::delete_message, actions::edit,
        polls::send_poll, polls::vote, polls::poll_results,
        crate::routes::status::post_text, crate::routes::status::post_image,
        crate::routes::status::post_video, crate::routes::status::revoke,
        contacts::check_one, contacts::check_many, contacts::list_contacts, contacts::list_blocked,
        contacts::block, contacts::unblock, contacts::profile_picture,
        contacts::own_profile_picture, contacts::set_own_profile_picture,
        contacts::remove_own_profile_picture,
        crate::routes::contact_lids::lid_of, crate::routes::contact_lids::pn_of,
        groups::list_groups, groups::create_group, groups::get_group, groups::change_participants,
        groups::set_subject, groups::set_description, groups::invite_link, groups::revoke_invite_link,
        groups::leave_group, groups::join_group,
        channels::list_channels, channels::create_channel, channels::get_channel,
        channels::follow_channel, channels::unfollow_channel, channels::channel_messages,
        channels::post_to_channel, channels::react,
        presence::set_presence, presence::subscribe, presence::chat_state, presence::mark_read,
        tenants::create_tenant, tenants::list_tenants, tenants::delete_tenant,
        tenants::create_key, tenants::list_keys, tenants::delete_key,
        tenants::get_session_limit, tenants::put_session_limit,
        crate::routes::tenant_rate_limits::get_tenant_rate_limits,
        crate::routes::tenant_rate_limits::put_tenant_rate_limits,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook, webhooks::update_webhook,
        webhooks::delete_webhook, webhooks::list_deliveries, webhooks::redeliver, webhooks::replay,
        sse::session_events, sse::tenant_events,
        crate::routes::outbox::create_outbox_worker, crate::routes::outbox::list_outbox_workers,
        crate::routes::outbox::get_outbox_worker, crate::routes::outbox::update_outbox_worker,
        crate::routes::outbox::delete_outbox_worker,
        crate::routes::outputs::create_output, crate::routes::outputs::list_outputs,
        crate::routes::outputs::get_output, crate::routes::outputs::update_output,
        crate::routes::outputs::delete_output,
        crate::routes::compat::wago::send_text, crate::routes::compat::wago::send_otp,
        crate::routes::compat::wago::messages, crate::routes::compat::wago::health,
        crate::routes::compat::sudevwa::webhook_setconfig,
        crate::routes::compat::microservice::health, crate::routes::compat::microservice::list_sessions,
        crate::routes::compat::microservice::create_session, crate::routes::compat::microservice::delete_session,
        crate::routes::compat::microservice::disconnect, crate::routes::compat::microservice::qr,
        crate::routes::compat::microservice::regenerate_qr, crate::routes::compat::microservice::status,
        crate::routes::compat::microservice::send, crate::routes::compat::microservice::send_image,
        crate::routes::compat::microservice::send_video, crate::routes::compat::microservice::send_document,
        crate::routes::compat::microservice::send_audio, crate::routes::compat::microservice::messages,
        crate::routes::compat::microservice::tenant_messages, crate::routes::compat::microservice::tenant_stats,
        crate::routes::compat::microservice::stream, crate::routes::compat::microservice::file,
        crate::login::routes::login, crate::login::routes::logout, crate::login::routes::me,
        crate::routes::warming::create_room, crate::routes::warming::list_rooms,
        crate::routes::warming::get_room, crate::routes::warming::update_room,
        crate::routes::warming::delete_room, crate::routes::warming::start_room,
        crate::routes::warming::pause_room, crate::routes::warming::resume_room,
        crate::routes::warming::stop_room, crate::routes::warming::preview_room,
        crate::routes::warming::room_messages, crate::routes::warming::list_lines,
        crate::routes::warming::add_line, crate::routes::warming::update_line,
        crate::routes::warming::delete_line, crate::routes::warming::reorder_lines,
        crate::routes::warming::session_health,
        crate::routes::cluster::list_nodes,
    ),
    components(schemas(Pagination)),
    modifiers(&SecurityAddon, &Answers),
    tags(
        (name = "health"), (name = "sessions"), (name = "messages"), (name = "status", description = "Status updates (stories): post text, image and video statuses and revoke them"), (name = "labels", description = "WhatsApp Business labels, shared with the phone through app state"), (name = "contacts"), (name = "groups"), (name = "channels"), (name = "presence"), (name = "tenants"), (name = "webhooks"), (name = "events"), (name = "outbox"), (name = "outputs"), (name = "compat-wago", description = "Seed 002 (WAGO) drop-in: change only the base URL to /compat/wago"), (name = "compat-microservice", description = "Seed 003 (multi-tenant microservice) drop-in: change only the base URL to /compat/microservice"), (name = "compat-sudevwa", description = "Seed 000 (SUDEVWA) drop-in: its per-instance webhook-setconfig"), (name = "queue"), (name = "auth"), (name = "warming"), (name = "cluster", description = "The nodes of a cluster on one PostgreSQL database"), // not vocabulary: OpenAPI tags
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

//! Seed 003's API (the multi-tenant WhatsApp microservice) under
//! `/compat/microservice`, so its clients change only their base URL:
//! sessions with client-chosen ids (`/tenant/sessions`, `/session/:id/…`),
//! text and media sends, QR, status, history, the per-session SSE stream,
//! tenant-wide messages and statistics, and stored files. `X-Api-Key` is
//! any wagate key (a tenant's key sees its own sessions).
//!
//! A client-chosen `session_id` is the native session's *name* (unique per
//! tenant); `name` becomes the name the phone shows under Linked Devices
//! and `description` the session's notes. Every route is a translation onto
//! the native handlers (the same checks, queue and history); answers are
//! flat `{success: true, …}` objects as the microservice's were, errors
//! keep wagate's envelope and codes. Its webhook is the `microservice`
//! webhook format.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{SessionStatus, iso_ms};
use wagate_engine::media::MediaKind;
use wagate_store::app::{MessageFeed, MessageRecord, Principal, SessionFilter, SessionRecord};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::{IdempotencyKey, SendMode};
use crate::state::AppState;
use crate::streams::StreamKey;

mod reads;
mod sends;
mod sessions;

pub use reads::*;
pub use sends::*;
pub use sessions::*;

const BASE: &str = "/compat/microservice";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/health"), get(health))
        .route(
            &format!("{BASE}/tenant/sessions"),
            get(list_sessions).post(create_session),
        )
        .route(&format!("{BASE}/tenant/messages"), get(tenant_messages))
        .route(&format!("{BASE}/tenant/stats"), get(tenant_stats))
        .route(&format!("{BASE}/session/{{id}}"), delete(delete_session))
        .route(
            &format!("{BASE}/session/{{id}}/disconnect"),
            post(disconnect),
        )
        .route(&format!("{BASE}/session/{{id}}/qr"), get(qr))
        .route(
            &format!("{BASE}/session/{{id}}/regenerate-qr"),
            post(regenerate_qr),
        )
        .route(&format!("{BASE}/session/{{id}}/status"), get(status))
        .route(&format!("{BASE}/session/{{id}}/send"), post(send))
        .route(
            &format!("{BASE}/session/{{id}}/send-image"),
            post(send_image),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-video"),
            post(send_video),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-document"),
            post(send_document),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-audio"),
            post(send_audio),
        )
        .route(&format!("{BASE}/session/{{id}}/messages"), get(messages))
        .route(
            &format!("{BASE}/session/{{id}}/messages/stream"),
            get(stream),
        )
        .route(&format!("{BASE}/files/{{id}}/{{file_name}}"), get(file))
}

// ── shapes ─────────────────────────────────────────────────────────────

#[derive(Debug, Deserialize, ToSchema)]
pub struct MsCreateSession {
    /// The client's own id for the session (1–100 characters).
    #[schema(example = "main")]
    pub session_id: String,
    /// Shown on the phone under Linked Devices.
    #[schema(example = "Main WhatsApp Number")]
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MsSession {
    pub session_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `connected`, `qr`, `connecting`, `disconnected` or `failed`.
    pub status: &'static str,
    pub phone_number: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MsSendText {
    /// Digits with country code, or a chat id.
    #[schema(example = "393331234567")]
    pub to: String,
    pub message: String,
}

/// A media send: the file (a URL, a data URL or plain base64) in the field
/// named after its kind.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MsSendMedia {
    #[schema(example = "393331234567")]
    pub to: String,
    pub image: Option<String>,
    pub video: Option<String>,
    pub document: Option<String>,
    pub audio: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
    /// Audio as a voice note.
    #[serde(default)]
    pub ptt: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MsMessage {
    /// WhatsApp's id of the message.
    pub id: String,
    pub session_id: String,
    /// Its place in the feed: pass it as `after`.
    pub seq: i64,
    pub from: String,
    pub to: String,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub from_me: bool,
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub media_url: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MsPage {
    /// Only messages after this `seq`.
    pub after: Option<i64>,
    /// At most this many (1–500, default 50).
    pub limit: Option<u32>,
}

fn status_word(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Ready => "connected",
        SessionStatus::QrReady => "qr",
        SessionStatus::Initializing | SessionStatus::Connecting => "connecting",
        SessionStatus::Disconnected => "disconnected",
        SessionStatus::Error => "failed", // not vocabulary: seed 003's status word
    }
}

fn view(r: &SessionRecord, status: SessionStatus) -> MsSession {
    MsSession {
        session_id: r.name.clone(),
        name: r.device_name.clone(),
        description: r.notes.clone(),
        status: status_word(status),
        phone_number: r.phone.clone(),
        created_at: iso_ms(r.created_at),
    }
}

fn message_view(m: &MessageRecord, names: &dyn Fn(&str) -> String) -> MsMessage {
    let session_id = names(&m.session_id);
    MsMessage {
        id: m.wa_id.clone(),
        seq: m.seq,
        from: wagate_core::ChatId::api_from_jid(&m.sender),
        to: wagate_core::ChatId::api_from_jid(&m.recipient),
        message: m.body.clone(),
        msg_type: m.msg_type.to_string(),
        from_me: m.from_me,
        timestamp: m.wa_timestamp,
        media_url: m
            .media
            .as_ref()
            .map(|f| format!("{BASE}/files/{session_id}/{}", f.file_id)),
        session_id,
    }
}

fn ok(mut body: Value) -> axum::Json<Value> {
    body["success"] = json!(true);
    axum::Json(body)
}

// ── sessions by the client's id ────────────────────────────────────────

async fn tenant_sessions(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<SessionRecord>, ApiError> {
    let (sessions, _) = state
        .store
        .list_sessions(&SessionFilter {
            tenant_id: Some(principal.tenant_id.clone()),
            page: 1,
            limit: 1000,
            ..Default::default()
        })
        .await?;
    Ok(sessions)
}

/// The caller's session whose name is the client's `session_id`.
async fn by_client_id(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<OwnedSession, ApiError> {
    let record = state
        .store
        .get_session_by_name(&principal.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::session_not_found(id))?;
    let session = state.manager.attach(&record).await;
    Ok(OwnedSession { record, session })
}

/// The caller's session named by the path's `id` (the client's id),
/// resolved before any body is read: another tenant's is 404, as missing.
pub struct ClientSession(pub OwnedSession);

impl axum::extract::FromRequestParts<AppState> for ClientSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let id = crate::owned::path_param(parts, state, "id").await?;
        Ok(ClientSession(by_client_id(state, &principal, &id).await?))
    }
}

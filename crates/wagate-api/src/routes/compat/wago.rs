//! Seed 002's API (WAGO, a one-number OTP gateway) under `/compat/wago`, so
//! its clients move to wagate by changing only their base URL:
//! `POST /send-text {to, text}` → `{"message_id"}`, `POST /send-otp {to,
//! code, template}` (`%s` is the code), `GET /messages?chat=&after=&limit=`
//! (incoming messages, its item shape, `after` a numeric id), and
//! `GET /health` → `{"ok": true}`. `X-API-Key` is any wagate key.
//!
//! WAGO had one number; here the session is `COMPAT_SESSION` (an id or a
//! name) or, when that is unset, the caller's only session. Sends go
//! through the same durable queue as `…/send-text`; errors keep wagate's
//! envelope and codes. Its webhook (`X-Wago-Signature`) is a webhook
//! `format` (see `wagate-events`).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::ChatId;
use wagate_engine::queue::SendJob;
use wagate_store::app::{MessageFeed, MessageRecord};

use super::compat_session;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::send::{self, IdempotencyKey, SendMode, check_text, parse_chat_id};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/compat/wago/send-text", post(send_text))
        .route("/compat/wago/send-otp", post(send_otp))
        .route("/compat/wago/messages", get(messages))
        .route("/compat/wago/health", get(health))
}

/// The template of a code sent without one.
const DEFAULT_OTP_TEMPLATE: &str = "Your verification code is %s";
/// Most messages one page of `/messages` returns.
const MAX_PAGE: u32 = 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct WagoSendText {
    /// E.164 digits without `+` (`62812…`), or a chat id.
    #[schema(example = "6281234567890")]
    pub to: String,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WagoSendOtp {
    #[schema(example = "6281234567890")]
    pub to: String,
    #[schema(example = "654321")]
    pub code: String,
    /// `%s` is replaced by the code (default `Your verification code is %s`).
    #[schema(example = "[MyApp] OTP: %s (5 menit)")]
    pub template: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WagoSent {
    /// WhatsApp's id of the sent message.
    pub message_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WagoMessagesQuery {
    /// Only this chat (`62812…@s.whatsapp.net`).
    pub chat: Option<String>,
    /// Only messages after this `id`.
    pub after: Option<i64>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WagoMessage {
    /// The message's place in the feed: pass it as `after`.
    pub id: i64,
    pub chat_id: String,
    pub sender_id: String,
    pub text: Option<String>,
    /// WhatsApp's message kind: `conversation`, `imageMessage`, …
    pub kind: &'static str,
    #[schema(example = "2025-09-01T09:20:31Z")]
    pub timestamp: String,
}

impl From<&MessageRecord> for WagoMessage {
    fn from(m: &MessageRecord) -> Self {
        WagoMessage {
            id: m.seq,
            chat_id: m.chat_id.clone(),
            sender_id: m.sender.clone(),
            text: m.body.clone(),
            kind: m.msg_type.wa_kind(),
            timestamp: chrono::DateTime::from_timestamp(m.wa_timestamp, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// `to` as WAGO took it: digits (a `+` tolerated) or a chat id.
fn recipient(to: &str) -> Result<ChatId, ApiError> {
    parse_chat_id(to.trim().trim_start_matches('+'))
}

async fn send(
    state: &AppState,
    principal: &wagate_store::app::Principal,
    to: &str,
    text: String,
    key: IdempotencyKey,
) -> Result<axum::Json<WagoSent>, ApiError> {
    let chat = recipient(to)?;
    check_text(&text)?;
    let (_, session) = compat_session(state, principal).await?;
    let job = SendJob::Text {
        text,
        quoted: None,
        mentions: Vec::new(),
        simulate_typing: false,
    };
    let sent = send::submit(state, &session, chat, job, &SendMode::default(), key)
        .await?
        .into_data();
    let message_id = wagate_core::ids::parse_message_id(&sent.message_id)
        .2
        .to_string();
    Ok(axum::Json(WagoSent { message_id }))
}

/// Send a text (seed 002's `/send-text`).
#[utoipa::path(post, path = "/compat/wago/send-text", tag = "compat-wago", request_body = WagoSendText,
    security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = WagoSent),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND: no session, or several and COMPAT_SESSION unset")))]
pub async fn send_text(
    State(state): State<AppState>,
    Auth(principal): Auth,
    key: IdempotencyKey,
    Json(body): Json<WagoSendText>,
) -> Result<axum::Json<WagoSent>, ApiError> {
    send(&state, &principal, &body.to, body.text, key).await
}

/// Send a one-time code with a template (seed 002's `/send-otp`).
#[utoipa::path(post, path = "/compat/wago/send-otp", tag = "compat-wago", request_body = WagoSendOtp,
    security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = WagoSent),
              (status = 400, description = "VALIDATION_ERROR (code), MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND: no session, or several and COMPAT_SESSION unset")))]
pub async fn send_otp(
    State(state): State<AppState>,
    Auth(principal): Auth,
    key: IdempotencyKey,
    Json(body): Json<WagoSendOtp>,
) -> Result<axum::Json<WagoSent>, ApiError> {
    let code = body.code.trim();
    if code.is_empty() || code.chars().count() > 32 {
        return Err(ApiError::validation("code must be 1 to 32 characters"));
    }
    let template = body
        .template
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OTP_TEMPLATE.to_string());
    let text = if template.contains("%s") {
        template.replacen("%s", code, 1)
    } else {
        format!("{template} {code}")
    };
    send(&state, &principal, &body.to, text, key).await
}

/// Incoming messages after a cursor (seed 002's `/messages`), oldest first.
#[utoipa::path(get, path = "/compat/wago/messages", tag = "compat-wago", params(WagoMessagesQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Incoming messages", body = [WagoMessage]),
              (status = 404, description = "SESSION_NOT_FOUND: no session, or several and COMPAT_SESSION unset")))]
pub async fn messages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<WagoMessagesQuery>,
) -> Result<axum::Json<Vec<WagoMessage>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(format!("limit is 1 to {MAX_PAGE}")));
    }
    let (record, _) = compat_session(&state, &principal).await?;
    let chat = q.chat.as_deref().map(parse_chat_id).transpose()?;
    let feed = state
        .store
        .message_feed(&MessageFeed {
            tenant_id: None,
            session_id: Some(record.id),
            chat_id: chat.map(|c| c.jid()),
            incoming_only: true,
            after: q.after.unwrap_or(0).max(0),
            limit,
        })
        .await?;
    Ok(axum::Json(feed.iter().map(WagoMessage::from).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WagoHealth {
    pub ok: bool,
}

/// Liveness (seed 002's `/health`).
#[utoipa::path(get, path = "/compat/wago/health", tag = "compat-wago",
    responses((status = 200, description = "Up", body = WagoHealth)))]
pub async fn health() -> axum::Json<WagoHealth> {
    axum::Json(WagoHealth { ok: true })
}

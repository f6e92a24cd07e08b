//! Messages: send text, read a chat's history.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::limits::TEXT_MAX_CHARS;
use wagate_core::{ChatId, ErrorCode, iso_ms};
use wagate_store::app::MessageRecord;

use super::owned_session;
use super::queue::{self, IdempotencyKey, SendMode};
use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::state::AppState;
use wagate_engine::queue::SendJob;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-text", post(send_text))
        .route(
            "/sessions/{id}/chats/{chat_id}/messages",
            get(list_messages),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendText {
    /// `628123456789@c.us`, `628123456789@s.whatsapp.net`, digits, or `<id>@g.us`.
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    #[schema(example = "Hello, World!")]
    pub text: String,
    #[serde(default)]
    pub options: SendOptionsDto,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOptionsDto {
    /// A message id from this session's history to quote.
    pub quoted_message_id: Option<String>,
    /// Chat ids of people to mention.
    #[serde(default)]
    pub mentioned_ids: Vec<String>,
    /// Show `composing` for a time that grows with the text (within
    /// `TYPING_DELAY_MIN`..`TYPING_DELAY_MAX` seconds), then `paused`, before sending.
    #[serde(default)]
    pub simulate_typing: bool,
}

pub use super::queue::SendResultDto;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    pub id: String,
    pub from: String,
    pub to: String,
    pub body: Option<String>,
    /// `chat`, `image`, `video`, `audio`, `ptt`, `document`, `sticker`, `location`, `vcard`, `reaction`.
    #[serde(rename = "type")]
    pub msg_type: String,
    pub wa_timestamp: i64,
    pub timestamp: String,
    pub from_me: bool,
    pub has_media: bool,
    /// `sent`, `delivered`, `read`, `played` for outgoing; `received` for incoming.
    pub status: String,
    pub quoted_message_id: Option<String>,
    pub push_name: Option<String>,
    /// The file the message carries, when it was stored.
    pub media: Option<MediaDto>,
    /// A location's `{latitude, longitude, name, address, url, isLive}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub location: Option<serde_json::Value>,
    /// A contact card's `{displayName, vcard}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub vcard: Option<serde_json::Value>,
    /// Several contact cards, `[{displayName, vcard}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub vcards: Option<serde_json::Value>,
}

/// A message's stored file; `url` is the files endpoint that serves it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaDto {
    #[schema(example = "image/jpeg")]
    pub mimetype: String,
    pub filename: Option<String>,
    pub size: i64,
    #[schema(example = "/api/sessions/sess_abc123/files/f0123456789abcdef0123456789abcdef")]
    pub url: String,
}

impl From<&MessageRecord> for MessageDto {
    fn from(m: &MessageRecord) -> Self {
        let chat_api = ChatId::api_from_jid(&m.chat_id);
        MessageDto {
            id: wagate_core::ids::message_id(m.from_me, &chat_api, &m.wa_id),
            from: ChatId::api_from_jid(&m.sender),
            to: ChatId::api_from_jid(&m.recipient),
            body: m.body.clone(),
            msg_type: m.msg_type.to_string(),
            wa_timestamp: m.wa_timestamp,
            timestamp: iso_ms(m.wa_timestamp * 1000),
            from_me: m.from_me,
            has_media: m.msg_type.is_media(),
            status: m.status.to_string(),
            quoted_message_id: m.quoted_id.clone(),
            push_name: m.push_name.clone(),
            media: m.media.as_ref().map(|f| MediaDto {
                mimetype: f.mimetype.clone(),
                filename: f.filename.clone(),
                size: f.size,
                url: format!("/api/sessions/{}/files/{}", m.session_id, f.file_id),
            }),
            location: extra(m, "location"), // not vocabulary: an extras key
            vcard: extra(m, "vcard"),       // not vocabulary: an extras key
            vcards: extra(m, "vcards"),
        }
    }
}

/// One key of a message's stored extras (a location or contact card).
fn extra(m: &MessageRecord, key: &str) -> Option<serde_json::Value> {
    m.extras.as_ref().and_then(|x| x.get(key)).cloned()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many messages (1–500, default 50), newest first.
    pub limit: Option<u32>,
    /// Only messages older than this message id.
    pub before: Option<String>,
}

pub fn parse_chat_id(raw: &str) -> Result<ChatId, ApiError> {
    ChatId::parse(raw).map_err(|e| ApiError::new(ErrorCode::MessageInvalidChatId, e.0))
}

/// A contract message id (`true_628…@c.us_3EB0…`) or a bare WhatsApp id →
/// the WhatsApp id.
pub(crate) fn wa_id_of(id: &str) -> &str {
    wagate_core::ids::parse_message_id(id).2
}

/// Send a text message. It goes through the session's send queue: the
/// answer waits for the send (200), or with `?async=true` comes at once
/// (202). An `Idempotency-Key` header makes retries safe.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-text", tag = "messages",
    params(("id" = String, Path), SendMode,
           ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: the same key returns the first result")),
    request_body = SendText, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 202, description = "Queued (?async=true, or still waiting on pacing)", body = SendResultDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG, SESSION_NOT_READY, MESSAGE_QUOTED_NOT_FOUND"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 422, description = "IDEMPOTENCY_KEY_REUSED")))]
pub async fn send_text(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(mode): Query<SendMode>,
    key: IdempotencyKey,
    Json(body): Json<SendText>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let chat = parse_chat_id(&body.chat_id)?;
    check_text(&body.text)?;
    let mentions = body
        .options
        .mentioned_ids
        .iter()
        .map(|m| parse_chat_id(m).map(|c| c.jid()))
        .collect::<Result<Vec<_>, _>>()?;
    let job = SendJob::Text {
        text: body.text,
        quoted: body
            .options
            .quoted_message_id
            .as_deref()
            .map(|q| wa_id_of(q).to_string()),
        mentions,
        simulate_typing: body.options.simulate_typing,
    };
    queue::submit(&state, &session, chat, job, &mode, key).await
}

/// A text a client wants sent: not empty, within the contract's limit.
pub fn check_text(text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::validation("text must not be empty"));
    }
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            format!("text exceeds {TEXT_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A chat's history, newest first.
#[utoipa::path(get, path = "/api/sessions/{id}/chats/{chat_id}/messages", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path), HistoryQuery), security(("api_key" = [])),
    responses((status = 200, description = "Messages", body = [MessageDto])))]
pub async fn list_messages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, chat_id)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Envelope<Vec<MessageDto>>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit is 1 to 500"));
    }
    let id = owned_session(&state, &principal, &id).await?.0.id;
    let before = q.before.as_deref().map(wa_id_of);
    let records = state
        .store
        .list_messages(&id, &chat.jid(), limit, before)
        .await?;
    Ok(envelope::ok(records.iter().map(MessageDto::from).collect()))
}

//! Chat actions through WhatsApp's app state, so the phone and the other
//! linked devices follow: archive, pin, mute, mark unread/read, clear and
//! delete a chat; star a message, delete a message for me. Each change of a
//! chat's settings is announced as `chat.update` (so are the same changes
//! made on the phone).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::{ChatId, iso_ms};
use wagate_engine::chats::{MUTED_FOREVER, Mute, muted_until_text};
use wagate_store::app::ChatSettings;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::history::{MessageDto, PhoneNumbers};
use crate::owned::OwnedSession;
use crate::send::{parse_chat_id, wa_id_of};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/chats/{chat_id}", delete(delete_chat))
        .route("/sessions/{id}/chats/{chat_id}/archive", post(archive))
        .route("/sessions/{id}/chats/{chat_id}/pin", post(pin))
        .route("/sessions/{id}/chats/{chat_id}/mute", post(mute))
        .route("/sessions/{id}/chats/{chat_id}/unread", post(unread))
        .route("/sessions/{id}/chats/{chat_id}/clear", post(clear))
        .route("/sessions/{id}/messages/{message_id}/star", post(star))
        .route(
            "/sessions/{id}/messages/{message_id}/for-me",
            delete(delete_for_me),
        )
}

/// A chat's settings, as the actions answer them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatSettingsDto {
    pub chat_id: String,
    pub archived: bool,
    pub pinned: bool,
    pub pinned_at: Option<String>,
    /// `null` (not muted), `"forever"`, or the ISO 8601 time the mute ends.
    #[schema(example = "forever")]
    pub muted_until: Option<String>,
    pub marked_unread: bool,
}

impl ChatSettingsDto {
    pub fn new(chat: &ChatId, s: &ChatSettings) -> Self {
        ChatSettingsDto {
            chat_id: chat.api(),
            archived: s.archived,
            pinned: s.pinned_at.is_some(),
            pinned_at: s.pinned_at.map(iso_ms),
            muted_until: muted_until_text(s.muted_until),
            marked_unread: s.marked_unread,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Archive {
    /// `true` archives, `false` unarchives.
    pub archived: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Pin {
    /// `true` pins, `false` unpins.
    pub pinned: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MuteBody {
    /// `false` unmutes (default `true`).
    pub muted: Option<bool>,
    /// When the mute ends: an ISO 8601 time or unix seconds in the future,
    /// or `"forever"` (the default).
    #[schema(value_type = Option<String>, example = "forever")]
    pub until: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Unread {
    /// `true` marks the chat unread; `false` marks it read (and sends read
    /// receipts for its unread messages).
    pub unread: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Clear {
    /// Keep starred messages (default `false`).
    #[serde(default)]
    pub keep_starred: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Star {
    /// `true` stars, `false` unstars.
    pub starred: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClearedDto {
    pub chat_id: String,
    /// How many messages were removed from the history.
    pub removed: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeletedDto {
    pub chat_id: String,
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedForMeDto {
    pub message_id: String,
    pub deleted: bool,
}

/// Archive or unarchive a chat (on the phone and every linked device too).
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/archive", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = Archive,
    security(("api_key" = [])),
    responses((status = 200, description = "The chat's settings", body = ChatSettingsDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn archive(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Json(body): Json<Archive>,
) -> Result<Envelope<ChatSettingsDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let s = session.archive_chat(&chat, body.archived).await?;
    Ok(envelope::ok(ChatSettingsDto::new(&chat, &s)))
}

/// Pin or unpin a chat.
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/pin", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = Pin,
    security(("api_key" = [])),
    responses((status = 200, description = "The chat's settings", body = ChatSettingsDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn pin(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Json(body): Json<Pin>,
) -> Result<Envelope<ChatSettingsDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let s = session.pin_chat(&chat, body.pinned).await?;
    Ok(envelope::ok(ChatSettingsDto::new(&chat, &s)))
}

/// Mute a chat until a time or forever, or unmute it (`{"muted": false}`).
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/mute", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = MuteBody,
    security(("api_key" = [])),
    responses((status = 200, description = "The chat's settings", body = ChatSettingsDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR (until), SESSION_NOT_READY")))]
pub async fn mute(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Json(body): Json<MuteBody>,
) -> Result<Envelope<ChatSettingsDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let mute = if body.muted == Some(false) {
        Mute::Off
    } else {
        parse_until(body.until.as_ref())?
    };
    let s = session.mute_chat(&chat, mute).await?;
    Ok(envelope::ok(ChatSettingsDto::new(&chat, &s)))
}

/// `until`: absent, null or `"forever"`; an ISO 8601 time; unix seconds.
/// Either time must be in the future.
fn parse_until(until: Option<&serde_json::Value>) -> Result<Mute, ApiError> {
    let bad = || {
        ApiError::validation(format!(
            "until is \"{MUTED_FOREVER}\", an ISO 8601 time or unix seconds, in the future"
        ))
    };
    let ms = match until {
        None | Some(serde_json::Value::Null) => return Ok(Mute::Forever),
        Some(serde_json::Value::String(s)) if s == MUTED_FOREVER => return Ok(Mute::Forever),
        Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|_| bad())?
            .timestamp_millis(),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| secs.checked_mul(1000))
            .ok_or_else(bad)?,
        Some(_) => return Err(bad()),
    };
    if ms <= wagate_core::now_ms() {
        return Err(bad());
    }
    Ok(Mute::Until(ms))
}

/// Mark a chat unread (`{"unread": true}`) or read (`{"unread": false}`).
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/unread", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = Unread,
    security(("api_key" = [])),
    responses((status = 200, description = "The chat's settings", body = ChatSettingsDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn unread(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Json(body): Json<Unread>,
) -> Result<Envelope<ChatSettingsDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let s = session.mark_chat_unread(&chat, body.unread).await?;
    Ok(envelope::ok(ChatSettingsDto::new(&chat, &s)))
}

/// Clear a chat: its messages go (starred ones too unless `keepStarred`),
/// the chat's settings stay. The body is optional.
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/clear", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = Clear,
    security(("api_key" = [])),
    responses((status = 200, description = "Cleared", body = ClearedDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn clear(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Envelope<ClearedDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let body: Clear = if body.iter().all(u8::is_ascii_whitespace) {
        Clear::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?
    };
    let removed = session.clear_chat(&chat, body.keep_starred).await?;
    Ok(envelope::ok(ClearedDto {
        chat_id: chat.api(),
        removed,
    }))
}

/// Delete a chat: its messages and settings, here and on the account's
/// other devices.
#[utoipa::path(delete, path = "/api/sessions/{id}/chats/{chat_id}", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted", body = ChatDeletedDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn delete_chat(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
) -> Result<Envelope<ChatDeletedDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let deleted = session.delete_chat(&chat).await?;
    Ok(envelope::ok(ChatDeletedDto {
        chat_id: chat.api(),
        deleted,
    }))
}

/// Star or unstar a message of the session's history.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/{message_id}/star", tag = "messages",
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = Star,
    security(("api_key" = [])),
    responses((status = 200, description = "The message", body = MessageDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "MESSAGE_NOT_FOUND")))]
pub async fn star(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, message_id)): Path<(String, String)>,
    Json(body): Json<Star>,
) -> Result<Envelope<MessageDto>, ApiError> {
    let m = session
        .star_message(wa_id_of(&message_id), body.starred)
        .await?;
    let pns = PhoneNumbers::of(&state.store, [&m]).await?;
    Ok(envelope::ok(pns.dto(&m)))
}

/// Delete a message for me: gone from this account's devices, not from the
/// others in the chat (that is `DELETE …/messages/{messageId}`).
#[utoipa::path(delete, path = "/api/sessions/{id}/messages/{message_id}/for-me", tag = "messages",
    params(("id" = String, Path), ("message_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted", body = DeletedForMeDto),
              (status = 400, description = "SESSION_NOT_READY"),
              (status = 404, description = "MESSAGE_NOT_FOUND")))]
pub async fn delete_for_me(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, message_id)): Path<(String, String)>,
) -> Result<Envelope<DeletedForMeDto>, ApiError> {
    let m = session.delete_message_for_me(wa_id_of(&message_id)).await?;
    let chat_api = ChatId::api_from_jid(&m.chat_id);
    Ok(envelope::ok(DeletedForMeDto {
        message_id: wagate_core::ids::message_id(m.from_me, &chat_api, &m.wa_id),
        deleted: true,
    }))
}

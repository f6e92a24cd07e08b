//! Presence and chat state: be available or unavailable, subscribe to a
//! contact's presence, show typing/recording/paused in a chat. What others
//! do arrives as `presence.update` and `chat.state` events.

use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_engine::presence::ChatState;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::send::parse_chat_id;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/presence", post(set_presence))
        .route("/sessions/{id}/presence/subscribe", post(subscribe))
        .route("/sessions/{id}/chats/{chat_id}/state", post(chat_state))
        .route("/sessions/{id}/chats/{chat_id}/read", post(mark_read))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkRead {
    /// Message ids to mark; omitted: every unread incoming message of the chat.
    pub message_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedDto {
    /// How many messages were marked read.
    pub marked: usize,
}

/// Mark a chat's incoming messages as read (blue ticks for their senders).
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/read", tag = "presence",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = MarkRead,
    security(("api_key" = [])),
    responses((status = 200, description = "Marked", body = MarkedDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn mark_read(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Envelope<MarkedDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    // The body is optional: none means "everything unread".
    let body: MarkRead = if body.iter().all(u8::is_ascii_whitespace) {
        MarkRead::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?
    };
    let ids: Option<Vec<String>> = body.message_ids.map(|ids| {
        ids.iter()
            .map(|m| wagate_core::ids::parse_message_id(m).2.to_string())
            .collect()
    });
    let marked = session.mark_read(&chat, ids.as_deref()).await?;
    Ok(envelope::ok(MarkedDto { marked }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetPresence {
    /// `available` or `unavailable`.
    #[schema(example = "available")]
    pub presence: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscribe {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetChatState {
    /// `composing` (typing), `recording` or `paused`.
    #[schema(example = "composing")]
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceDoneDto {
    pub message: String,
}

/// Show this session as available (online) or unavailable.
#[utoipa::path(post, path = "/api/sessions/{id}/presence", tag = "presence",
    params(("id" = String, Path)), request_body = SetPresence, security(("api_key" = [])),
    responses((status = 200, description = "Set", body = PresenceDoneDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn set_presence(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<SetPresence>,
) -> Result<Envelope<PresenceDoneDto>, ApiError> {
    let available = match body.presence.as_str() {
        "available" | "online" => true,
        "unavailable" | "offline" => false,
        other => {
            return Err(ApiError::validation(format!(
                "presence is available or unavailable, not '{other}'"
            )));
        }
    };
    session.set_presence(available).await?;
    Ok(envelope::ok(PresenceDoneDto {
        message: format!(
            "Presence set to {}",
            if available {
                "available"
            } else {
                "unavailable"
            }
        ),
    }))
}

/// Be told (as `presence.update` events) when a contact comes online or goes offline.
#[utoipa::path(post, path = "/api/sessions/{id}/presence/subscribe", tag = "presence",
    params(("id" = String, Path)), request_body = Subscribe, security(("api_key" = [])),
    responses((status = 200, description = "Subscribed", body = PresenceDoneDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn subscribe(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<Subscribe>,
) -> Result<Envelope<PresenceDoneDto>, ApiError> {
    let chat = parse_chat_id(&body.chat_id)?;
    if chat.jid().ends_with("@g.us") {
        return Err(ApiError::validation(
            "presence is subscribed per person, not per group",
        ));
    }
    session.subscribe_presence(&chat).await?;
    Ok(envelope::ok(PresenceDoneDto {
        message: format!("Subscribed to the presence of {}", chat.api()),
    }))
}

/// Show typing (`composing`), `recording` or `paused` in a chat.
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/state", tag = "presence",
    params(("id" = String, Path), ("chat_id" = String, Path)), request_body = SetChatState, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = PresenceDoneDto),
              (status = 400, description = "VALIDATION_ERROR, MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn chat_state(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Json(body): Json<SetChatState>,
) -> Result<Envelope<PresenceDoneDto>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let chat_state = ChatState::parse(&body.state).ok_or_else(|| {
        ApiError::validation(format!(
            "state is composing, recording or paused, not '{}'",
            body.state
        ))
    })?;
    session.send_chat_state(&chat, chat_state).await?;
    Ok(envelope::ok(PresenceDoneDto {
        message: format!("Chat state {} sent", chat_state.name()),
    }))
}

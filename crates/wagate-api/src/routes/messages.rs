//! Messages: send text, read a chat's history, and the tenant-wide feed
//! (every message of the caller's sessions after a cursor).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::history::{MessageDto, PhoneNumbers};
use crate::owned::OwnedSession;
use crate::send::{
    self, IdempotencyKey, SendMode, SendResultDto, SendText, parse_chat_id, wa_id_of,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-text", post(send_text))
        .route(
            "/sessions/{id}/chats/{chat_id}/messages",
            get(list_messages),
        )
        .route("/messages", get(message_feed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many messages (1–500, default 50), newest first.
    pub limit: Option<u32>,
    /// Only messages older than this message id.
    pub before: Option<String>,
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
    let (chat, job) = body.into_job()?;
    send::submit(&state, &session, chat, job, &mode, key).await
}

/// A chat's history, newest first.
#[utoipa::path(get, path = "/api/sessions/{id}/chats/{chat_id}/messages", tag = "messages",
    params(("id" = String, Path), ("chat_id" = String, Path), HistoryQuery), security(("api_key" = [])),
    responses((status = 200, description = "Messages", body = [MessageDto])))]
pub async fn list_messages(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Envelope<Vec<MessageDto>>, ApiError> {
    let id = record.id;
    let chat = parse_chat_id(&chat_id)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit is 1 to 500"));
    }
    let before = q.before.as_deref().map(wa_id_of);
    let records = state
        .store
        .list_messages(&id, &chat.jid(), limit, before)
        .await?;
    Ok(envelope::ok(
        PhoneNumbers::dtos(&state.store, &records).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct FeedQuery {
    /// Only messages after this `seq` (the last one a previous page had).
    pub after: Option<i64>,
    /// Only this session's messages.
    pub session_id: Option<String>,
    /// Only this chat's messages.
    pub chat_id: Option<String>,
    /// How many (1–500, default 100), oldest first.
    pub limit: Option<u32>,
}

/// Every message of the caller's sessions (the admin key: of every
/// session) after a cursor, oldest first: page with `after` = the last
/// item's `seq`.
#[utoipa::path(get, path = "/api/messages", tag = "messages",
    params(FeedQuery), security(("api_key" = [])),
    responses((status = 200, description = "Messages, oldest first", body = [MessageDto]),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn message_feed(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<FeedQuery>,
) -> Result<Envelope<Vec<MessageDto>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit is 1 to 500"));
    }
    if let Some(id) = &q.session_id {
        crate::owned::owned_session(&state, &principal, id).await?;
    }
    let chat = q.chat_id.as_deref().map(parse_chat_id).transpose()?;
    let records = state
        .store
        .message_feed(&wagate_store::app::MessageFeed {
            tenant_id: (!principal.is_admin).then(|| principal.tenant_id.clone()),
            session_id: q.session_id,
            chat_id: chat.map(|c| c.jid()),
            incoming_only: false,
            after: q.after.unwrap_or(0).max(0),
            limit,
        })
        .await?;
    Ok(envelope::ok(
        PhoneNumbers::dtos(&state.store, &records).await?,
    ))
}

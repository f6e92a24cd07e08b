//! The chat list: `GET /api/sessions/{id}/chats`, each chat with its newest
//! message and a display name (what the dashboard's message room lists).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::ChatId;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Query;
use crate::history::MessageDto;
use crate::owned::OwnedSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/sessions/{id}/chats", get(list_chats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    /// How many chats (1–500, default 100), most recently active first.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDto {
    /// `628…@c.us` or `…@g.us`.
    pub id: String,
    /// The newest push name a contact sent in this chat.
    pub name: Option<String>,
    pub is_group: bool,
    pub last_message: MessageDto,
}

/// The session's chats, most recently active first.
#[utoipa::path(get, path = "/api/sessions/{id}/chats", tag = "messages",
    params(("id" = String, Path), ChatsQuery), security(("api_key" = [])),
    responses((status = 200, description = "Chats", body = [ChatDto]),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_chats(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Query(q): Query<ChatsQuery>,
) -> Result<Envelope<Vec<ChatDto>>, ApiError> {
    let id = record.id;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit is 1 to 500"));
    }
    let chats = state.store.list_chats(&id, limit).await?;
    Ok(envelope::ok(
        chats
            .iter()
            .map(|(last, name)| ChatDto {
                id: ChatId::api_from_jid(&last.chat_id),
                name: name.clone(),
                is_group: last.chat_id.ends_with("@g.us"),
                last_message: MessageDto::from(last),
            })
            .collect(),
    ))
}

//! The chat list: `GET /api/sessions/{id}/chats`, each chat with its newest
//! message, a display name, its unread count and its settings (archived,
//! pinned, muted, marked unread — as WhatsApp's app state has them, whoever
//! changed them), a page at a time. Changing the settings and cleaning up
//! chats is `chat_actions`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{ChatId, iso_ms};
use wagate_engine::chats::muted_until_text;
use wagate_store::app::ChatPage;

use crate::envelope::{self, Envelope, Pagination};
use crate::error::ApiError;
use crate::extract::Query;
use crate::history::{MessageDto, PhoneNumbers};
use crate::owned::OwnedSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/sessions/{id}/chats", get(list_chats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    /// Chats per page (1–500, default 100).
    pub limit: Option<u32>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// `true`: only archived chats; `false`: only the others; omitted: all.
    pub archived: Option<bool>,
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
    /// Incoming messages not read yet.
    pub unread_count: i64,
    /// Marked unread by hand (here, on the phone or another device).
    pub marked_unread: bool,
    pub archived: bool,
    pub pinned: bool,
    /// Since when it is pinned (ISO 8601), when pinned.
    pub pinned_at: Option<String>,
    /// `null` (not muted), `"forever"`, or the ISO 8601 time the mute ends.
    #[schema(example = "forever")]
    pub muted_until: Option<String>,
    /// The time of the newest message (ISO 8601).
    pub last_activity: String,
    /// The ids of the labels the chat carries (WhatsApp Business).
    pub labels: Vec<String>,
    /// The phone number (`628…@c.us`) of a one-to-one chat named by LID
    /// (`…@lid`), when the session knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "628123456789@c.us")]
    pub chat_pn: Option<String>,
}

/// The session's chats: pinned ones first (most recently pinned first), then
/// the others by their newest message, newest first. Only chats with at
/// least one stored message are listed (a cleared or deleted chat comes back
/// with its next message).
#[utoipa::path(get, path = "/api/sessions/{id}/chats", tag = "messages",
    params(("id" = String, Path), ChatsQuery), security(("api_key" = [])),
    responses((status = 200, description = "A page of chats", body = [ChatDto]),
              (status = 400, description = "VALIDATION_ERROR (limit, page)"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_chats(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Query(q): Query<ChatsQuery>,
) -> Result<Envelope<Vec<ChatDto>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    let page = q.page.unwrap_or(1);
    if !(1..=500).contains(&limit) || !(1..=1_000_000).contains(&page) {
        return Err(ApiError::validation("limit is 1 to 500; page starts at 1"));
    }
    let (chats, total) = state
        .store
        .list_chat_page(
            &record.id,
            ChatPage {
                limit,
                offset: u64::from(page - 1) * u64::from(limit),
                archived: q.archived,
            },
        )
        .await?;
    let labels = state.store.chat_label_pairs(&record.id).await?;
    let pns = PhoneNumbers::of(&state.store, chats.iter().map(|c| &c.last)).await?;
    let out: Vec<ChatDto> = chats
        .iter()
        .map(|c| {
            let s = &c.settings;
            ChatDto {
                id: ChatId::api_from_jid(&c.last.chat_id),
                name: c.name.clone(),
                is_group: c.last.chat_id.ends_with("@g.us"),
                last_message: pns.dto(&c.last),
                unread_count: c.unread_count,
                marked_unread: s.marked_unread,
                archived: s.archived,
                pinned: s.pinned_at.is_some(),
                pinned_at: s.pinned_at.map(iso_ms),
                muted_until: muted_until_text(s.muted_until),
                last_activity: iso_ms(c.last.wa_timestamp * 1000),
                labels: labels
                    .iter()
                    .filter(|(chat, _)| *chat == c.last.chat_id)
                    .map(|(_, label)| label.clone())
                    .collect(),
                chat_pn: pns.pn(&c.last.session_id, &c.last.chat_id),
            }
        })
        .collect();
    Ok(envelope::paginated(
        out,
        Pagination::new(page, limit, total),
    ))
}

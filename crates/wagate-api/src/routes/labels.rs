//! Labels (WhatsApp Business): `GET/POST /api/sessions/{id}/labels`,
//! `PUT/DELETE …/labels/{labelId}`, the chats that carry a label
//! (`GET …/labels/{labelId}/chats`), a chat's labels
//! (`GET …/chats/{chatId}/labels`) and putting one on a chat or taking it
//! off (`POST/DELETE …/chats/{chatId}/labels/{labelId}`). Every change goes
//! through WhatsApp's app state, so the phone follows, and is announced as
//! `label.update`; the phone's own changes arrive the same way.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::label::{label_id, label_name};
use wagate_core::{ChatId, LabelColor};
use wagate_engine::labels::LabelSpec;
use wagate_store::app::LabelRecord;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::send::parse_chat_id;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/labels", get(list_labels).post(create_label))
        .route(
            "/sessions/{id}/labels/{label_id}",
            put(update_label).delete(delete_label),
        )
        .route("/sessions/{id}/labels/{label_id}/chats", get(label_chats))
        .route("/sessions/{id}/chats/{chat_id}/labels", get(chat_labels))
        .route(
            "/sessions/{id}/chats/{chat_id}/labels/{label_id}",
            post(add_chat_label).delete(remove_chat_label),
        )
}

/// A label of the session's account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelDto {
    #[schema(example = "1")]
    pub id: String,
    #[schema(example = "VIP")]
    pub name: String,
    /// An index into WhatsApp's palette (0–19).
    pub color: i64,
    /// The colour as WhatsApp's apps paint it.
    #[schema(example = "#ff9485")]
    pub color_hex: String,
    /// How many chats carry it.
    pub chats: i64,
}

impl From<&LabelRecord> for LabelDto {
    fn from(l: &LabelRecord) -> Self {
        LabelDto {
            id: l.id.clone(),
            name: l.name.clone(),
            color: l.color,
            color_hex: LabelColor::of_synced(l.color as i32).hex().to_string(),
            chats: l.chats,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewLabel {
    /// 1 to 100 characters.
    #[schema(example = "VIP")]
    pub name: String,
    /// A palette index, 0–19 (default 0).
    pub color: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LabelChange {
    pub name: Option<String>,
    pub color: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelDeletedDto {
    pub id: String,
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatLabelDto {
    pub chat_id: String,
    pub label_id: String,
    /// Whether the chat carries the label now.
    pub labeled: bool,
}

fn color_of(raw: Option<i64>) -> Result<Option<LabelColor>, ApiError> {
    raw.map(|c| {
        LabelColor::new(c)
            .ok_or_else(|| ApiError::validation(wagate_core::label::LabelError::Color.to_string()))
    })
    .transpose()
}

fn checked_id(raw: &str) -> Result<&str, ApiError> {
    label_id(raw).map_err(|e| ApiError::validation(e.to_string()))
}

/// The session's labels.
#[utoipa::path(get, path = "/api/sessions/{id}/labels", tag = "labels",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The labels", body = [LabelDto]),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_labels(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
) -> Result<Envelope<Vec<LabelDto>>, ApiError> {
    let labels = state.store.labels(&record.id).await?;
    Ok(envelope::ok(labels.iter().map(LabelDto::from).collect()))
}

/// Create a label (on the phone and every linked device too).
#[utoipa::path(post, path = "/api/sessions/{id}/labels", tag = "labels",
    params(("id" = String, Path)), request_body = NewLabel, security(("api_key" = [])),
    responses((status = 201, description = "The label", body = LabelDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn create_label(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<NewLabel>,
) -> Result<Envelope<LabelDto>, ApiError> {
    let spec = LabelSpec {
        name: label_name(&body.name).map_err(|e| ApiError::validation(e.to_string()))?,
        color: color_of(body.color)?.unwrap_or(LabelColor::of_synced(0)),
    };
    let label = session.create_label(&spec).await?;
    Ok(envelope::created(LabelDto::from(&label)))
}

/// Rename or recolour a label.
#[utoipa::path(put, path = "/api/sessions/{id}/labels/{label_id}", tag = "labels",
    params(("id" = String, Path), ("label_id" = String, Path)), request_body = LabelChange,
    security(("api_key" = [])),
    responses((status = 200, description = "The label", body = LabelDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, LABEL_NOT_FOUND")))]
pub async fn update_label(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw_label)): Path<(String, String)>,
    Json(body): Json<LabelChange>,
) -> Result<Envelope<LabelDto>, ApiError> {
    let id = checked_id(&raw_label)?;
    let name = body
        .name
        .as_deref()
        .map(label_name)
        .transpose()
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let color = color_of(body.color)?;
    if name.is_none() && color.is_none() {
        return Err(ApiError::validation("give name, color or both"));
    }
    let label = session.update_label(id, name, color).await?;
    Ok(envelope::ok(LabelDto::from(&label)))
}

/// Delete a label; the chats that carried it lose it.
#[utoipa::path(delete, path = "/api/sessions/{id}/labels/{label_id}", tag = "labels",
    params(("id" = String, Path), ("label_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted", body = LabelDeletedDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, LABEL_NOT_FOUND")))]
pub async fn delete_label(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw_label)): Path<(String, String)>,
) -> Result<Envelope<LabelDeletedDto>, ApiError> {
    let id = checked_id(&raw_label)?;
    session.delete_label(id).await?;
    Ok(envelope::ok(LabelDeletedDto {
        id: id.to_string(),
        deleted: true,
    }))
}

/// The chats that carry a label (`628…@c.us`, `…@g.us`).
#[utoipa::path(get, path = "/api/sessions/{id}/labels/{label_id}/chats", tag = "labels",
    params(("id" = String, Path), ("label_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Chat ids", body = [String]),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND, LABEL_NOT_FOUND")))]
pub async fn label_chats(
    State(state): State<AppState>,
    OwnedSession { session, record }: OwnedSession,
    Path((_id, raw_label)): Path<(String, String)>,
) -> Result<Envelope<Vec<String>>, ApiError> {
    let id = checked_id(&raw_label)?;
    session.known_label(id).await?;
    let chats = state.store.label_chats(&record.id, id).await?;
    Ok(envelope::ok(
        chats.iter().map(|c| ChatId::api_from_jid(c)).collect(),
    ))
}

/// The labels a chat carries.
#[utoipa::path(get, path = "/api/sessions/{id}/chats/{chat_id}/labels", tag = "labels",
    params(("id" = String, Path), ("chat_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The chat's labels", body = [LabelDto]),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn chat_labels(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Path((_id, chat_id)): Path<(String, String)>,
) -> Result<Envelope<Vec<LabelDto>>, ApiError> {
    let chat = parse_chat_id(&chat_id)?;
    let labels = state.store.chat_labels(&record.id, &chat.jid()).await?;
    let mine = labels.iter().map(LabelDto::from).collect();
    Ok(envelope::ok(mine))
}

/// Put a label on a chat.
#[utoipa::path(post, path = "/api/sessions/{id}/chats/{chat_id}/labels/{label_id}", tag = "labels",
    params(("id" = String, Path), ("chat_id" = String, Path), ("label_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, description = "Labelled", body = ChatLabelDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, LABEL_NOT_FOUND")))]
pub async fn add_chat_label(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id, raw_label)): Path<(String, String, String)>,
) -> Result<Envelope<ChatLabelDto>, ApiError> {
    set_chat_label(&session, &chat_id, &raw_label, true).await
}

/// Take a label off a chat.
#[utoipa::path(delete, path = "/api/sessions/{id}/chats/{chat_id}/labels/{label_id}", tag = "labels",
    params(("id" = String, Path), ("chat_id" = String, Path), ("label_id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, description = "Unlabelled", body = ChatLabelDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, LABEL_NOT_FOUND")))]
pub async fn remove_chat_label(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, chat_id, raw_label)): Path<(String, String, String)>,
) -> Result<Envelope<ChatLabelDto>, ApiError> {
    set_chat_label(&session, &chat_id, &raw_label, false).await
}

async fn set_chat_label(
    session: &wagate_engine::session::Session,
    chat_id: &str,
    raw_label: &str,
    labeled: bool,
) -> Result<Envelope<ChatLabelDto>, ApiError> {
    let chat = parse_chat_id(chat_id)?;
    let id = checked_id(raw_label)?;
    session.label_chat(id, &chat, labeled).await?;
    Ok(envelope::ok(ChatLabelDto {
        chat_id: chat.api(),
        label_id: id.to_string(),
        labeled,
    }))
}

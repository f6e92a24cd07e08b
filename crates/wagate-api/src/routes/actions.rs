//! Messages beyond text and media: send a location or a contact card,
//! react to a message, delete a message for everyone, edit a message.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::limits::{CONTACT_NAME_MAX_CHARS, TEXT_MAX_CHARS};
use wagate_core::{ErrorCode, MessageType, QueueStatus, iso_ms};

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::owned::owned_session;
use crate::send::{self, IdempotencyKey, SendMode};
use crate::send::{SendResultDto, parse_chat_id, wa_id_of};
use crate::state::AppState;
use wagate_engine::queue::SendJob;

/// Longest location description or address.
const LOCATION_TEXT_MAX_CHARS: usize = 1_024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-location", post(send_location))
        .route("/sessions/{id}/messages/send-contact", post(send_contact))
        .route("/sessions/{id}/messages/react", post(react))
        .route("/sessions/{id}/messages/revoke", post(revoke))
        .route("/sessions/{id}/messages/edit", post(edit))
        .route(
            "/sessions/{id}/messages/{message_id}",
            delete(delete_message),
        )
}

/// Only `quotedMessageId` applies here.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteOptionsDto {
    /// A message id from this session's history to reply to.
    pub quoted_message_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendLocation {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    #[schema(example = -6.2088)]
    pub latitude: f64,
    #[schema(example = 106.8456)]
    pub longitude: f64,
    #[schema(example = "Jakarta, Indonesia")]
    pub description: Option<String>,
    pub address: Option<String>,
    #[serde(default)]
    pub options: QuoteOptionsDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactDto {
    #[schema(example = "John Doe")]
    pub name: String,
    /// Digits with the country code (a leading `+`, spaces and dashes are ignored).
    #[schema(example = "628987654321")]
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendContact {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    pub contact: ContactDto,
    #[serde(default)]
    pub options: QuoteOptionsDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct React {
    #[schema(example = "false_628123456789@c.us_3EB0ABC123")]
    pub message_id: String,
    /// One emoji; an empty string removes the reaction.
    #[schema(example = "👍")]
    pub emoji: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revoke {
    #[schema(example = "true_628123456789@c.us_3EB0ABC123")]
    pub message_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Edit {
    #[schema(example = "true_628123456789@c.us_3EB0ABC123")]
    pub message_id: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageChangeDto {
    pub message_id: String,
    /// `revoked` or `edited`.
    pub status: &'static str,
    pub timestamp: String,
}

fn sent(s: wagate_engine::session::SentMessage) -> Envelope<SendResultDto> {
    envelope::ok(SendResultDto {
        message_id: wagate_core::ids::message_id(true, &s.chat.api(), &s.wa_id),
        status: QueueStatus::Sent.to_string(),
        timestamp: Some(iso_ms(s.timestamp_ms)),
        queue_id: None,
        status_url: None,
    })
}

fn optional_text(v: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(s) = &v
        && s.chars().count() > LOCATION_TEXT_MAX_CHARS
    {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            format!("{what} exceeds {LOCATION_TEXT_MAX_CHARS} characters"),
        ));
    }
    Ok(v)
}

/// Send a location pin.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-location", tag = "messages",
    params(("id" = String, Path)), request_body = SendLocation, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "VALIDATION_ERROR (coordinates), MESSAGE_INVALID_CHAT_ID, MESSAGE_QUOTED_NOT_FOUND, SESSION_NOT_READY")))]
pub async fn send_location(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(mode): Query<SendMode>,
    key: IdempotencyKey,
    Json(body): Json<SendLocation>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let chat = parse_chat_id(&body.chat_id)?;
    if !body.latitude.is_finite() || !(-90.0..=90.0).contains(&body.latitude) {
        return Err(ApiError::validation("latitude must be between -90 and 90"));
    }
    if !body.longitude.is_finite() || !(-180.0..=180.0).contains(&body.longitude) {
        return Err(ApiError::validation(
            "longitude must be between -180 and 180",
        ));
    }
    let description = optional_text(body.description, "description")?;
    let address = optional_text(body.address, "address")?;
    let job = SendJob::Location {
        latitude: body.latitude,
        longitude: body.longitude,
        description,
        address,
        quoted: body
            .options
            .quoted_message_id
            .as_deref()
            .map(|q| wa_id_of(q).to_string()),
    };
    send::submit(&state, &session, chat, job, &mode, key).await
}

/// Send a contact card (vCard).
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-contact", tag = "messages",
    params(("id" = String, Path)), request_body = SendContact, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "VALIDATION_ERROR (name, phone), MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn send_contact(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(mode): Query<SendMode>,
    key: IdempotencyKey,
    Json(body): Json<SendContact>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let chat = parse_chat_id(&body.chat_id)?;
    let name = body.contact.name.trim();
    if name.is_empty() || name.chars().count() > CONTACT_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "contact.name must be 1 to {CONTACT_NAME_MAX_CHARS} characters"
        )));
    }
    let phone: String = body
        .contact
        .phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    if !(5..=20).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "contact.phone must be 5 to 20 digits with the country code",
        ));
    }
    let job = SendJob::Contact {
        name: name.to_string(),
        phone,
        quoted: body
            .options
            .quoted_message_id
            .as_deref()
            .map(|q| wa_id_of(q).to_string()),
    };
    send::submit(&state, &session, chat, job, &mode, key).await
}

/// React to a message in this session's history (an empty emoji removes it).
#[utoipa::path(post, path = "/api/sessions/{id}/messages/react", tag = "messages",
    params(("id" = String, Path)), request_body = React, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 404, description = "MESSAGE_NOT_FOUND, SESSION_NOT_FOUND")))]
pub async fn react(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<React>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    if body.emoji.chars().count() > 16 {
        return Err(ApiError::validation("emoji must be a single emoji"));
    }
    let s = session
        .react(wa_id_of(&body.message_id), &body.emoji)
        .await?;
    Ok(sent(s))
}

async fn do_revoke(
    state: &AppState,
    principal: &wagate_store::app::Principal,
    id: &str,
    message_id: &str,
) -> Result<Envelope<MessageChangeDto>, ApiError> {
    let (_, session) = owned_session(state, principal, id).await?;
    session.revoke(wa_id_of(message_id)).await?;
    Ok(envelope::ok(MessageChangeDto {
        message_id: message_id.to_string(),
        status: MessageType::Revoked.as_str(),
        timestamp: iso_ms(wagate_core::now_ms()),
    }))
}

/// Delete a message for everyone (your own; others' in groups you admin).
#[utoipa::path(post, path = "/api/sessions/{id}/messages/revoke", tag = "messages",
    params(("id" = String, Path)), request_body = Revoke, security(("api_key" = [])),
    responses((status = 200, description = "Revoked", body = MessageChangeDto),
              (status = 403, description = "FORBIDDEN (someone else's message outside a group)"),
              (status = 404, description = "MESSAGE_NOT_FOUND")))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Json(body): Json<Revoke>,
) -> Result<Envelope<MessageChangeDto>, ApiError> {
    do_revoke(&state, &principal, &id, &body.message_id).await
}

/// Delete a message for everyone (same as `POST …/messages/revoke`).
#[utoipa::path(delete, path = "/api/sessions/{id}/messages/{message_id}", tag = "messages",
    params(("id" = String, Path), ("message_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Revoked", body = MessageChangeDto),
              (status = 403, description = "FORBIDDEN"),
              (status = 404, description = "MESSAGE_NOT_FOUND")))]
pub async fn delete_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Envelope<MessageChangeDto>, ApiError> {
    do_revoke(&state, &principal, &id, &message_id).await
}

/// Edit one of your own text messages.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/edit", tag = "messages",
    params(("id" = String, Path)), request_body = Edit, security(("api_key" = [])),
    responses((status = 200, description = "Edited", body = MessageChangeDto),
              (status = 400, description = "VALIDATION_ERROR (not a text message), MESSAGE_TEXT_TOO_LONG"),
              (status = 403, description = "FORBIDDEN (someone else's message)"),
              (status = 404, description = "MESSAGE_NOT_FOUND")))]
pub async fn edit(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<Edit>,
) -> Result<Envelope<MessageChangeDto>, ApiError> {
    if body.text.is_empty() {
        return Err(ApiError::validation("text must not be empty"));
    }
    if body.text.chars().count() > TEXT_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            format!("text exceeds {TEXT_MAX_CHARS} characters"),
        ));
    }
    session.edit(wa_id_of(&body.message_id), &body.text).await?;
    Ok(envelope::ok(MessageChangeDto {
        message_id: body.message_id,
        status: "edited",
        timestamp: iso_ms(wagate_core::now_ms()),
    }))
}

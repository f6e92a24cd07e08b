//! Contacts: whether phone numbers are on WhatsApp (one or a batch), the
//! contact list, blocking, profile pictures (a contact's, and the
//! session's own).

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::{ChatId, ErrorCode};
use wagate_engine::contacts::{MAX_BATCH, NumberCheck, phone_digits};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/contacts/check/{phone}", get(check_one))
        .route("/sessions/{id}/contacts/check", post(check_many))
        .route("/sessions/{id}/contacts", get(list_contacts))
        .route("/sessions/{id}/contacts/blocked", get(list_blocked))
        .route("/sessions/{id}/contacts/{contact_id}/block", post(block))
        .route(
            "/sessions/{id}/contacts/{contact_id}/unblock",
            post(unblock),
        )
        .route(
            "/sessions/{id}/contacts/{contact_id}/profile-picture",
            get(profile_picture),
        )
        .route(
            "/sessions/{id}/profile-picture",
            get(own_profile_picture)
                .put(set_own_profile_picture)
                .delete(remove_own_profile_picture),
        )
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckDto {
    pub exists: bool,
    /// `628123456789@c.us` when the number is on WhatsApp.
    #[schema(example = "628123456789@c.us")]
    pub chat_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckDto {
    /// The number as it was sent.
    pub phone: String,
    pub exists: bool,
    pub chat_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckMany {
    /// Phone numbers with the country code (at most 50).
    #[schema(example = json!(["628123456789", "+62 812-0000-0000"]))]
    pub phones: Vec<String>,
}

fn digits(raw: &str) -> Result<String, ApiError> {
    phone_digits(raw).ok_or_else(|| {
        ApiError::validation(format!(
            "'{raw}' is not a phone number: use digits with the country code"
        ))
    })
}

/// Whether a phone number is on WhatsApp.
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/check/{phone}", tag = "contacts",
    params(("id" = String, Path), ("phone" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The answer", body = CheckDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn check_one(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, phone)): Path<(String, String)>,
) -> Result<Envelope<CheckDto>, ApiError> {
    let phone = digits(&phone)?;
    let answer = session.check_numbers(std::slice::from_ref(&phone)).await?;
    let a = answer.into_iter().next().unwrap_or(NumberCheck {
        phone,
        exists: false,
        chat_id: None,
    });
    Ok(envelope::ok(CheckDto {
        exists: a.exists,
        chat_id: a.chat_id,
    }))
}

/// Whether each of several phone numbers is on WhatsApp (at most 50).
#[utoipa::path(post, path = "/api/sessions/{id}/contacts/check", tag = "contacts",
    params(("id" = String, Path)), request_body = CheckMany, security(("api_key" = [])),
    responses((status = 200, description = "One answer per number, in order", body = [BatchCheckDto]),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn check_many(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<CheckMany>,
) -> Result<Envelope<Vec<BatchCheckDto>>, ApiError> {
    if body.phones.is_empty() || body.phones.len() > MAX_BATCH {
        return Err(ApiError::validation(format!(
            "phones must hold 1 to {MAX_BATCH} numbers"
        )));
    }
    let parsed = body
        .phones
        .iter()
        .map(|p| digits(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut unique = parsed.clone();
    unique.sort();
    unique.dedup();
    let answers = session.check_numbers(&unique).await?;
    Ok(envelope::ok(
        body.phones
            .iter()
            .zip(parsed.iter())
            .map(|(raw, digits)| {
                let a = answers.iter().find(|a| a.phone == *digits);
                BatchCheckDto {
                    phone: raw.clone(),
                    exists: a.is_some_and(|a| a.exists),
                    chat_id: a.and_then(|a| a.chat_id.clone()),
                }
            })
            .collect(),
    ))
}

/// A contact id as the API accepts it: a person (`628…@c.us`, digits,
/// `…@s.whatsapp.net`, `…@lid`) or, where it makes sense, a group.
fn contact_id(raw: &str) -> Result<ChatId, ApiError> {
    ChatId::parse(raw).map_err(|e| ApiError::new(ErrorCode::MessageInvalidChatId, e.0))
}

fn person_id(raw: &str) -> Result<ChatId, ApiError> {
    let chat = contact_id(raw)?;
    if chat.is_group() {
        return Err(ApiError::new(
            ErrorCode::MessageInvalidChatId,
            format!("{raw} is a group; give a contact (628…@c.us)"),
        ));
    }
    Ok(chat)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactDto {
    #[schema(example = "628123456789@c.us")]
    pub id: String,
    /// The address-book name when known, else the push name.
    pub name: Option<String>,
    /// The name the person last sent with a message.
    pub push_name: Option<String>,
    /// In the phone's address book (not known to a linked device without
    /// app-state sync: always false).
    pub is_my_contact: bool,
    pub is_blocked: bool,
}

/// The contacts this session knows: everyone it exchanged a one-to-one
/// message with, everyone who wrote in its groups, and its blocked
/// contacts; most recently heard from first.
#[utoipa::path(get, path = "/api/sessions/{id}/contacts", tag = "contacts",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The contacts", body = [ContactDto]),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_contacts(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<Vec<ContactDto>>, ApiError> {
    let contacts = session.contacts().await?;
    Ok(envelope::ok(
        contacts
            .into_iter()
            .map(|c| ContactDto {
                id: c.chat.api(),
                name: c.name,
                push_name: c.push_name,
                is_my_contact: c.is_my_contact,
                is_blocked: c.is_blocked,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockedDto {
    #[schema(example = "628123456789@c.us")]
    pub id: String,
    /// When it was blocked (unix seconds), when WhatsApp says.
    pub blocked_at: Option<i64>,
}

/// The contacts this session blocked, as WhatsApp has them now.
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/blocked", tag = "contacts",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The blocklist", body = [BlockedDto]),
              (status = 400, description = "SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_blocked(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<Vec<BlockedDto>>, ApiError> {
    let list = session.blocklist().await?;
    Ok(envelope::ok(
        list.into_iter()
            .map(|b| BlockedDto {
                id: b.chat.api(),
                blocked_at: b.since,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockStateDto {
    #[schema(example = "628123456789@c.us")]
    pub id: String,
    pub is_blocked: bool,
}

/// Block a contact: their messages stop reaching this session, and sends
/// to them answer `MESSAGE_BLOCKED_CONTACT`.
#[utoipa::path(post, path = "/api/sessions/{id}/contacts/{contactId}/block", tag = "contacts",
    params(("id" = String, Path), ("contactId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Blocked", body = BlockStateDto),
              (status = 400, description = "CONTACT_BLOCKED, MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, CONTACT_NOT_FOUND")))]
pub async fn block(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, contact)): Path<(String, String)>,
) -> Result<Envelope<BlockStateDto>, ApiError> {
    let chat = person_id(&contact)?;
    session.block(&chat).await?;
    Ok(envelope::ok(BlockStateDto {
        id: chat.api(),
        is_blocked: true,
    }))
}

/// Unblock a contact.
#[utoipa::path(post, path = "/api/sessions/{id}/contacts/{contactId}/unblock", tag = "contacts",
    params(("id" = String, Path), ("contactId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Unblocked", body = BlockStateDto),
              (status = 400, description = "CONTACT_NOT_BLOCKED, MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn unblock(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, contact)): Path<(String, String)>,
) -> Result<Envelope<BlockStateDto>, ApiError> {
    let chat = person_id(&contact)?;
    session.unblock(&chat).await?;
    Ok(envelope::ok(BlockStateDto {
        id: chat.api(),
        is_blocked: false,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PictureDto {
    /// The full-size picture on WhatsApp's picture server; null when there
    /// is none or it is hidden from this session.
    #[schema(example = "https://pps.whatsapp.net/...")]
    pub url: Option<String>,
}

/// A contact's (or a group's) profile picture URL.
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/{contactId}/profile-picture", tag = "contacts",
    params(("id" = String, Path), ("contactId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The picture's URL (null when none or hidden)", body = PictureDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, CONTACT_NOT_FOUND")))]
pub async fn profile_picture(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, contact)): Path<(String, String)>,
) -> Result<Envelope<PictureDto>, ApiError> {
    let chat = contact_id(&contact)?;
    let url = session.profile_picture_url(&chat).await?;
    Ok(envelope::ok(PictureDto { url }))
}

/// This session's own profile picture URL.
#[utoipa::path(get, path = "/api/sessions/{id}/profile-picture", tag = "contacts",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The picture's URL (null when none)", body = PictureDto),
              (status = 400, description = "SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn own_profile_picture(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<PictureDto>, ApiError> {
    let url = session.own_profile_picture_url().await?;
    Ok(envelope::ok(PictureDto { url }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PictureBody {
    pub image: PictureSource,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PictureSource {
    /// The JPEG, base64 or as a `data:image/jpeg;base64,…` URL.
    pub base64: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PictureSetDto {
    /// WhatsApp's id of the new picture.
    pub id: String,
}

/// Set this session's profile picture: the JPEG as the raw body
/// (`Content-Type: image/jpeg`), or JSON `{"image": {"base64": "…"}}`.
/// WhatsApp shows it at 640×640; crop before sending.
#[utoipa::path(put, path = "/api/sessions/{id}/profile-picture", tag = "contacts",
    params(("id" = String, Path)), request_body(content = PictureBody,
        description = "JSON with base64, or the raw JPEG with Content-Type image/jpeg"),
    security(("api_key" = [])),
    responses((status = 200, description = "Set", body = PictureSetDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT (not a JPEG), VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn set_own_profile_picture(
    OwnedSession { session, .. }: OwnedSession,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Envelope<PictureSetDto>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let jpeg = if is_json {
        let parsed: PictureBody = serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?;
        let b64 = parsed.image.base64.trim();
        let data = match b64.strip_prefix("data:") {
            Some(rest) => rest.split_once(',').map(|(_, d)| d).ok_or_else(|| {
                ApiError::validation("a data URL must look like data:<type>;base64,<data>")
            })?,
            None => b64,
        };
        let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| ApiError::validation(format!("invalid base64: {e}")))?
    } else {
        body.to_vec()
    };
    if jpeg.is_empty() {
        return Err(ApiError::validation(
            "no picture: send the JPEG as the body, or {\"image\": {\"base64\": …}}",
        ));
    }
    let id = session.set_profile_picture(jpeg).await?;
    Ok(envelope::ok(PictureSetDto { id }))
}

/// Remove this session's profile picture.
#[utoipa::path(delete, path = "/api/sessions/{id}/profile-picture", tag = "contacts",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Removed"),
              (status = 400, description = "SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn remove_own_profile_picture(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    session.remove_profile_picture().await?;
    Ok(envelope::message("profile picture removed"))
}

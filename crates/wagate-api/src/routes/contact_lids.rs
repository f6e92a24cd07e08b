//! A contact's LID and phone number, each from the other.
//!
//! WhatsApp names more and more people by a LID (`…@lid`) instead of their
//! phone number: messages from them arrive from the LID. These routes map
//! one to the other with what the session's engine learned, asking
//! WhatsApp when it learned nothing yet. Both accept either form and
//! answer the whole pair; a person WhatsApp reveals no pair for is 404
//! `CONTACT_LID_NOT_FOUND`.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;
use wagate_core::{ChatId, ErrorCode};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::owned::OwnedSession;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/contacts/{contact_id}/lid", get(lid_of))
        .route("/sessions/{id}/contacts/{contact_id}/pn", get(pn_of))
}

/// A person's two addresses.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LidPnDto {
    #[schema(example = "123456789012345@lid")]
    pub lid: String,
    /// The phone number, as a chat id.
    #[schema(example = "628123456789@c.us")]
    pub pn: String,
}

/// A person (not a group), by phone number or LID.
fn person(raw: &str) -> Result<ChatId, ApiError> {
    let chat =
        ChatId::parse(raw).map_err(|e| ApiError::new(ErrorCode::MessageInvalidChatId, e.0))?;
    if chat.is_group() {
        return Err(ApiError::new(
            ErrorCode::MessageInvalidChatId,
            format!("{raw} is a group; give a contact (628…@c.us or …@lid)"),
        ));
    }
    Ok(chat)
}

async fn pair(session: &wagate_engine::Session, raw: &str) -> Result<LidPnDto, ApiError> {
    let pair = session.lid_pn(&person(raw)?).await?;
    Ok(LidPnDto {
        lid: pair.lid_id(),
        pn: pair.pn_id(),
    })
}

/// A contact's LID, from its phone number (or LID).
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/{contactId}/lid", tag = "contacts",
    params(("id" = String, Path), ("contactId" = String, Path, description = "628…@c.us, digits, or …@lid")),
    security(("api_key" = [])),
    responses((status = 200, description = "The contact's LID and phone number", body = LidPnDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, CONTACT_LID_NOT_FOUND")))]
pub async fn lid_of(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, contact)): Path<(String, String)>,
) -> Result<Envelope<LidPnDto>, ApiError> {
    Ok(envelope::ok(pair(&session, &contact).await?))
}

/// A contact's phone number, from its LID (or phone number).
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/{contactId}/pn", tag = "contacts",
    params(("id" = String, Path), ("contactId" = String, Path, description = "…@lid, or 628…@c.us")),
    security(("api_key" = [])),
    responses((status = 200, description = "The contact's LID and phone number", body = LidPnDto),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND, CONTACT_LID_NOT_FOUND")))]
pub async fn pn_of(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, contact)): Path<(String, String)>,
) -> Result<Envelope<LidPnDto>, ApiError> {
    Ok(envelope::ok(pair(&session, &contact).await?))
}

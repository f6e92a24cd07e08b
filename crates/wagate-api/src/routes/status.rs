//! Status updates ("stories"): post a text status (background colour and
//! font), an image or a video status, to the session's contacts or to a
//! given list of people, and revoke one. Statuses from others arrive as
//! `status.received` events when the session's settings do not ignore them
//! (`settings.ignore.status`, ignored by default); see
//! `wagate_engine::status` for who a status goes to.
//!
//! A status is posted at once (not through the send queue): the answer
//! names its message id and the people it went to. Files are given like
//! on the send-image routes (a `url` the gateway downloads, or base64), as
//! JSON; the body is bounded by the type's media limit.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::status_post::{self, STATUS_DEFAULT_BACKGROUND, StatusPostError};
use wagate_core::{ChatId, ErrorCode, iso_ms};
use wagate_engine::EngineError;
use wagate_engine::media::{MediaKind, OutgoingMedia};
use wagate_engine::status::{PostedStatus, StatusContent, StatusPost};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::send::{MediaSourceDto, check_caption, client_file, parse_chat_id, too_large, wa_id_of};
use crate::state::AppState;

/// Room for the JSON around a base64 file.
const JSON_OVERHEAD: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/status/image", post(post_image))
        .route("/sessions/{id}/status/video", post(post_video))
        // Bodies here are bounded per media type in the handlers.
        .layer(DefaultBodyLimit::disable())
        .route("/sessions/{id}/status/text", post(post_text))
        .route("/sessions/{id}/status/{message_id}", delete(revoke))
}

/// A text status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TextStatus {
    /// 1 to 700 characters.
    #[schema(example = "Open until 6 pm today")]
    pub text: String,
    /// `#RRGGBB` or `#AARRGGBB` (default `#1E6E4F`).
    #[schema(example = "#1E6E4F")]
    pub background_color: Option<String>,
    /// One of WhatsApp's fonts by number: 0 system, 1 system text, 2 script,
    /// 6 system bold, 7 morning breeze, 8 calistoga, 9 exo 2, 10 courier
    /// prime (default 0).
    #[schema(example = 0)]
    pub font: Option<i64>,
    /// Who sees it (at most 1000 people, `628…@c.us`); absent: the
    /// session's contacts (everyone it exchanged messages with).
    #[schema(example = json!(["628123456789@c.us"]))]
    pub contacts: Option<Vec<String>>,
}

/// An image or video status: the file in the field named after the route
/// (`image` or `video`), as a URL or base64.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaStatus {
    pub image: Option<MediaSourceDto>,
    pub video: Option<MediaSourceDto>,
    /// At most 1024 characters.
    #[schema(example = "New in store")]
    pub caption: Option<String>,
    /// Who sees it (at most 1000 people); absent: the session's contacts.
    #[schema(example = json!(["628123456789@c.us"]))]
    pub contacts: Option<Vec<String>>,
}

/// A status posted or revoked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResultDto {
    /// The status's message id (`true_status@broadcast_<id>`): revoke it
    /// with `DELETE …/status/{messageId}`.
    #[schema(example = "true_status@broadcast_3EB0ABC123")]
    pub message_id: String,
    /// WhatsApp's id of the status.
    #[schema(example = "3EB0ABC123")]
    pub id: String,
    /// The people it went to (those WhatsApp knows).
    #[schema(example = json!(["628123456789@c.us"]))]
    pub recipients: Vec<String>,
    pub timestamp: String,
}

impl From<PostedStatus> for StatusResultDto {
    fn from(p: PostedStatus) -> Self {
        StatusResultDto {
            message_id: p.message_id,
            id: p.wa_id,
            recipients: p.recipients.iter().map(ChatId::api).collect(),
            timestamp: iso_ms(p.timestamp_ms),
        }
    }
}

fn invalid(e: StatusPostError) -> ApiError {
    ApiError::validation(e.to_string())
}

/// An explicit audience: at most `STATUS_RECIPIENTS_MAX` people.
fn audience(contacts: Option<Vec<String>>) -> Result<Option<Vec<ChatId>>, ApiError> {
    let Some(list) = contacts else {
        return Ok(None);
    };
    status_post::check_recipient_count(list.len()).map_err(invalid)?;
    if list.is_empty() {
        return Err(ApiError::validation(
            "contacts must name at least one person (leave it out for the session's contacts)",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for raw in &list {
        let chat = parse_chat_id(raw)?;
        if chat.is_group() {
            return Err(ApiError::new(
                ErrorCode::MessageInvalidChatId,
                format!("{raw}: a status goes to people, not groups"),
            ));
        }
        out.push(chat);
    }
    Ok(Some(out))
}

/// Post a text status on a coloured background.
#[utoipa::path(post, path = "/api/sessions/{id}/status/text", tag = "status",
    params(("id" = String, Path)), request_body = TextStatus, security(("api_key" = [])),
    responses((status = 200, description = "Posted", body = StatusResultDto),
              (status = 400, description = "VALIDATION_ERROR (empty or long text, bad backgroundColor, unknown font, too many or no contacts), MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn post_text(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<TextStatus>,
) -> Result<Envelope<StatusResultDto>, ApiError> {
    status_post::check_text(&body.text).map_err(invalid)?;
    let background_argb = match body.background_color.as_deref() {
        Some(c) => status_post::parse_background(c).map_err(invalid)?,
        None => STATUS_DEFAULT_BACKGROUND,
    };
    let font = status_post::check_font(body.font.unwrap_or(0)).map_err(invalid)?;
    let contacts = audience(body.contacts)?;
    let posted = session
        .post_status(StatusPost {
            content: StatusContent::Text {
                text: body.text,
                background_argb,
                font,
            },
            contacts,
        })
        .await?;
    Ok(envelope::ok(posted.into()))
}

/// Post an image status (JPEG, PNG, WebP, GIF) with an optional caption.
#[utoipa::path(post, path = "/api/sessions/{id}/status/image", tag = "status",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = MediaStatus, description = "JSON with `image: {url|base64}`", content_type = "application/json"),
    responses((status = 200, description = "Posted", body = StatusResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, MESSAGE_TEXT_TOO_LONG, MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn post_image(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<StatusResultDto>, ApiError> {
    post_media(state, owned, req, MediaKind::Image).await
}

/// Post a video status (MP4, 3GP, AVI, MKV) with an optional caption.
#[utoipa::path(post, path = "/api/sessions/{id}/status/video", tag = "status",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = MediaStatus, description = "JSON with `video: {url|base64}`", content_type = "application/json"),
    responses((status = 200, description = "Posted", body = StatusResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, MESSAGE_TEXT_TOO_LONG, MESSAGE_INVALID_CHAT_ID, VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn post_video(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<StatusResultDto>, ApiError> {
    post_media(state, owned, req, MediaKind::Video).await
}

async fn post_media(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    req: Request,
    kind: MediaKind,
) -> Result<Envelope<StatusResultDto>, ApiError> {
    let config = state.manager.config();
    let limit = config.media.limit(kind);
    // Base64 is 4/3 of the bytes; a body beyond that is a file beyond the limit.
    let cap = (limit as usize).saturating_mul(4) / 3 + JSON_OVERHEAD;
    let raw = axum::body::to_bytes(req.into_body(), cap)
        .await
        .map_err(|_| too_large(kind, limit))?;
    let mut body: MediaStatus = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?;
    check_caption(body.caption.as_deref())?;
    let contacts = audience(body.contacts.take())?;
    let dto = match kind {
        MediaKind::Image => body.image.take(),
        _ => body.video.take(),
    };
    let file = client_file(dto, kind, limit)?;
    let bytes = file
        .source
        .read(&config.media, &config.outbound, kind)
        .await
        .map_err(EngineError::from)?;
    let media = OutgoingMedia {
        kind,
        bytes,
        declared_mimetype: file.declared_mimetype,
        caption: body.caption,
        filename: None,
        ptt: false,
        gif_playback: false,
    };
    // Dropped before the status is kept, the staged file deletes itself.
    let staged = config.media.stage(&session.id, media).await?;
    let posted = session
        .post_status(StatusPost {
            content: StatusContent::Media(staged),
            contacts,
        })
        .await?;
    Ok(envelope::ok(posted.into()))
}

/// Revoke (delete for everyone) a status this session posted.
#[utoipa::path(delete, path = "/api/sessions/{id}/status/{message_id}", tag = "status",
    params(("id" = String, Path), ("message_id" = String, Path, description = "The status's messageId (or WhatsApp id)")),
    security(("api_key" = [])),
    responses((status = 200, description = "Revoked", body = StatusResultDto),
              (status = 404, description = "NOT_FOUND (no such status of this session), SESSION_NOT_FOUND")))]
pub async fn revoke(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, message_id)): Path<(String, String)>,
) -> Result<Envelope<StatusResultDto>, ApiError> {
    let revoked = session.revoke_status(wa_id_of(&message_id)).await?;
    Ok(envelope::ok(revoked.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::status_post::STATUS_RECIPIENTS_MAX;

    #[test]
    fn audiences_are_bounded_and_people_only() {
        assert!(audience(None).unwrap().is_none());
        assert!(audience(Some(vec![])).is_err());
        let many = vec!["628123456789@c.us".to_string(); STATUS_RECIPIENTS_MAX + 1];
        assert!(audience(Some(many)).is_err());
        assert!(audience(Some(vec!["120363025246125888@g.us".into()])).is_err());
        assert!(audience(Some(vec!["not a jid".into()])).is_err());
        let one = audience(Some(vec!["628123456789@c.us".into()])).unwrap();
        assert_eq!(one.unwrap().len(), 1);
    }
}

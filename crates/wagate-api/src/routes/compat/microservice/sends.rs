//! Seed 003's sends: text, and image, video, document and audio as a URL
//! or base64, translated onto the native send routes.

use super::*;
use crate::send::{self, MediaSourceDto, SendMedia, SendText, UrlFetch};
use wagate_core::MessageKind;

fn sent(result: crate::send::SendResultDto) -> axum::Json<Value> {
    let wa_id = wagate_core::ids::parse_message_id(&result.message_id)
        .2
        .to_string();
    ok(json!({ "message_id": wa_id, "status": result.status }))
}

/// Send a text (immediate delivery: it skips the drip pace).
#[utoipa::path(post, path = "/compat/microservice/session/{id}/send", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")),
    request_body = MsSendText, security(("api_key" = [])),
    responses((status = 200, description = "`{success, message_id, status}`"),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn send(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
    key: IdempotencyKey,
    Json(body): Json<MsSendText>,
) -> Result<axum::Json<Value>, ApiError> {
    let native = SendText {
        chat_id: body.to.trim().trim_start_matches('+').to_string(),
        text: body.message,
        options: Default::default(),
    };
    let (chat, job) = native.into_job()?;
    let mode = SendMode::default();
    let result = send::submit(&state, &owned.session, chat, job, &mode, key)
        .await?
        .into_data();
    Ok(sent(result))
}

/// The native media send request, from the microservice's.
fn media_request(kind: MediaKind, body: MsSendMedia) -> Result<SendMedia, ApiError> {
    let (field, file) = match kind {
        MediaKind::Image => (MessageKind::Image.as_str(), body.image),
        MediaKind::Video => (MessageKind::Video.as_str(), body.video),
        MediaKind::Document => (MessageKind::Document.as_str(), body.document),
        _ => (MessageKind::Audio.as_str(), body.audio),
    };
    let file = file.filter(|f| !f.trim().is_empty()).ok_or_else(|| {
        ApiError::validation(format!("{field} is required: a URL, a data URL or base64"))
    })?;
    let source = if file.starts_with("http://") || file.starts_with("https://") {
        MediaSourceDto {
            url: Some(file),
            ..Default::default()
        }
    } else {
        MediaSourceDto {
            base64: Some(file),
            ..Default::default()
        }
    };
    let mut native = SendMedia {
        chat_id: body.to.trim().trim_start_matches('+').to_string(),
        caption: body.caption,
        filename: body.filename,
        ptt: kind == MediaKind::Audio && body.ptt,
        ..Default::default()
    };
    match kind {
        MediaKind::Image => native.image = Some(source),
        MediaKind::Video => native.video = Some(source),
        MediaKind::Document => native.document = Some(source),
        _ => native.audio = Some(source),
    }
    Ok(native)
}

async fn send_media(
    state: AppState,
    owned: OwnedSession,
    key: IdempotencyKey,
    body: MsSendMedia,
    kind: MediaKind,
) -> Result<axum::Json<Value>, ApiError> {
    let mut native = media_request(kind, body)?;
    let file = native.take_file(kind, state.manager.config().media.limit(kind))?;
    let session = owned.session;
    let (chat, job) = native
        .into_job(&state, &session.id, kind, file, UrlFetch::Now)
        .await?;
    let result = send::submit(&state, &session, chat, job, &SendMode::default(), key)
        .await?
        .into_data();
    Ok(sent(result))
}

macro_rules! media_route {
    ($name:ident, $kind:expr, $path:literal $(,)?) => {
        /// Send a file of the route's kind (`{to, <kind>: URL, data URL or base64, caption}`).
        #[utoipa::path(post, path = $path, tag = "compat-microservice",
            params(("id" = String, Path, description = "The client's session id")),
            request_body = MsSendMedia, security(("api_key" = [])),
            responses((status = 200, description = "`{success, message_id, status}`"),
                      (status = 400, description = "VALIDATION_ERROR, MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, SESSION_NOT_READY"),
                      (status = 404, description = "SESSION_NOT_FOUND"),
                      (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
        pub async fn $name(
            State(state): State<AppState>,
            ClientSession(owned): ClientSession,
            key: IdempotencyKey,
            Json(body): Json<MsSendMedia>,
        ) -> Result<axum::Json<Value>, ApiError> {
            send_media(state, owned, key, body, $kind).await
        }
    };
}

media_route!(
    send_image,
    MediaKind::Image,
    "/compat/microservice/session/{id}/send-image",
);
media_route!(
    send_video,
    MediaKind::Video,
    "/compat/microservice/session/{id}/send-video",
);
media_route!(
    send_document,
    MediaKind::Document,
    "/compat/microservice/session/{id}/send-document",
);
media_route!(
    send_audio,
    MediaKind::Audio,
    "/compat/microservice/session/{id}/send-audio",
);

//! Media messages: send an image, video, audio, document or sticker (as
//! JSON with a `url` or a base64 data URL, or as `multipart/form-data` with
//! a `file` part), and download a message's stored file.
//!
//! Size limits are per type (`MAX_FILE_SIZE_*_MB`); the format is sniffed
//! from the bytes. Request bodies on these routes are bounded by the media
//! limits rather than `MAX_BODY_MB`: JSON by the base64 size of the largest
//! file of the route's type, multipart by counting the file part as it
//! streams in.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::{ChatId, ErrorCode};
use wagate_engine::media::{MediaKind, OutgoingMedia, fetch_url};

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::owned::OwnedSession;
use crate::send::{self, IdempotencyKey, SendMode};
use crate::send::{
    SendOptionsDto, SendResultDto, check_caption, check_filename, decode_base64, parse_chat_id,
    too_large, wa_id_of,
};
use crate::state::AppState;
use wagate_engine::queue::SendJob;

/// Largest non-file multipart field.
const FIELD_MAX_BYTES: usize = 64 * 1024;
/// Most multipart fields in one request.
const MAX_FIELDS: usize = 32;
/// Room for the JSON around a base64 file.
const JSON_OVERHEAD: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-image", post(send_image))
        .route("/sessions/{id}/messages/send-video", post(send_video))
        .route("/sessions/{id}/messages/send-audio", post(send_audio))
        .route("/sessions/{id}/messages/send-document", post(send_document))
        .route("/sessions/{id}/messages/send-sticker", post(send_sticker))
        // Bodies here are bounded per media type in the handlers.
        .layer(DefaultBodyLimit::disable())
        .route("/sessions/{id}/files/{file_id}", get(get_file))
}

/// Where a file comes from: a URL the gateway downloads, or the bytes as a
/// base64 data URL (`data:image/jpeg;base64,…`) or plain base64.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaSourceDto {
    #[schema(example = "https://example.com/image.jpg")]
    pub url: Option<String>,
    #[schema(example = "data:image/jpeg;base64,/9j/4AAQ...")]
    pub base64: Option<String>,
    /// A hint only: the format is sniffed from the bytes (used for
    /// documents whose bytes are not recognised).
    pub mimetype: Option<String>,
}

/// The body of every send-media route. The file goes in the field named
/// after the route's type (`image`, `video`, `audio`, `document`,
/// `sticker`). As `multipart/form-data`: a `file` part plus the other
/// fields as text parts (`mentionedIds` comma-separated).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMedia {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    pub image: Option<MediaSourceDto>,
    pub video: Option<MediaSourceDto>,
    pub audio: Option<MediaSourceDto>,
    pub document: Option<MediaSourceDto>,
    pub sticker: Option<MediaSourceDto>,
    /// Images, videos and documents; at most 1024 characters.
    pub caption: Option<String>,
    /// Audio: send as a voice note.
    #[serde(default)]
    pub ptt: bool,
    /// Video: play as a GIF.
    #[serde(default)]
    pub gif_playback: bool,
    /// Documents: the file name shown (at most 100 characters).
    pub filename: Option<String>,
    #[serde(default)]
    pub options: SendOptionsDto,
}

impl SendMedia {
    fn source(&mut self, kind: MediaKind) -> Option<MediaSourceDto> {
        match kind {
            MediaKind::Image => self.image.take(),
            MediaKind::Video => self.video.take(),
            MediaKind::Audio => self.audio.take(),
            MediaKind::Document => self.document.take(),
            MediaKind::Sticker => self.sticker.take(),
        }
    }
}

/// Send an image (JPEG, PNG, WebP, GIF).
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-image", tag = "messages",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = SendMedia, description = "JSON with `image: {url|base64}`, or multipart/form-data with a `file` part", content_type = "application/json"),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, MESSAGE_TEXT_TOO_LONG, MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY, VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn send_image(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<SendResultDto>, ApiError> {
    send(state, owned, req, MediaKind::Image).await
}

/// Send a video (MP4, 3GP, AVI, MKV); `gifPlayback` to loop it as a GIF.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-video", tag = "messages",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = SendMedia, description = "JSON with `video: {url|base64}`, or multipart/form-data with a `file` part", content_type = "application/json"),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, MESSAGE_TEXT_TOO_LONG"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn send_video(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<SendResultDto>, ApiError> {
    send(state, owned, req, MediaKind::Video).await
}

/// Send audio (MP3, OGG, M4A, AMR, WAV); `ptt: true` sends a voice note.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-audio", tag = "messages",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = SendMedia, description = "JSON with `audio: {url|base64}` and `ptt`, or multipart/form-data with a `file` part", content_type = "application/json"),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn send_audio(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<SendResultDto>, ApiError> {
    send(state, owned, req, MediaKind::Audio).await
}

/// Send a document of any type, with `filename` and an optional caption.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-document", tag = "messages",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = SendMedia, description = "JSON with `document: {url|base64}` and `filename`, or multipart/form-data with a `file` part", content_type = "application/json"),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "MESSAGE_MEDIA_DOWNLOAD_FAILED, MESSAGE_TEXT_TOO_LONG, VALIDATION_ERROR"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn send_document(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<SendResultDto>, ApiError> {
    send(state, owned, req, MediaKind::Document).await
}

/// Send a sticker (WebP, at most 500 KB).
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-sticker", tag = "messages",
    params(("id" = String, Path)), security(("api_key" = [])),
    request_body(content = SendMedia, description = "JSON with `sticker: {url|base64}`, or multipart/form-data with a `file` part", content_type = "application/json"),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 400, description = "MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED"),
              (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
pub async fn send_sticker(
    state: State<AppState>,
    owned: OwnedSession,
    req: Request,
) -> Result<Envelope<SendResultDto>, ApiError> {
    send(state, owned, req, MediaKind::Sticker).await
}

/// Where the file of a request is once the body is read.
enum Source {
    Bytes(Vec<u8>),
    Url(String),
}

async fn send(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    req: Request,
    kind: MediaKind,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let limit = state.manager.config().media.limit(kind);
    let mode = SendMode::from_uri(req.uri())?;
    let key = IdempotencyKey::from_headers(req.headers())?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"));
    let (mut body, source, declared) = if is_multipart {
        read_multipart(req, &state, kind, limit).await?
    } else {
        read_json(req, kind, limit).await?
    };

    let chat = parse_chat_id(&body.chat_id)?;
    check_caption(body.caption.as_deref())?;
    check_filename(body.filename.as_deref())?;
    let mentions = body
        .options
        .mentioned_ids
        .iter()
        .map(|m| parse_chat_id(m))
        .collect::<Result<Vec<_>, _>>()?;

    let bytes = match source {
        Source::Bytes(b) => b,
        Source::Url(url) => fetch_url(&state.manager.config().outbound, &url, limit, kind)
            .await
            .map_err(wagate_engine::EngineError::from)?,
    };
    let media = OutgoingMedia {
        kind,
        bytes,
        declared_mimetype: declared,
        caption: body.caption.take(),
        filename: body.filename.take(),
        ptt: body.ptt,
        gif_playback: body.gif_playback,
    };
    let quoted = body
        .options
        .quoted_message_id
        .as_deref()
        .map(|q| wa_id_of(q).to_string());
    let staged = state
        .manager
        .config()
        .media
        .stage(&session.id, media)
        .await?;
    let job = SendJob::Media {
        media: staged,
        quoted,
        mentions: mentions.iter().map(ChatId::jid).collect(),
        simulate_typing: body.options.simulate_typing,
    };
    send::submit(&state, &session, chat, job, &mode, key).await
}

async fn read_json(
    req: Request,
    kind: MediaKind,
    limit: u64,
) -> Result<(SendMedia, Source, Option<String>), ApiError> {
    // Base64 is 4/3 of the bytes; a body beyond that is a file beyond the limit.
    let cap = (limit as usize).saturating_mul(4) / 3 + JSON_OVERHEAD;
    let raw = match axum::body::to_bytes(req.into_body(), cap).await {
        Ok(b) => b,
        Err(_) => return Err(too_large(kind, limit)),
    };
    let mut body: SendMedia = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::validation(format!(
            "invalid JSON body: {e} (send JSON, or multipart/form-data with a `file` part)"
        ))
    })?;
    let missing = || {
        ApiError::validation(format!(
            "give the file as `{}`: {{\"url\": …}} or {{\"base64\": …}}",
            kind.name()
        ))
    };
    let src = body.source(kind).ok_or_else(missing)?;
    let source = match (src.url, src.base64) {
        (Some(url), None) => Source::Url(url),
        (None, Some(b64)) => Source::Bytes(decode_base64(&b64, kind, limit)?),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(format!(
                "give `{}` either a url or base64, not both",
                kind.name()
            )));
        }
        (None, None) => return Err(missing()),
    };
    Ok((body, source, src.mimetype))
}

async fn read_multipart(
    req: Request,
    state: &AppState,
    kind: MediaKind,
    limit: u64,
) -> Result<(SendMedia, Source, Option<String>), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::validation(format!("invalid multipart body: {}", e.body_text()))
    };
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::validation(format!("invalid multipart body: {}", e.body_text())))?;
    let mut body = SendMedia::default();
    let mut file: Option<Vec<u8>> = None;
    let mut declared: Option<String> = None;
    let mut url: Option<String> = None;
    let mut fields = 0;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(ApiError::validation("too many multipart fields"));
        }
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == kind.name() && field.file_name().is_some() {
            declared = field.content_type().map(str::to_owned);
            if body.filename.is_none() {
                body.filename = field.file_name().map(str::to_owned);
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if bytes.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large(kind, limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            file = Some(bytes);
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if value.len() + chunk.len() > FIELD_MAX_BYTES {
                return Err(ApiError::validation(format!("field {name} is too long")));
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value)
            .map_err(|_| ApiError::validation(format!("field {name} is not UTF-8")))?;
        let flag = |v: &str| matches!(v.trim(), "true" | "1" | "on" | "yes");
        match name.as_str() {
            "chatId" => body.chat_id = value,
            "caption" => body.caption = Some(value),
            "filename" => body.filename = Some(value),
            "ptt" => body.ptt = flag(&value), // not vocabulary: a form field
            "gifPlayback" => body.gif_playback = flag(&value),
            "simulateTyping" => body.options.simulate_typing = flag(&value),
            "mimetype" => declared = Some(value),
            "url" => url = Some(value),
            "quotedMessageId" => body.options.quoted_message_id = Some(value),
            "mentionedIds" => {
                body.options.mentioned_ids = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            _ => {}
        }
    }
    let source = match (file, url) {
        (Some(bytes), None) => Source::Bytes(bytes),
        (None, Some(url)) => Source::Url(url),
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "send either a file part or a url, not both",
            ));
        }
        (None, None) => return Err(ApiError::validation("a `file` part is required")),
    };
    Ok((body, source, declared))
}

/// Download a message's file (received or sent) by the file id from the
/// message's `media.url`.
#[utoipa::path(get, path = "/api/sessions/{id}/files/{file_id}", tag = "messages",
    params(("id" = String, Path), ("file_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The file, with its mimetype as Content-Type"),
              (status = 404, description = "SESSION_NOT_FOUND, NOT_FOUND")))]
pub async fn get_file(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Path((_id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = record.id;
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("file {file_id} not found"));
    let file = state
        .store
        .get_media_file(&id, &file_id)
        .await?
        .ok_or_else(not_found)?;
    // The path is the gateway's own (from the database), never the client's.
    let stored = match state.manager.config().media.store.open(&file.path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::internal("opening a media file", e)),
    };
    let length = stored.length;
    let name = file
        .filename
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}.{}",
                file.file_id,
                wagate_engine::media::extension(&file.mimetype)
            )
        });
    let mut response = (StatusCode::OK, Body::from_stream(stored.body)).into_response();
    let headers = response.headers_mut();
    if let Some(len) = length {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    }
    if let Ok(v) = header::HeaderValue::from_str(&file.mimetype) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    // A sender chooses the mimetype: only plain media may render in a
    // browser; anything else (HTML, SVG, PDF, …) is a download, sandboxed
    // and never sniffed, so a script in it cannot run as this origin.
    let disposition = if safe_inline(&file.mimetype) {
        "inline"
    } else {
        "attachment"
    };
    let ascii_name: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let value = header::HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii_name}\""))
        .unwrap_or_else(|_| header::HeaderValue::from_static("attachment"));
    headers.insert(header::CONTENT_DISPOSITION, value);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// Mimetypes a browser may show in place: raster images, audio, video.
fn safe_inline(mimetype: &str) -> bool {
    let essence = mimetype
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/bmp" | "image/avif"
    ) || ((essence.starts_with("audio/") || essence.starts_with("video/"))
        && essence
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b)))
}

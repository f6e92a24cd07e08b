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
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use wagate_engine::media::MediaKind;

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::owned::OwnedSession;
use crate::send::{self, IdempotencyKey, SendMedia, SendMode, SendResultDto, UrlFetch};
use crate::state::AppState;

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

async fn send(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    req: Request,
    kind: MediaKind,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let mode = SendMode::from_uri(req.uri())?;
    let key = IdempotencyKey::from_headers(req.headers())?;
    let (body, file) = SendMedia::read(req, &state, kind).await?;
    let (chat, job) = body
        .into_job(&state, &session.id, kind, file, UrlFetch::Now)
        .await?;
    send::submit(&state, &session, chat, job, &mode, key).await
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
    crate::media_files::serve(&state, &record.id, &file_id).await
}

//! Bulk sends and OTPs.
//!
//! `send-bulk` queues up to 100 messages as one batch in the session's bulk
//! lane: they go one after another with `delayBetweenMessages` (plus a
//! random 0–2 s) between two of them, within the session's hard pacing
//! limits, and `{name}`-style variables are filled in per message. The
//! batch's status lists every message's outcome; cancel stops what has not
//! gone yet. Progress is in the event log (`batch.progress`,
//! `batch.completed`, `batch.cancelled`).
//!
//! `send-otp` (seed 002) sends a one-time code through a template. The code
//! is never logged; the message itself is kept like any sent message.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::limits::{CAPTION_MAX_CHARS, FILENAME_MAX_CHARS, TEXT_MAX_CHARS};
use wagate_core::{BatchStatus, ChatId, ErrorCode, MessageKind, QueueStatus, iso_ms, now_ms};
use wagate_engine::media::MediaKind;
use wagate_engine::queue::{BatchOptions, BatchSubmit, BatchSubmitted, SendJob};
use wagate_store::app::{BatchProgress, BatchRecord};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::send::{self, IdempotencyKey, SendMedia, SendText, UrlFetch, invalid_filename};
use crate::state::AppState;
use crate::template::{TooLong, fill};

/// Most messages in one bulk request (the contract's limit).
pub const BULK_MAX_MESSAGES: usize = 100;
/// The least delay between two messages of a batch, in ms.
pub const BULK_MIN_DELAY_MS: u64 = 1_000;
/// The longest delay between two messages of a batch, in ms (a day).
pub const BULK_MAX_DELAY_MS: u64 = 86_400_000;
/// Longest batch id a client may choose.
const BATCH_ID_MAX: usize = 64;
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-bulk", post(send_bulk))
        .route("/sessions/{id}/messages/batch/{batch_id}", get(get_batch))
        .route(
            "/sessions/{id}/messages/batch/{batch_id}/cancel",
            post(cancel_batch),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendBulk {
    /// Your own id for the batch (letters, digits, `_`, `-`; unique per
    /// session); generated when left out.
    #[schema(example = "batch_custom_123")]
    pub batch_id: Option<String>,
    /// 1 to 100 messages.
    pub messages: Vec<BulkMessage>,
    #[serde(default)]
    pub options: BulkOptionsDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkMessage {
    #[schema(example = "628123456789@c.us")]
    pub chat_id: String,
    /// `text`, `image`, `video`, `audio` or `document`.
    #[serde(rename = "type")]
    #[schema(example = "text")]
    pub kind: String,
    /// `{"text": …}` for text; `{"image": {"url": …} | {"base64": …},
    /// "caption": …}` (and likewise `video`, `audio`, `document` with
    /// `filename`) for media.
    pub content: serde_json::Value,
    /// Values for `{name}`-style placeholders in the text or caption.
    #[serde(default)]
    pub variables: HashMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOptionsDto {
    /// Delay between two messages in ms (default 3000, at least 1000).
    pub delay_between_messages: Option<u64>,
    /// Add a random 0–2 s to each delay (default true).
    pub randomize_delay: Option<bool>,
    /// Cancel the rest after the first failure (default false).
    #[serde(default)]
    pub stop_on_error: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchAcceptedDto {
    pub batch_id: String,
    /// `processing` (or, for a repeated Idempotency-Key, where it is now).
    pub status: String,
    pub total_messages: i64,
    pub estimated_completion_time: String,
    pub status_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchDto {
    pub batch_id: String,
    /// `processing`, `completed` or `cancelled`.
    pub status: String,
    pub progress: ProgressDto,
    pub results: Vec<BatchResultDto>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgressDto {
    pub total: i64,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    pub cancelled: i64,
}

impl From<&BatchProgress> for ProgressDto {
    fn from(p: &BatchProgress) -> Self {
        ProgressDto {
            total: p.total,
            sent: p.sent,
            failed: p.failed,
            pending: p.pending(),
            cancelled: p.cancelled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResultDto {
    pub chat_id: String,
    /// `pending`, `sending`, `sent`, `failed`, `cancelled`.
    pub status: String,
    pub message_id: String,
    pub queue_id: String,
    pub sent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<send::ErrorDto>,
}

/// Send up to 100 messages as a paced batch.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-bulk", tag = "messages",
    params(("id" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: the same key returns the first batch")),
    request_body = SendBulk, security(("api_key" = [])),
    responses((status = 202, description = "Queued", body = BatchAcceptedDto),
              (status = 400, description = "VALIDATION_ERROR, MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG"),
              (status = 409, description = "CONFLICT: the batchId is taken"),
              (status = 422, description = "IDEMPOTENCY_KEY_REUSED")))]
pub async fn send_bulk(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    key: IdempotencyKey,
    Json(body): Json<SendBulk>,
) -> Result<Envelope<BatchAcceptedDto>, ApiError> {
    if body.messages.is_empty() || body.messages.len() > BULK_MAX_MESSAGES {
        return Err(ApiError::validation(format!(
            "messages must hold 1 to {BULK_MAX_MESSAGES} messages"
        )));
    }
    if let Some(b) = &body.batch_id
        && (b.is_empty()
            || b.len() > BATCH_ID_MAX
            || !b
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
    {
        return Err(ApiError::validation(format!(
            "batchId must be 1 to {BATCH_ID_MAX} letters, digits, '_' or '-'"
        )));
    }
    let delay = body.options.delay_between_messages.unwrap_or(3_000);
    if !(BULK_MIN_DELAY_MS..=BULK_MAX_DELAY_MS).contains(&delay) {
        return Err(ApiError::validation(format!(
            "options.delayBetweenMessages must be {BULK_MIN_DELAY_MS} to {BULK_MAX_DELAY_MS} ms"
        )));
    }
    let options = BatchOptions {
        delay_between_messages: delay,
        randomize_delay: body.options.randomize_delay.unwrap_or(true),
        stop_on_error: body.options.stop_on_error,
    };
    // A bad item drops the ones before it, and their staged files go with
    // them.
    let mut items = Vec::with_capacity(body.messages.len());
    for (i, m) in body.messages.into_iter().enumerate() {
        let item = bulk_item(&state, &session.id, m)
            .await
            .map_err(|e| at_index(e, i))?;
        items.push(item);
    }
    let total = items.len() as i64;
    let submitted = state
        .manager
        .queue()
        .submit_batch(
            &session,
            BatchSubmit {
                batch_id: body.batch_id,
                items,
                options: options.clone(),
                idempotency_key: key.0,
            },
        )
        .await?;
    let batch = match submitted {
        BatchSubmitted::New(b) | BatchSubmitted::Existing(b) => b,
    };
    // Each message after the first waits the delay (and up to 2 s more).
    let per = options.delay_between_messages + if options.randomize_delay { 1_000 } else { 0 };
    let eta = batch.created_at + (total - 1).max(0) * per as i64;
    Ok(envelope::accepted(BatchAcceptedDto {
        status_url: format!("/api/sessions/{}/messages/batch/{}", session.id, batch.id),
        batch_id: batch.id,
        status: batch.status.to_string(),
        total_messages: batch.total,
        estimated_completion_time: iso_ms(eta.max(now_ms())),
    }))
}

fn at_index(e: ApiError, i: usize) -> ApiError {
    ApiError {
        message: format!("messages[{i}]: {}", e.message),
        ..e
    }
}

/// One bulk message → the single-send request it is (its variables filled
/// in), checked and turned into a job by the same code as a single send.
/// A file given by URL is downloaded when the message goes.
async fn bulk_item(
    state: &AppState,
    session_id: &str,
    m: BulkMessage,
) -> Result<(ChatId, SendJob), ApiError> {
    let serde_json::Value::Object(mut content) = m.content else {
        return Err(ApiError::validation("content must be an object"));
    };
    for (name, max) in [
        ("text", TEXT_MAX_CHARS), // not vocabulary: a content field
        ("caption", CAPTION_MAX_CHARS),
        ("filename", FILENAME_MAX_CHARS),
    ] {
        fill_field(&mut content, name, max, &m.variables)?;
    }
    content.insert("chatId".into(), m.chat_id.into());
    let kind = match MessageKind::parse(&m.kind) {
        Some(MessageKind::Text) => {
            let text_field = "text"; // not vocabulary: a content field
            if !content.contains_key(text_field) {
                let message = "content.text is required for type text";
                return Err(ApiError::validation(message));
            }
            return typed::<SendText>(content)?.into_job();
        }
        Some(MessageKind::Image) => MediaKind::Image,
        Some(MessageKind::Video) => MediaKind::Video,
        Some(MessageKind::Audio) => MediaKind::Audio,
        Some(MessageKind::Document) => MediaKind::Document,
        _ => {
            return Err(ApiError::validation(format!(
                "type '{}' is not one of text, image, video, audio, document",
                m.kind
            )));
        }
    };
    let mut request = typed::<SendMedia>(content)?;
    let limit = state.manager.config().media.limit(kind);
    let file = request.take_file(kind, limit)?;
    request
        .into_job(state, session_id, kind, file, UrlFetch::AtSend)
        .await
}

/// Fills the `{name}` placeholders of the string field `name` of `content`,
/// refusing a result longer than `max` characters.
fn fill_field(
    content: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    max: usize,
    vars: &HashMap<String, serde_json::Value>,
) -> Result<(), ApiError> {
    let Some(value) = content.get_mut(name) else {
        return Ok(());
    };
    match value {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::String(s) => {
            *s = fill(s, vars, max).map_err(|TooLong| {
                // A name too long is what a single send calls it too.
                if name == "filename" {
                    return invalid_filename();
                }
                ApiError::new(
                    ErrorCode::MessageTextTooLong,
                    format!("content.{name} is longer than {max} characters with its variables filled in"),
                )
            })?;
            Ok(())
        }
        _ => Err(ApiError::validation(format!(
            "content.{name} must be a string"
        ))),
    }
}

/// The content as the single-send request it must be.
fn typed<T: serde::de::DeserializeOwned>(
    content: serde_json::Map<String, serde_json::Value>,
) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::Object(content))
        .map_err(|e| ApiError::validation(format!("content: {e}")))
}

/// A batch's status and every message's outcome.
#[utoipa::path(get, path = "/api/sessions/{id}/messages/batch/{batchId}", tag = "messages",
    params(("id" = String, Path), ("batchId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The batch", body = BatchDto),
              (status = 404, description = "NOT_FOUND, SESSION_NOT_FOUND")))]
pub async fn get_batch(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, batch_id)): Path<(String, String)>,
) -> Result<Envelope<BatchDto>, ApiError> {
    let (batch, progress, items) = state.manager.queue().batch(&session, &batch_id).await?;
    Ok(envelope::ok(batch_dto(&batch, &progress, &items)))
}

/// Cancel what a batch has not sent yet.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/batch/{batchId}/cancel", tag = "messages",
    params(("id" = String, Path), ("batchId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Cancelled (a finished batch is returned as it is)", body = BatchDto),
              (status = 404, description = "NOT_FOUND, SESSION_NOT_FOUND")))]
pub async fn cancel_batch(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, batch_id)): Path<(String, String)>,
) -> Result<Envelope<BatchDto>, ApiError> {
    let queue = state.manager.queue();
    queue.cancel_batch(&session, &batch_id).await?;
    let (batch, progress, items) = queue.batch(&session, &batch_id).await?;
    let mut dto = batch_dto(&batch, &progress, &items);
    // The contract's cancel answer says `cancelled` while the last message
    // that was already on its way finishes.
    if batch.status == BatchStatus::Processing {
        dto.status = BatchStatus::Cancelled.to_string();
    }
    Ok(envelope::ok(dto))
}

fn batch_dto(
    batch: &BatchRecord,
    progress: &BatchProgress,
    items: &[wagate_store::app::QueuedRecord],
) -> BatchDto {
    BatchDto {
        batch_id: batch.id.clone(),
        status: batch.status.to_string(),
        progress: progress.into(),
        results: items
            .iter()
            .map(|r| BatchResultDto {
                message_id: r.message_id(),
                chat_id: ChatId::api_from_jid(&r.chat_id),
                status: if r.status == QueueStatus::Queued {
                    "pending".into()
                } else {
                    r.status.to_string()
                },
                queue_id: r.id.clone(),
                sent_at: r.sent_at.map(iso_ms),
                error: send::ErrorDto::of(r),
            })
            .collect(),
        started_at: batch.started_at.map(iso_ms),
        completed_at: batch.completed_at.map(iso_ms),
    }
}

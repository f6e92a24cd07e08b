//! What every send route shares: the request's [`SendMode`] and
//! [`IdempotencyKey`], the typed send requests ([`SendText`],
//! [`SendMedia`]) with their checks, and [`submit`], which hands the message
//! to the session's durable queue.
//!
//! Rooms: `checks` (chat ids, texts, captions, file names, base64),
//! `text` and [`media`] (the requests and how they become a queued job:
//! single sends, bulk items and the drop-in modes all go through them, so
//! their rules cannot drift), and `poll` (a poll and a vote on one).
//!
//! Every send route hands its message to [`submit`]: it goes into the
//! session's durable queue, and the route either waits for the outcome (the
//! contract's `200` with `messageId`) or, with `?async=true`, answers `202`
//! at once with the queued message's ids. `?async=true` traffic waits in the
//! drip lane (paced, `SEND_DRIP_PER_MINUTE`) unless `?urgent=true`.
//!
//! An `Idempotency-Key` header makes a send safe to retry: the same key with
//! the same request returns the first message (never a second send); the
//! same key with a different request is `422 IDEMPOTENCY_KEY_REUSED`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{ChatId, ErrorCode, QueueStatus, iso_ms};
use wagate_engine::Session;
use wagate_engine::queue::{Lane, SendJob, Submit};
use wagate_store::app::QueuedRecord;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::state::AppState;

mod checks;
pub mod media;
mod poll;
mod text;

pub use checks::*;
pub use media::{ClientFile, MediaSourceDto, SendMedia, UrlFetch, client_file};
pub use poll::{SendPoll, Vote};
pub use text::SendText;

/// Longest `Idempotency-Key` accepted.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// `?async=true` answers 202 at once; `?urgent=true` skips the drip pace.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SendMode {
    /// Queue and answer `202` at once instead of waiting for the send.
    #[serde(rename = "async", default)]
    pub run_async: bool,
    /// With `async`: send as soon as the hard limits allow, not at the drip
    /// pace.
    #[serde(default)]
    pub urgent: bool,
}

impl SendMode {
    /// The mode from a request's query string (for routes that read the
    /// whole request themselves).
    pub fn from_uri(uri: &axum::http::Uri) -> Result<SendMode, ApiError> {
        axum::extract::Query::<SendMode>::try_from_uri(uri)
            .map(|axum::extract::Query(m)| m)
            .map_err(|e| ApiError::validation(format!("invalid query: {}", e.body_text())))
    }

    fn lane(&self) -> Lane {
        if self.run_async && !self.urgent {
            Lane::Drip
        } else {
            Lane::Direct
        }
    }
}

/// The `Idempotency-Key` header, if sent.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        IdempotencyKey::from_headers(&parts.headers)
    }
}

impl IdempotencyKey {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Self, ApiError> {
        let Some(v) = headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = v.to_str().unwrap_or_default().trim();
        if key.is_empty()
            || key.len() > IDEMPOTENCY_KEY_MAX
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::validation(format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
            )));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// What a send route answers: `200` once sent (the contract's shape plus
/// `queueId`), `202` while queued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResultDto {
    #[schema(example = "true_628123456789@c.us_3EB0ABC123")]
    pub message_id: String,
    /// `sent`, or `queued` / `sending` (202).
    #[schema(example = "sent")]
    pub status: String,
    /// When it was sent (200 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The send queue's id for it (every send but a reaction has one).
    #[schema(example = "q_0192f0c2a1b27c3d8e9f0a1b2c3d4e5f")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// 202 only: where to follow it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
}

/// Queues one send and answers as [`SendMode`] asks.
pub async fn submit(
    state: &AppState,
    session: &Arc<Session>,
    chat: ChatId,
    job: SendJob,
    mode: &SendMode,
    key: IdempotencyKey,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let queue = state.manager.queue();
    let started = std::time::Instant::now();
    let submit = Submit {
        chat,
        job,
        lane: mode.lane(),
        idempotency_key: key.0,
        waited_for: !mode.run_async,
    };
    let record = if mode.run_async {
        queue.submit(session, submit).await?.record().clone()
    } else {
        let record = queue
            .submit_and_wait(session, submit, queue.config().sync_timeout)
            .await?;
        state
            .metrics
            .observe_send(record.status.as_str(), started.elapsed().as_secs_f64());
        record
    };
    answer(&session.id, &record, mode.run_async)
}

/// The API's answer for a queued message as it is now.
fn answer(
    session_id: &str,
    r: &QueuedRecord,
    run_async: bool,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let dto = dto(session_id, r);
    match r.status {
        QueueStatus::Sent if !run_async => Ok(envelope::ok(dto)),
        QueueStatus::Failed if !run_async => Err(failure(r)),
        QueueStatus::Cancelled if !run_async => Err(ApiError::new(
            ErrorCode::Conflict,
            "the message was cancelled before it was sent",
        )),
        _ => Ok(envelope::accepted(dto)),
    }
}

fn dto(session_id: &str, r: &QueuedRecord) -> SendResultDto {
    let sent = r.status == QueueStatus::Sent;
    SendResultDto {
        message_id: r.message_id(),
        status: r.status.to_string(),
        timestamp: r.sent_at.filter(|_| sent).map(iso_ms),
        queue_id: Some(r.id.clone()),
        status_url: (!sent).then(|| format!("/api/sessions/{session_id}/queue/{}", r.id)),
    }
}

/// The error a failed message recorded, as the API's error.
fn failure(r: &QueuedRecord) -> ApiError {
    let code = r
        .error_code
        .as_deref()
        .and_then(ErrorCode::from_name)
        .unwrap_or(ErrorCode::MessageSendFailed);
    ApiError::new(
        code,
        r.error_message
            .clone()
            .unwrap_or_else(|| "the message could not be sent".into()),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDto {
    pub code: String,
    pub message: String,
}

impl ErrorDto {
    /// What a queued message recorded when it failed or was cancelled.
    pub fn of(r: &QueuedRecord) -> Option<ErrorDto> {
        r.error_code.as_ref().map(|code| ErrorDto {
            code: code.clone(),
            message: r.error_message.clone().unwrap_or_default(),
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOptionsDto {
    /// A message id from this session's history to quote.
    pub quoted_message_id: Option<String>,
    /// Chat ids of people to mention.
    #[serde(default)]
    pub mentioned_ids: Vec<String>,
    /// Show `composing` for a time that grows with the text (within
    /// `TYPING_DELAY_MIN`..`TYPING_DELAY_MAX` seconds), then `paused`, before sending.
    #[serde(default)]
    pub simulate_typing: bool,
}

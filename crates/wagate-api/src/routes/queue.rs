//! The send queue as the API shows it (how a message gets into it is
//! [`crate::send`]): a session's queue (`GET …/queue`), one queued message
//! (`GET`/`DELETE …/queue/{queueId}`) and its pacing (`GET`/`PUT`/`DELETE
//! …/pacing`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{ChatId, ErrorCode, QueueStatus, iso_ms};
use wagate_engine::Session;
use wagate_engine::queue::{Lane, PacingOverrides};
use wagate_store::app::QueuedRecord;

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::{ErrorDto, SendMode};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/queue", get(queue_status))
        .route("/sessions/{id}/queue/items", get(list_queued))
        .route(
            "/sessions/{id}/queue/{queue_id}",
            get(get_queued).delete(cancel_queued),
        )
        .route(
            "/sessions/{id}/pacing",
            get(get_pacing).put(put_pacing).delete(delete_pacing),
        )
}

/// A queued message in full.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedDto {
    pub queue_id: String,
    pub message_id: String,
    pub chat_id: String,
    /// `text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contact`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `direct`, `bulk` or `drip`.
    pub lane: String,
    /// `queued`, `sending`, `sent`, `failed`, `cancelled`.
    pub status: String,
    pub attempts: i64,
    pub batch_id: Option<String>,
    /// Not before this time (a batch's delay, a retry's backoff).
    pub not_before: Option<String>,
    pub error: Option<ErrorDto>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<&QueuedRecord> for QueuedDto {
    fn from(r: &QueuedRecord) -> Self {
        QueuedDto {
            queue_id: r.id.clone(),
            message_id: r.message_id(),
            chat_id: ChatId::api_from_jid(&r.chat_id),
            kind: r.kind.to_string(),
            lane: r.lane.to_string(),
            status: r.status.to_string(),
            attempts: r.attempts,
            batch_id: r.batch_id.clone(),
            not_before: (r.not_before > 0 && r.status == QueueStatus::Queued)
                .then(|| iso_ms(r.not_before)),
            error: ErrorDto::of(r),
            created_at: iso_ms(r.created_at),
            sent_at: r.sent_at.map(iso_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatusDto {
    /// Messages waiting, per lane and in all.
    pub depth: QueueDepthDto,
    /// Messages being sent now.
    pub sending: i64,
    /// When the next waiting message may go (null: nothing waits).
    pub next_send_at: Option<String>,
    pub sent_last_minute: usize,
    pub sent_last_hour: usize,
    pub sent_last_day: usize,
    /// The pacing in force (defaults with this session's overrides).
    pub pacing: serde_json::Value,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct QueueDepthDto {
    pub direct: i64,
    pub bulk: i64,
    pub drip: i64,
    pub total: i64,
}

/// A session's send queue: depth per lane, next send time, recent sends.
#[utoipa::path(get, path = "/api/sessions/{id}/queue", tag = "queue",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The queue", body = QueueStatusDto),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn queue_status(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<QueueStatusDto>, ApiError> {
    let s = state.manager.queue().status(&session).await?;
    let mut depth = QueueDepthDto::default();
    for b in &s.backlog {
        match b.lane {
            Lane::Direct => depth.direct = b.count,
            Lane::Bulk => depth.bulk = b.count,
            Lane::Drip => depth.drip = b.count,
            Lane::Warming => {}
        }
        depth.total += b.count;
    }
    Ok(envelope::ok(QueueStatusDto {
        depth,
        sending: s.sending,
        next_send_at: s.next_send_at.map(iso_ms),
        sent_last_minute: s.sent_last_minute,
        sent_last_hour: s.sent_last_hour,
        sent_last_day: s.sent_last_day,
        pacing: serde_json::to_value(&s.pacing).unwrap_or_default(),
    }))
}

/// Longest page of queue items.
const QUEUE_ITEMS_MAX: i64 = 500;

/// `?status=queued,sending&limit=50`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueItemsQuery {
    /// Comma list of `queued`, `sending`, `sent`, `failed`, `cancelled`
    /// (default `queued,sending`: what still waits).
    pub status: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// A session's queued messages in the order they will go (oldest first):
/// by default what still waits, with their lane, attempts and `notBefore`.
#[utoipa::path(get, path = "/api/sessions/{id}/queue/items", tag = "queue",
    params(("id" = String, Path), QueueItemsQuery), security(("api_key" = [])),
    responses((status = 200, description = "The messages", body = Vec<QueuedDto>),
              (status = 400, description = "VALIDATION_ERROR (status, limit)"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_queued(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(q): Query<QueueItemsQuery>,
) -> Result<Envelope<Vec<QueuedDto>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=QUEUE_ITEMS_MAX).contains(&limit) {
        return Err(ApiError::validation(format!(
            "limit must be 1 to {QUEUE_ITEMS_MAX}"
        )));
    }
    let statuses = match q.status.as_deref() {
        None => vec![QueueStatus::Queued, QueueStatus::Sending],
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                QueueStatus::parse(s).ok_or_else(|| {
                    ApiError::validation(format!(
                        "status '{s}' is not one of queued, sending, sent, failed, cancelled"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let items = state
        .store
        .queue_items(&session.id, &statuses, limit)
        .await?;
    Ok(envelope::ok(items.iter().map(QueuedDto::from).collect()))
}

/// One queued message (what `statusUrl` points to).
#[utoipa::path(get, path = "/api/sessions/{id}/queue/{queueId}", tag = "queue",
    params(("id" = String, Path), ("queueId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The message", body = QueuedDto),
              (status = 404, description = "NOT_FOUND, SESSION_NOT_FOUND")))]
pub async fn get_queued(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, queue_id)): Path<(String, String)>,
) -> Result<Envelope<QueuedDto>, ApiError> {
    let r = state.manager.queue().get(&queue_id).await?;
    if r.session_id != session.id {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no queued message '{queue_id}'"),
        ));
    }
    Ok(envelope::ok(QueuedDto::from(&r)))
}

/// Cancel a queued message that has not been sent yet.
#[utoipa::path(delete, path = "/api/sessions/{id}/queue/{queueId}", tag = "queue",
    params(("id" = String, Path), ("queueId" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Cancelled (or already finished: see status)", body = QueuedDto),
              (status = 409, description = "CONFLICT: being sent right now"),
              (status = 404, description = "NOT_FOUND, SESSION_NOT_FOUND")))]
pub async fn cancel_queued(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, queue_id)): Path<(String, String)>,
) -> Result<Envelope<QueuedDto>, ApiError> {
    let r = state.manager.queue().cancel(&session, &queue_id).await?;
    Ok(envelope::ok(QueuedDto::from(&r)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PacingDto {
    /// What is in force.
    pub effective: serde_json::Value,
    /// What this session sets itself (the rest comes from `SEND_*`).
    pub overrides: serde_json::Value,
}

/// The pacing of a session: minimum interval (`minIntervalMs`), jitter
/// (`jitterMs`), caps (`maxPerMinute`, `maxPerHour`, `maxPerDay`; 0 = none),
/// the drip lane's pace (`dripPerMinute`), quiet hours
/// (`quietHours: {start: "22:00", end: "07:00", utcOffsetMinutes: 0}`) and
/// the typing pause before a send with `simulateTyping` (`typingMinMs`,
/// `typingMaxMs`).
#[utoipa::path(get, path = "/api/sessions/{id}/pacing", tag = "queue",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Pacing", body = PacingDto)))]
pub async fn get_pacing(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<PacingDto>, ApiError> {
    pacing_dto(&state, &session).await
}

/// Replace a session's pacing overrides (fields left out use the defaults).
#[utoipa::path(put, path = "/api/sessions/{id}/pacing", tag = "queue",
    params(("id" = String, Path)), request_body = Object, security(("api_key" = [])),
    responses((status = 200, description = "Pacing", body = PacingDto),
              (status = 400, description = "VALIDATION_ERROR")))]
pub async fn put_pacing(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<serde_json::Value>,
) -> Result<Envelope<PacingDto>, ApiError> {
    // The path names the field a huge, negative or mistyped value is in.
    let overrides: PacingOverrides = serde_path_to_error::deserialize(body).map_err(|e| {
        ApiError::validation(format!("invalid pacing: {}: {}", e.path(), e.inner()))
    })?;
    check_pacing_ranges(&overrides)?;
    if let (Some(lo), Some(hi)) = (overrides.typing_min_ms, overrides.typing_max_ms)
        && hi < lo
    {
        return Err(ApiError::validation(
            "typingMaxMs must not be less than typingMinMs",
        ));
    }
    state
        .manager
        .queue()
        .set_pacing(&session, &overrides)
        .await?;
    pacing_dto(&state, &session).await
}

/// Longest minimum interval a session may ask for: a day.
const PACING_INTERVAL_MAX_MS: u64 = 86_400_000;
/// Longest jitter: an hour.
const PACING_JITTER_MAX_MS: u64 = 3_600_000;
/// Largest per-minute/hour/day cap (beyond it, a cap means nothing).
const PACING_CAP_MAX: u32 = 1_000_000;

/// Every numeric pacing field within its range (400 naming the field).
fn check_pacing_ranges(o: &PacingOverrides) -> Result<(), ApiError> {
    let over = |field: &str, max: u64| ApiError::validation(format!("{field} must be 0 to {max}"));
    for (field, value, max) in [
        ("minIntervalMs", o.min_interval_ms, PACING_INTERVAL_MAX_MS),
        ("jitterMs", o.jitter_ms, PACING_JITTER_MAX_MS),
        ("typingMinMs", o.typing_min_ms, 60_000),
        ("typingMaxMs", o.typing_max_ms, 60_000),
        (
            "maxPerMinute",
            o.max_per_minute.map(u64::from),
            u64::from(PACING_CAP_MAX),
        ),
        (
            "maxPerHour",
            o.max_per_hour.map(u64::from),
            u64::from(PACING_CAP_MAX),
        ),
        (
            "maxPerDay",
            o.max_per_day.map(u64::from),
            u64::from(PACING_CAP_MAX),
        ),
        ("dripPerMinute", o.drip_per_minute.map(u64::from), 600),
    ] {
        if value.is_some_and(|v| v > max) {
            return Err(over(field, max));
        }
    }
    if let Some(q) = &o.quiet_hours
        && !(-720..=840).contains(&q.utc_offset_minutes)
    {
        return Err(ApiError::validation(
            "quietHours.utcOffsetMinutes must be -720 to 840",
        ));
    }
    Ok(())
}

/// Drop a session's pacing overrides (back to the defaults).
#[utoipa::path(delete, path = "/api/sessions/{id}/pacing", tag = "queue",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Pacing", body = PacingDto)))]
pub async fn delete_pacing(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<PacingDto>, ApiError> {
    state
        .manager
        .queue()
        .set_pacing(&session, &PacingOverrides::default())
        .await?;
    pacing_dto(&state, &session).await
}

async fn pacing_dto(state: &AppState, session: &Session) -> Result<Envelope<PacingDto>, ApiError> {
    let (effective, overrides) = state.manager.queue().pacing(&session.id).await?;
    Ok(envelope::ok(PacingDto {
        effective: serde_json::to_value(&effective).unwrap_or_default(),
        overrides: serde_json::to_value(&overrides).unwrap_or_default(),
    }))
}

/// Query helper for routes that only need the mode.
pub type Mode = Query<SendMode>;

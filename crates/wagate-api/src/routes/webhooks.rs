//! Webhooks of a session: create, list, get, update, delete; the delivery
//! log, redelivering one attempt's event, and replaying from a sequence
//! number.
//!
//! The API only writes rows: the delivery worker (`wagate-events`) notices
//! new, edited and re-enabled endpoints, queued redeliveries and replays on
//! its own, within a second. A webhook's secret is write-only: it is stored
//! for signing, never returned and never logged.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{ErrorCode, iso_ms};
use wagate_store::app::Principal;
use wagate_store::app::webhooks::{DeliveryRecord, WebhookPatch, WebhookRecord};

use crate::auth::Auth;
use crate::envelope::{self, Envelope, Pagination};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::owned::owned_session;
use crate::state::AppState;
use crate::webhook_config::{
    CreateWebhook, concurrency_ok, conflict_as_duplicate, create_for_session, events_ok, format_ok,
    headers_ok, secret_ok, url_ok,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sessions/{id}/webhooks",
            post(create_webhook).get(list_webhooks),
        )
        .route(
            "/sessions/{id}/webhooks/{webhook_id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route(
            "/sessions/{id}/webhooks/{webhook_id}/deliveries",
            get(list_deliveries),
        )
        .route(
            "/sessions/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .route("/sessions/{id}/webhooks/{webhook_id}/replay", post(replay))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new secret; an empty string removes it.
    pub secret: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `openwa` (the contract's deliveries) or a drop-in system's: `wago`, `sudevwa`.
    pub format: Option<String>,
    /// Deliveries in flight at once, 1–64 (1: in the log's order).
    #[schema(minimum = 1, maximum = 64)]
    pub concurrency: Option<i64>,
    /// `true` re-enables a disabled webhook; `false` pauses it.
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDto {
    #[schema(example = "wh_xyz789")]
    pub id: String,
    pub session_id: Option<String>,
    pub url: String,
    pub events: Vec<String>,
    pub headers: BTreeMap<String, String>,
    /// The shape of its deliveries: `openwa`, `wago` or `sudevwa`.
    pub format: String,
    /// Deliveries in flight at once: 1 delivers in the log's order; more
    /// relaxes the order (every event still arrives).
    pub concurrency: u32,
    /// Whether events are being delivered.
    pub active: bool,
    /// Why it was disabled (410 Gone, failing too long, by request).
    pub disabled_reason: Option<String>,
    /// Whether deliveries are signed (the secret itself is never shown).
    pub has_secret: bool,
    /// The last event sequence number settled for this endpoint.
    pub last_delivered_seq: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&WebhookRecord> for WebhookDto {
    fn from(w: &WebhookRecord) -> Self {
        WebhookDto {
            id: w.id.clone(),
            session_id: w.session_id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            headers: w.headers.clone(),
            format: w.format.to_string(),
            concurrency: w.concurrency,
            active: w.enabled,
            disabled_reason: w.disabled_reason.clone(),
            has_secret: w.secret.is_some(),
            last_delivered_seq: w.last_seq,
            created_at: iso_ms(w.created_at),
            updated_at: iso_ms(w.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    /// The `deliveryId` of this attempt.
    #[schema(example = "dlv_550e8400e29b41d4a716446655440000")]
    pub id: String,
    pub seq: i64,
    pub event: String,
    pub idempotency_key: String,
    /// 0 for the first attempt (`X-OpenWA-Retry-Count`).
    pub attempt: i64,
    /// `delivered`, `retrying` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: String,
}

impl From<&DeliveryRecord> for DeliveryDto {
    fn from(d: &DeliveryRecord) -> Self {
        DeliveryDto {
            id: d.id.clone(),
            seq: d.seq,
            event: d.event.clone(),
            idempotency_key: d.idempotency_key.clone(),
            attempt: d.attempt,
            outcome: d.outcome.to_string(),
            status_code: d.status_code,
            latency_ms: d.latency_ms,
            error: d.error.clone(),
            created_at: iso_ms(d.created_at),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayRequest {
    /// Deliver again every event from this sequence number on.
    #[schema(example = 1)]
    pub from_seq: i64,
}

async fn owned_webhook(
    state: &AppState,
    principal: &Principal,
    session_id: &str,
    webhook_id: &str,
) -> Result<WebhookRecord, ApiError> {
    let session_id = owned_session(state, principal, session_id).await?.0.id;
    state
        .store
        .get_webhook(webhook_id)
        .await?
        .filter(|w| w.session_id.as_deref() == Some(session_id.as_str()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::WebhookNotFound,
                format!("webhook {webhook_id} not found"),
            )
        })
}

/// Register a webhook on a session.
#[utoipa::path(post, path = "/api/sessions/{id}/webhooks", tag = "webhooks", request_body = CreateWebhook,
    params(("id" = String, Path, description = "Session id")),
    security(("api_key" = [])),
    responses((status = 201, description = "Created", body = WebhookDto),
              (status = 400, description = "WEBHOOK_URL_INVALID or VALIDATION_ERROR"),
              (status = 403, description = "WEBHOOK_LIMIT_REACHED"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 409, description = "WEBHOOK_DUPLICATE")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    OwnedSession {
        record: session, ..
    }: OwnedSession,
    Json(body): Json<CreateWebhook>,
) -> Result<Envelope<WebhookDto>, ApiError> {
    let hook = create_for_session(&state, &session, body, None).await?;
    Ok(envelope::created(WebhookDto::from(&hook)))
}

/// List a session's webhooks.
#[utoipa::path(get, path = "/api/sessions/{id}/webhooks", tag = "webhooks",
    params(("id" = String, Path, description = "Session id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The session's webhooks", body = [WebhookDto]),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
) -> Result<Envelope<Vec<WebhookDto>>, ApiError> {
    let id = record.id;
    let hooks = state.store.list_webhooks(&id).await?;
    Ok(envelope::ok(hooks.iter().map(WebhookDto::from).collect()))
}

/// Get one webhook.
#[utoipa::path(get, path = "/api/sessions/{id}/webhooks/{webhookId}", tag = "webhooks",
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The webhook", body = WebhookDto),
              (status = 404, description = "SESSION_NOT_FOUND or WEBHOOK_NOT_FOUND")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id)): Path<(String, String)>,
) -> Result<Envelope<WebhookDto>, ApiError> {
    let hook = owned_webhook(&state, &principal, &id, &webhook_id).await?;
    Ok(envelope::ok(WebhookDto::from(&hook)))
}

/// Update a webhook (URL, events, secret, headers, format, concurrency; `active: true` re-enables it).
#[utoipa::path(patch, path = "/api/sessions/{id}/webhooks/{webhookId}", tag = "webhooks", request_body = UpdateWebhook,
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The updated webhook", body = WebhookDto),
              (status = 400, description = "WEBHOOK_URL_INVALID or VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND or WEBHOOK_NOT_FOUND"),
              (status = 409, description = "WEBHOOK_DUPLICATE")))]
pub async fn update_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id)): Path<(String, String)>,
    Json(body): Json<UpdateWebhook>,
) -> Result<Envelope<WebhookDto>, ApiError> {
    owned_webhook(&state, &principal, &id, &webhook_id).await?;
    let patch = WebhookPatch {
        url: match body.url.as_deref() {
            Some(u) => Some(url_ok(&state, u).await?),
            None => None,
        },
        events: events_ok(body.events)?,
        secret: match body.secret {
            None => None,
            Some(s) => Some(secret_ok(Some(s))?),
        },
        headers: headers_ok(body.headers)?,
        format: body.format.as_deref().map(format_ok).transpose()?,
        concurrency: concurrency_ok(body.concurrency)?,
        enabled: body.active,
    };
    let hook = state
        .store
        .update_webhook(&webhook_id, &patch)
        .await
        .map_err(conflict_as_duplicate)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::WebhookNotFound,
                format!("webhook {webhook_id} not found"),
            )
        })?;
    Ok(envelope::ok(WebhookDto::from(&hook)))
}

/// Delete a webhook (with its delivery log).
#[utoipa::path(delete, path = "/api/sessions/{id}/webhooks/{webhookId}", tag = "webhooks",
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Deleted"),
              (status = 404, description = "SESSION_NOT_FOUND or WEBHOOK_NOT_FOUND")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id)): Path<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    owned_webhook(&state, &principal, &id, &webhook_id).await?;
    state.store.delete_webhook(&webhook_id).await?;
    Ok(envelope::message("Webhook deleted successfully"))
}

/// A webhook's delivery attempts, newest first.
#[utoipa::path(get, path = "/api/sessions/{id}/webhooks/{webhookId}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id"), DeliveriesQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "A page of delivery attempts", body = [DeliveryDto]),
              (status = 404, description = "SESSION_NOT_FOUND or WEBHOOK_NOT_FOUND")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id)): Path<(String, String)>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Envelope<Vec<DeliveryDto>>, ApiError> {
    owned_webhook(&state, &principal, &id, &webhook_id).await?;
    let page = q.page.unwrap_or(1);
    let limit = q.limit.unwrap_or(20);
    if page == 0 || !(1..=100).contains(&limit) {
        return Err(ApiError::validation("page starts at 1; limit is 1 to 100"));
    }
    let (list, total) = state
        .store
        .list_deliveries(&webhook_id, page, limit)
        .await?;
    Ok(envelope::paginated(
        list.iter().map(DeliveryDto::from).collect(),
        Pagination::new(page, limit, total),
    ))
}

/// Deliver the event of one attempt again (queued; answered at once).
#[utoipa::path(post, path = "/api/sessions/{id}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id"),
           ("deliveryId" = String, Path, description = "A delivery attempt's id")),
    security(("api_key" = [])),
    responses((status = 202, description = "Queued"),
              (status = 404, description = "SESSION_NOT_FOUND, WEBHOOK_NOT_FOUND or NOT_FOUND")))]
pub async fn redeliver(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id, delivery_id)): Path<(String, String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    owned_webhook(&state, &principal, &id, &webhook_id).await?;
    let delivery = state
        .store
        .get_delivery(&webhook_id, &delivery_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("delivery {delivery_id} not found"),
            )
        })?;
    if state.store.get_event(delivery.seq).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "event {} is no longer in the event log (retention)",
                delivery.seq
            ),
        ));
    }
    state
        .store
        .enqueue_redelivery(&webhook_id, delivery.seq)
        .await?;
    Ok(envelope::accepted(serde_json::json!({
        "message": "Redelivery queued",
        "seq": delivery.seq,
    })))
}

/// Deliver again every event of the session from a sequence number on.
#[utoipa::path(post, path = "/api/sessions/{id}/webhooks/{webhookId}/replay", tag = "webhooks", request_body = ReplayRequest,
    params(("id" = String, Path, description = "Session id"), ("webhookId" = String, Path, description = "Webhook id")),
    security(("api_key" = [])),
    responses((status = 202, description = "Replay queued"),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND or WEBHOOK_NOT_FOUND")))]
pub async fn replay(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, webhook_id)): Path<(String, String)>,
    Json(body): Json<ReplayRequest>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    owned_webhook(&state, &principal, &id, &webhook_id).await?;
    if body.from_seq < 1 {
        return Err(ApiError::validation("fromSeq must be at least 1"));
    }
    // Past the log's end the webhook would wait for events that never come.
    let last = state.store.last_event_seq().await?;
    if body.from_seq > last.saturating_add(1) {
        return Err(ApiError::validation(format!(
            "fromSeq must be at most {} (the next event's number)",
            last.saturating_add(1)
        )));
    }
    state
        .store
        .request_webhook_replay(&webhook_id, body.from_seq)
        .await?;
    Ok(envelope::accepted(serde_json::json!({
        "message": "Replay queued",
        "fromSeq": body.from_seq,
    })))
}

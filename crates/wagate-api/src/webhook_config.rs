//! What a webhook endpoint may be, and creating one for a session: the
//! URL (http(s), and an address the outbound policy lets the gateway
//! reach), the event filter, custom headers and the write-only secret.
//! Shared by the webhook routes and session creation (`webhook` in the
//! create body).

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::ErrorCode;
use wagate_store::StoreError;
use wagate_store::app::SessionRecord;
use wagate_store::app::webhooks::{NewWebhook, WebhookRecord};

use crate::error::ApiError;
use crate::state::AppState;

/// Longest URL accepted.
const MAX_URL_CHARS: usize = 2048;
/// Most custom headers per webhook.
const MAX_HEADERS: usize = 20;
/// Longest secret accepted.
const MAX_SECRET_CHARS: usize = 512;
/// Most event names in a filter.
const MAX_EVENTS: usize = 64;
/// Most deliveries one webhook may have in flight.
pub const MAX_CONCURRENCY: i64 = 64;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateWebhook {
    /// Where events are POSTed: an http:// or https:// URL.
    #[schema(example = "https://your-server.com/webhook")]
    pub url: String,
    /// Event names to deliver; `*` (the default) is every event, `message.*` every message event.
    #[schema(example = json!(["message.received", "message.ack", "session.status"]))]
    pub events: Option<Vec<String>>,
    /// Signs each delivery (`X-OpenWA-Signature`, `webhook-signature`). Write-only.
    pub secret: Option<String>,
    /// Extra headers sent with every delivery.
    pub headers: Option<BTreeMap<String, String>>,
    /// `openwa` (default: the contract's body and headers) or a drop-in
    /// system's: `wago` (seed 002: incoming messages, `X-Wago-Signature`)
    /// or `sudevwa` (seed 000: `incoming_message`, `X-SUDEVWA-Signature`).
    pub format: Option<String>,
    /// Deliveries in flight at once, 1–64. 1 (the default) delivers in the
    /// log's order, each event after the one before it settled; more lets
    /// up to that many go at once, so a receiver may see them out of order
    /// (each still arrives, with its own idempotency key and `seq`).
    #[schema(example = 1, minimum = 1, maximum = 64)]
    pub concurrency: Option<i64>,
}

/// An http(s) URL with a host that the outbound policy lets the gateway
/// reach: an internal address (loopback, private, link-local, …, or a name
/// resolving only to such) is refused now with `reason: forbidden_address`;
/// delivery checks again at every connect.
pub async fn url_ok(state: &AppState, url: &str) -> Result<String, ApiError> {
    checked_url(state, "url", url).await
}

/// [`url_ok`] for a URL the client sent in field `field` (an outbox
/// worker's `webhookUrl`, say).
pub async fn checked_url(state: &AppState, field: &str, url: &str) -> Result<String, ApiError> {
    let url = url.trim();
    let valid = url.chars().count() <= MAX_URL_CHARS
        && url::Url::parse(url)
            .map(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            })
            .unwrap_or(false);
    if !valid {
        return Err(ApiError::new(
            ErrorCode::WebhookUrlInvalid,
            format!("{field} must be an http:// or https:// URL with a host"),
        )
        .with_details(serde_json::json!({ "reason": "invalid_url" })));
    }
    let policy = state.manager.config().outbound.policy();
    if let Err(e) = policy.check_url_resolving(url).await {
        return Err(
            ApiError::new(ErrorCode::WebhookUrlInvalid, e.message.clone())
                .with_details(serde_json::json!({ "reason": e.reason.as_str() })),
        );
    }
    Ok(url.to_string())
}

pub fn events_ok(events: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(events) = events else {
        return Ok(None);
    };
    let events: Vec<String> = events.into_iter().map(|e| e.trim().to_string()).collect();
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(ApiError::validation(format!(
            "events must list 1 to {MAX_EVENTS} event names (or [\"*\"] for all)"
        )));
    }
    if let Some(bad) = events.iter().find(|e| {
        e.is_empty()
            || e.len() > 64
            || !e
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._*-".contains(c))
    }) {
        return Err(ApiError::validation(format!(
            "'{bad}' is not an event name"
        )));
    }
    wagate_core::event::validate_filter(&events)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    Ok(Some(events))
}

pub fn headers_ok(
    headers: Option<BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let Some(headers) = headers else {
        return Ok(None);
    };
    if headers.len() > MAX_HEADERS {
        return Err(ApiError::validation(format!(
            "at most {MAX_HEADERS} custom headers"
        )));
    }
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        let reserved = matches!(
            lower.as_str(),
            "content-type"
                | "content-length"
                | "host"
                | "transfer-encoding"
                | "connection"
                | "user-agent"
        ) || lower.starts_with("x-openwa-")
            || lower.starts_with("webhook-");
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err()
        {
            return Err(ApiError::validation(format!(
                "header '{name}' is not a valid HTTP header"
            )));
        }
        if reserved {
            return Err(ApiError::validation(format!(
                "header '{name}' is set by the gateway and cannot be overridden"
            )));
        }
    }
    Ok(Some(headers))
}

/// A webhook's `concurrency`: 1 to [`MAX_CONCURRENCY`].
pub fn concurrency_ok(concurrency: Option<i64>) -> Result<Option<u32>, ApiError> {
    match concurrency {
        None => Ok(None),
        Some(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(ApiError::validation(format!(
            "concurrency must be 1 to {MAX_CONCURRENCY}"
        ))),
    }
}

/// A webhook format's name.
pub fn format_ok(format: &str) -> Result<wagate_core::WebhookFormat, ApiError> {
    format.trim().parse().map_err(|_| {
        let names: Vec<&str> = wagate_core::WebhookFormat::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        ApiError::validation(format!("format must be one of {}", names.join(", ")))
    })
}

pub fn secret_ok(secret: Option<String>) -> Result<Option<String>, ApiError> {
    match secret {
        Some(s) if s.chars().count() > MAX_SECRET_CHARS => Err(ApiError::validation(format!(
            "secret must be at most {MAX_SECRET_CHARS} characters"
        ))),
        Some(s) if s.is_empty() => Ok(None),
        other => Ok(other),
    }
}

pub fn conflict_as_duplicate(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::new(ErrorCode::WebhookDuplicate, m),
        other => other.into(),
    }
}

/// The contract's checks on a new webhook, without creating it.
pub async fn validate(state: &AppState, body: &CreateWebhook) -> Result<(), ApiError> {
    url_ok(state, &body.url).await?;
    events_ok(body.events.clone())?;
    headers_ok(body.headers.clone())?;
    secret_ok(body.secret.clone())?;
    body.format.as_deref().map(format_ok).transpose()?;
    concurrency_ok(body.concurrency)?;
    Ok(())
}

fn webhook_id() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    format!("wh_{}", &raw[..16])
}

/// Creates a webhook on a session the caller owns, after the checks of the
/// contract (URL, duplicate, limit). `start_after` is where delivery starts
/// (events with a greater sequence number); session create passes the log's
/// end from before the session existed, so the webhook hears its first QR.
pub async fn create_for_session(
    state: &AppState,
    session: &SessionRecord,
    body: CreateWebhook,
    start_after: Option<i64>,
) -> Result<WebhookRecord, ApiError> {
    let url = url_ok(state, &body.url).await?;
    let events = events_ok(body.events)?.unwrap_or_else(|| vec!["*".to_string()]);
    let headers = headers_ok(body.headers)?.unwrap_or_default();
    let secret = secret_ok(body.secret)?;
    let format = body
        .format
        .as_deref()
        .map(format_ok)
        .transpose()?
        .unwrap_or_default();
    let concurrency = concurrency_ok(body.concurrency)?.unwrap_or(1);
    let limit = state.config.webhook_max_per_session;
    if state.store.count_webhooks(&session.id).await? as usize >= limit {
        return Err(ApiError::new(
            ErrorCode::WebhookLimitReached,
            format!("a session may have at most {limit} webhooks"),
        ));
    }
    let last_seq = match start_after {
        Some(n) => n,
        None => state.store.last_event_seq().await?,
    };
    state
        .store
        .insert_webhook(&NewWebhook {
            id: webhook_id(),
            session_id: Some(session.id.clone()),
            tenant_id: session.tenant_id.clone(),
            url,
            events,
            secret,
            headers,
            format,
            concurrency,
            last_seq,
        })
        .await
        .map_err(conflict_as_duplicate)
}

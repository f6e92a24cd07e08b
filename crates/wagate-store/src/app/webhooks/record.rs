//! The `webhooks` row: an endpoint ([`WebhookRecord`]), what creates one
//! ([`NewWebhook`]) and what changes one ([`WebhookPatch`]), with the SQL
//! column list and decoder they share. The secret never shows in `Debug`.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use wagate_core::WebhookFormat;

use super::event_matches;

#[derive(Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: String,
    /// `None` for the global webhook (every tenant's events).
    pub session_id: Option<String>,
    pub tenant_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// The shape of its deliveries.
    pub format: WebhookFormat,
    /// Deliveries in flight at once: 1 keeps the log's order.
    pub concurrency: u32,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The last event sequence number handed to this endpoint.
    pub last_seq: i64,
    /// A replay the API asked for, not yet picked up by the worker.
    pub replay_from: Option<i64>,
    /// When the current run of failures began.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("session_id", &self.session_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("format", &self.format)
            .field("concurrency", &self.concurrency)
            .field("enabled", &self.enabled)
            .field("last_seq", &self.last_seq)
            .finish()
    }
}

impl WebhookRecord {
    /// Whether this endpoint wants events named `event` (`*` is every event,
    /// `message.*` every event starting with `message.`).
    pub fn wants(&self, event: &str) -> bool {
        event_matches(&self.events, event)
    }
}

/// A webhook to create.
#[derive(Clone)]
pub struct NewWebhook {
    pub id: String,
    pub session_id: Option<String>,
    pub tenant_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub format: WebhookFormat,
    /// Deliveries in flight at once (1: in order).
    pub concurrency: u32,
    /// Where delivery starts: events after this sequence number.
    pub last_seq: i64,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)` removes the secret.
    pub secret: Option<Option<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub format: Option<WebhookFormat>,
    pub concurrency: Option<u32>,
    /// `Some(true)` re-enables a disabled endpoint (and forgets its failures).
    pub enabled: Option<bool>,
}

pub(super) const COLUMNS: &str = "id, session_id, tenant_id, url, events, secret, headers, format, concurrency, enabled, disabled_reason, last_seq, replay_from, failing_since, created_at, updated_at";

pub(super) fn webhook_from_row(r: &AnyRow) -> Result<WebhookRecord, sqlx::Error> {
    let events: String = r.try_get("events")?;
    let headers: String = r.try_get("headers")?;
    let enabled: i64 = r.try_get("enabled")?;
    let concurrency: i64 = r.try_get("concurrency")?;
    Ok(WebhookRecord {
        id: r.try_get("id")?,
        session_id: r.try_get("session_id")?,
        tenant_id: r.try_get("tenant_id")?,
        url: r.try_get("url")?,
        events: serde_json::from_str(&events).unwrap_or_else(|_| vec!["*".to_string()]),
        secret: r.try_get("secret")?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        format: crate::app::wire(r, "format")?,
        concurrency: concurrency.clamp(1, u32::MAX as i64) as u32,
        enabled: enabled != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        last_seq: r.try_get("last_seq")?,
        replay_from: r.try_get("replay_from")?,
        failing_since: r.try_get("failing_since")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(super) fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[\"*\"]".to_string())
}

pub(super) fn json_map(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".to_string())
}

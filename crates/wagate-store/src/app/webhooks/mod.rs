//! Webhook endpoints, their delivery cursors and their delivery log.
//!
//! A webhook row is an endpoint plus a durable cursor (`last_seq`, the last
//! event of the log it was given, successfully or finally failed). The
//! delivery worker advances the cursor only with compare-and-set, so a replay
//! requested through the API (`replay_from`) is never overwritten by a
//! delivery that was in flight, and a restart (even a SIGKILL) resumes from
//! exactly where the cursor stands.
//!
//! `webhook_deliveries` is one row per attempt (the `deliveryId` the receiver
//! saw), `webhook_redeliveries` a queue of events to send again on request.
//! The secret is stored (the worker signs with it) but never shown: the
//! record's `Debug` redacts it.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use wagate_core::{DeliveryOutcome, WebhookFormat};

use crate::app::EventRecord;
use crate::{Store, StoreError};

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

/// Whether an events filter lets `event` through.
pub fn event_matches(filter: &[String], event: &str) -> bool {
    wagate_core::event::filter_matches(filter, event)
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
    /// `Some(true)` re-enables a disabled endpoint (and forgets its failures).
    pub enabled: Option<bool>,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// The `deliveryId` the receiver saw.
    pub id: String,
    pub webhook_id: String,
    pub seq: i64,
    pub event: String,
    pub idempotency_key: String,
    /// 0 for the first attempt.
    pub attempt: i64,
    pub outcome: DeliveryOutcome,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, session_id, tenant_id, url, events, secret, headers, format, enabled, disabled_reason, last_seq, replay_from, failing_since, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, seq, event, idempotency_key, attempt, outcome, status_code, latency_ms, error, created_at";

fn webhook_from_row(r: &AnyRow) -> Result<WebhookRecord, sqlx::Error> {
    let events: String = r.try_get("events")?;
    let headers: String = r.try_get("headers")?;
    let enabled: i64 = r.try_get("enabled")?;
    Ok(WebhookRecord {
        id: r.try_get("id")?,
        session_id: r.try_get("session_id")?,
        tenant_id: r.try_get("tenant_id")?,
        url: r.try_get("url")?,
        events: serde_json::from_str(&events).unwrap_or_else(|_| vec!["*".to_string()]),
        secret: r.try_get("secret")?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        format: super::wire(r, "format")?,
        enabled: enabled != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        last_seq: r.try_get("last_seq")?,
        replay_from: r.try_get("replay_from")?,
        failing_since: r.try_get("failing_since")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn delivery_from_row(r: &AnyRow) -> Result<DeliveryRecord, sqlx::Error> {
    Ok(DeliveryRecord {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        seq: r.try_get("seq")?,
        event: r.try_get("event")?,
        idempotency_key: r.try_get("idempotency_key")?,
        attempt: r.try_get("attempt")?,
        outcome: super::wire(r, "outcome")?,
        status_code: r.try_get("status_code")?,
        latency_ms: r.try_get("latency_ms")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
    })
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[\"*\"]".to_string())
}

fn json_map(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".to_string())
}

impl Store {
    /// Creates a webhook; `Conflict` when the session already has one for
    /// that URL.
    pub async fn insert_webhook(&self, new: &NewWebhook) -> Result<WebhookRecord, StoreError> {
        let now = wagate_core::now_ms();
        let result = sqlx::query(
            "INSERT INTO webhooks (id, session_id, tenant_id, url, events, secret, headers, enabled,
                                   disabled_reason, last_seq, replay_from, failing_since, created_at, updated_at,
                                   format)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, NULL, $8, NULL, NULL, $9, $9, $10)",
        )
        .bind(&new.id)
        .bind(&new.session_id)
        .bind(&new.tenant_id)
        .bind(&new.url)
        .bind(json_list(&new.events))
        .bind(&new.secret)
        .bind(json_map(&new.headers))
        .bind(new.last_seq)
        .bind(now)
        .bind(new.format.as_str())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "a webhook for {} already exists on this session",
                    new.url
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.get_webhook(&new.id).await?.ok_or(StoreError::NotFound)
    }

    /// Creates or refreshes the global webhook (from the environment). A new
    /// one starts at the end of the log; an existing one keeps its cursor,
    /// and is enabled again (a restart is the operator's say-so).
    pub async fn upsert_global_webhook(
        &self,
        id: &str,
        tenant_id: &str,
        url: &str,
        events: &[String],
        secret: Option<&str>,
    ) -> Result<WebhookRecord, StoreError> {
        let now = wagate_core::now_ms();
        if self.get_webhook(id).await?.is_some() {
            sqlx::query(
                "UPDATE webhooks SET url = $2, events = $3, secret = $4, enabled = 1, disabled_reason = NULL,
                        failing_since = NULL, updated_at = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(url)
            .bind(json_list(events))
            .bind(secret)
            .bind(now)
            .execute(&self.pool)
            .await?;
            return self.get_webhook(id).await?.ok_or(StoreError::NotFound);
        }
        let last_seq = self.last_event_seq().await?;
        self.insert_webhook(&NewWebhook {
            id: id.to_string(),
            session_id: None,
            tenant_id: tenant_id.to_string(),
            url: url.to_string(),
            events: events.to_vec(),
            secret: secret.map(str::to_owned),
            headers: BTreeMap::new(),
            format: WebhookFormat::Openwa,
            last_seq,
        })
        .await
    }

    pub async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(webhook_from_row).transpose()?)
    }

    /// A session's webhooks, oldest first.
    pub async fn list_webhooks(&self, session_id: &str) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE session_id = $1 ORDER BY created_at, id"
        )))
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(webhook_from_row)
            .collect::<Result<_, _>>()?)
    }

    pub async fn count_webhooks(&self, session_id: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhooks WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// Every enabled webhook (the worker runs one task for each).
    pub async fn list_enabled_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE enabled = 1 ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(webhook_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Applies a patch; `None` when there is no such webhook, `Conflict`
    /// when the new URL is already used on the session.
    pub async fn update_webhook(
        &self,
        id: &str,
        patch: &WebhookPatch,
    ) -> Result<Option<WebhookRecord>, StoreError> {
        let Some(mut w) = self.get_webhook(id).await? else {
            return Ok(None);
        };
        if let Some(url) = &patch.url {
            w.url = url.clone();
        }
        if let Some(events) = &patch.events {
            w.events = events.clone();
        }
        if let Some(secret) = &patch.secret {
            w.secret = secret.clone();
        }
        if let Some(headers) = &patch.headers {
            w.headers = headers.clone();
        }
        if let Some(format) = patch.format {
            w.format = format;
        }
        match patch.enabled {
            Some(true) if !w.enabled => {
                w.enabled = true;
                w.disabled_reason = None;
                w.failing_since = None;
            }
            Some(false) if w.enabled => {
                w.enabled = false;
                w.disabled_reason = Some("disabled by request".to_string());
            }
            _ => {}
        }
        let result = sqlx::query(
            "UPDATE webhooks SET url = $2, events = $3, secret = $4, headers = $5, enabled = $6,
                    disabled_reason = $7, failing_since = $8, updated_at = $9, format = $10
             WHERE id = $1",
        )
        .bind(id)
        .bind(&w.url)
        .bind(json_list(&w.events))
        .bind(&w.secret)
        .bind(json_map(&w.headers))
        .bind(w.enabled as i64)
        .bind(&w.disabled_reason)
        .bind(w.failing_since)
        .bind(wagate_core::now_ms())
        .bind(w.format.as_str())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "a webhook for {} already exists on this session",
                    w.url
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.get_webhook(id).await
    }

    /// Deletes a webhook with its delivery log and pending redeliveries.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_redeliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the cursor from `from` to `to`, unless it moved meanwhile or a
    /// replay is pending; returns whether it did.
    pub async fn advance_webhook_cursor(
        &self,
        id: &str,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhooks SET last_seq = $3 WHERE id = $1 AND last_seq = $2 AND replay_from IS NULL",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Asks the worker to deliver again every event from `from_seq` on.
    pub async fn request_webhook_replay(
        &self,
        id: &str,
        from_seq: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE webhooks SET replay_from = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(from_seq.max(1))
                .bind(wagate_core::now_ms())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Applies a pending replay: the cursor moves back to just before it.
    /// Returns the new cursor, if there was a replay to apply.
    pub async fn take_webhook_replay(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT replay_from FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let from: Option<i64> = match row {
            Some(r) => r.try_get("replay_from")?,
            None => None,
        };
        let Some(from) = from else {
            tx.commit().await?;
            return Ok(None);
        };
        let cursor = from - 1;
        sqlx::query("UPDATE webhooks SET last_seq = $2, replay_from = NULL WHERE id = $1 AND replay_from = $3")
            .bind(id)
            .bind(cursor)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(cursor))
    }

    /// Records the start of a run of failures (kept if one is already running).
    pub async fn mark_webhook_failing(&self, id: &str, since: i64) -> Result<i64, StoreError> {
        sqlx::query(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(since)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT failing_since FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let value: Option<i64> = match row {
            Some(r) => r.try_get("failing_since")?,
            None => None,
        };
        Ok(value.unwrap_or(since))
    }

    /// Ends a run of failures.
    pub async fn clear_webhook_failing(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Disables an enabled webhook; returns whether this call disabled it.
    pub async fn disable_webhook(&self, id: &str, reason: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhooks SET enabled = 0, disabled_reason = $2, updated_at = $3 WHERE id = $1 AND enabled = 1",
        )
        .bind(id)
        .bind(reason)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn record_delivery(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, idempotency_key, attempt, outcome,
                                             status_code, latency_ms, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&d.id)
        .bind(&d.webhook_id)
        .bind(d.seq)
        .bind(&d.event)
        .bind(&d.idempotency_key)
        .bind(d.attempt)
        .bind(d.outcome.as_str())
        .bind(d.status_code)
        .bind(d.latency_ms)
        .bind(&d.error)
        .bind(d.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A webhook's delivery attempts, newest first, and how many there are.
    pub async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64), StoreError> {
        let limit = limit.clamp(1, 500);
        let offset = (page.max(1) as i64 - 1) * limit as i64;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1
             ORDER BY created_at DESC, seq DESC, attempt DESC LIMIT {limit} OFFSET {offset}"
        )))
        .bind(webhook_id)
        .fetch_all(&self.pool)
        .await?;
        let total =
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook_id)
                .fetch_one(&self.pool)
                .await?;
        let total: i64 = total.try_get("n")?;
        let list = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?;
        Ok((list, total.max(0) as u64))
    }

    pub async fn get_delivery(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
        )))
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(delivery_from_row).transpose()?)
    }

    /// Queues one event to be delivered again to a webhook (and touches the
    /// webhook, so the dispatcher wakes its worker).
    pub async fn enqueue_redelivery(&self, webhook_id: &str, seq: i64) -> Result<(), StoreError> {
        let now = wagate_core::now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_redeliveries (webhook_id, seq, created_at) VALUES ($1, $2, $3)",
        )
        .bind(webhook_id)
        .bind(seq)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhooks SET updated_at = $2 WHERE id = $1")
            .bind(webhook_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The oldest queued redelivery of a webhook: (queue id, seq).
    pub async fn next_redelivery(
        &self,
        webhook_id: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, seq FROM webhook_redeliveries WHERE webhook_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(webhook_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((r.try_get("id")?, r.try_get("seq")?))),
            None => Ok(None),
        }
    }

    pub async fn remove_redelivery(&self, queue_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM webhook_redeliveries WHERE id = $1")
            .bind(queue_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One event of the log by sequence number (`None` once pruned).
    pub async fn get_event(&self, seq: i64) -> Result<Option<EventRecord>, StoreError> {
        let found = self
            .read_events(&crate::app::EventQuery {
                after: seq - 1,
                limit: 1,
                ..Default::default()
            })
            .await?;
        Ok(found.into_iter().next().filter(|e| e.seq == seq))
    }

    /// Retention: deletes events older than `cutoff_ms`, except those an
    /// enabled webhook has not been given yet; old delivery-log rows go too.
    /// Returns how many events were deleted.
    pub async fn prune_delivered_events(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN replay_from IS NOT NULL AND replay_from - 1 < last_seq
                             THEN replay_from - 1 ELSE last_seq END) AS m
             FROM webhooks WHERE enabled = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        let webhooks_need: Option<i64> = row.try_get("m")?;
        // Event-bus outputs hold the log back the same way.
        let outputs_need = self.lowest_output_cursor().await?;
        let keep_after = match (webhooks_need, outputs_need) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1 AND seq <= $2")
            .bind(cutoff_ms)
            .bind(keep_after.unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE created_at < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the webhooks (and event-bus outputs) of sessions that no
    /// longer exist.
    pub async fn delete_orphan_webhooks(&self) -> Result<u64, StoreError> {
        sqlx::query(
            "DELETE FROM outputs WHERE session_id IS NOT NULL
               AND session_id NOT IN (SELECT id FROM sessions)",
        )
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT id FROM webhooks WHERE session_id IS NOT NULL
               AND session_id NOT IN (SELECT id FROM sessions)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for r in rows {
            let id: String = r.try_get("id")?;
            if self.delete_webhook(&id).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters() {
        let all = vec!["*".to_string()];
        assert!(event_matches(&all, "message.received"));
        let some = vec!["message.*".to_string(), "session.status".to_string()];
        assert!(event_matches(&some, "message.ack"));
        assert!(event_matches(&some, "session.status"));
        assert!(!event_matches(&some, "session.qr"));
        assert!(!event_matches(&["messages*".to_string()], "messages.x"));
    }
}

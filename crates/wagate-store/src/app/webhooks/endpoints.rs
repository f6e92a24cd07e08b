//! Managing endpoints: creating (per session, or the global one from the
//! environment), reading, listing, patching and deleting webhooks.

use std::collections::BTreeMap;

use sqlx::Row;
use wagate_core::WebhookFormat;

use super::record::{
    COLUMNS, NewWebhook, WebhookPatch, WebhookRecord, json_list, json_map, webhook_from_row,
};
use crate::{Store, StoreError};

impl Store {
    /// Creates a webhook; `Conflict` when the session already has one for
    /// that URL.
    pub async fn insert_webhook(&self, new: &NewWebhook) -> Result<WebhookRecord, StoreError> {
        let now = wagate_core::now_ms();
        let result = sqlx::query(
            "INSERT INTO webhooks (id, session_id, tenant_id, url, events, secret, headers, enabled,
                                   disabled_reason, last_seq, replay_from, failing_since, created_at, updated_at,
                                   format, concurrency)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, NULL, $8, NULL, NULL, $9, $9, $10, $11)",
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
        .bind(i64::from(new.concurrency.max(1)))
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
            concurrency: 1,
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
        if let Some(concurrency) = patch.concurrency {
            w.concurrency = concurrency.max(1);
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
                    disabled_reason = $7, failing_since = $8, updated_at = $9, format = $10,
                    concurrency = $11
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
        .bind(i64::from(w.concurrency))
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
}

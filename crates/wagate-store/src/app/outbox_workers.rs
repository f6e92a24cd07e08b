//! Outbox worker configurations: what `wagate worker` processes serve.
//!
//! A configuration names the applications of the outbox table a worker
//! claims rows for (`App1`, `App1, App2` or `*`), the circle of sessions it
//! sends through (`None`: any session its key can see), the pause between
//! rows (with optional random jitter up to `interval_max_seconds`), and an
//! optional status webhook. Workers fetch them through the API and reload
//! them every 30 seconds, so an edit here reaches every running worker.
//!
//! The webhook secret is stored (the worker signs with it) but the record's
//! `Debug` never shows it.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

#[derive(Clone, PartialEq)]
pub struct OutboxWorkerRecord {
    pub id: i64,
    pub tenant_id: String,
    pub name: String,
    pub circle: Option<String>,
    pub application: String,
    pub interval_seconds: i64,
    pub interval_max_seconds: Option<i64>,
    pub enabled: bool,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for OutboxWorkerRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorkerRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("circle", &self.circle)
            .field("application", &self.application)
            .field("interval_seconds", &self.interval_seconds)
            .field("interval_max_seconds", &self.interval_max_seconds)
            .field("enabled", &self.enabled)
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// A configuration to create.
#[derive(Clone)]
pub struct NewOutboxWorker {
    pub tenant_id: String,
    pub name: String,
    pub circle: Option<String>,
    pub application: String,
    pub interval_seconds: i64,
    pub interval_max_seconds: Option<i64>,
    pub enabled: bool,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears a
/// nullable one.
#[derive(Clone, Default)]
pub struct OutboxWorkerPatch {
    pub name: Option<String>,
    pub circle: Option<Option<String>>,
    pub application: Option<String>,
    pub interval_seconds: Option<i64>,
    pub interval_max_seconds: Option<Option<i64>>,
    pub enabled: Option<bool>,
    pub webhook_url: Option<Option<String>>,
    pub webhook_secret: Option<Option<String>>,
}

impl OutboxWorkerPatch {
    /// The record with this patch applied.
    pub fn apply(&self, mut w: OutboxWorkerRecord) -> OutboxWorkerRecord {
        if let Some(v) = &self.name {
            w.name = v.clone();
        }
        if let Some(v) = &self.circle {
            w.circle = v.clone();
        }
        if let Some(v) = &self.application {
            w.application = v.clone();
        }
        if let Some(v) = self.interval_seconds {
            w.interval_seconds = v;
        }
        if let Some(v) = self.interval_max_seconds {
            w.interval_max_seconds = v;
        }
        if let Some(v) = self.enabled {
            w.enabled = v;
        }
        if let Some(v) = &self.webhook_url {
            w.webhook_url = v.clone();
        }
        if let Some(v) = &self.webhook_secret {
            w.webhook_secret = v.clone();
        }
        w
    }
}

const COLUMNS: &str = "id, tenant_id, name, circle, application, interval_seconds, interval_max_seconds, enabled, webhook_url, webhook_secret, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<OutboxWorkerRecord, sqlx::Error> {
    let enabled: i64 = r.try_get("enabled")?;
    Ok(OutboxWorkerRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        circle: r.try_get("circle")?,
        application: r.try_get("application")?,
        interval_seconds: r.try_get("interval_seconds")?,
        interval_max_seconds: r.try_get("interval_max_seconds")?,
        enabled: enabled != 0,
        webhook_url: r.try_get("webhook_url")?,
        webhook_secret: r.try_get("webhook_secret")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn duplicate(name: &str) -> StoreError {
    StoreError::Conflict(format!("an outbox worker named '{name}' already exists"))
}

impl Store {
    /// Creates a configuration; `Conflict` when the tenant already has one
    /// with that name.
    pub async fn insert_outbox_worker(
        &self,
        new: &NewOutboxWorker,
    ) -> Result<OutboxWorkerRecord, StoreError> {
        let now = wagate_core::now_ms();
        let result = sqlx::query(
            "INSERT INTO outbox_workers (tenant_id, name, circle, application, interval_seconds,
                                         interval_max_seconds, enabled, webhook_url, webhook_secret,
                                         created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(&new.tenant_id)
        .bind(&new.name)
        .bind(&new.circle)
        .bind(&new.application)
        .bind(new.interval_seconds)
        .bind(new.interval_max_seconds)
        .bind(new.enabled as i64)
        .bind(&new.webhook_url)
        .bind(&new.webhook_secret)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        let id: i64 = match result {
            Ok(row) => row.try_get("id")?,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(duplicate(&new.name));
            }
            Err(e) => return Err(e.into()),
        };
        self.get_outbox_worker(id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn get_outbox_worker(
        &self,
        id: i64,
    ) -> Result<Option<OutboxWorkerRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox_workers WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Configurations by id; one tenant's, or every tenant's with `None`.
    pub async fn list_outbox_workers(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<OutboxWorkerRecord>, StoreError> {
        let rows = match tenant_id {
            Some(t) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox_workers WHERE tenant_id = $1 ORDER BY id"
                )))
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox_workers ORDER BY id"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Applies a patch; `None` when there is no such configuration,
    /// `Conflict` when the new name is taken.
    pub async fn update_outbox_worker(
        &self,
        id: i64,
        patch: &OutboxWorkerPatch,
    ) -> Result<Option<OutboxWorkerRecord>, StoreError> {
        let Some(current) = self.get_outbox_worker(id).await? else {
            return Ok(None);
        };
        let w = patch.apply(current);
        let result = sqlx::query(
            "UPDATE outbox_workers SET name = $2, circle = $3, application = $4, interval_seconds = $5,
                    interval_max_seconds = $6, enabled = $7, webhook_url = $8, webhook_secret = $9,
                    updated_at = $10
             WHERE id = $1",
        )
        .bind(id)
        .bind(&w.name)
        .bind(&w.circle)
        .bind(&w.application)
        .bind(w.interval_seconds)
        .bind(w.interval_max_seconds)
        .bind(w.enabled as i64)
        .bind(&w.webhook_url)
        .bind(&w.webhook_secret)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(duplicate(&w.name));
            }
            Err(e) => return Err(e.into()),
        }
        self.get_outbox_worker(id).await
    }

    pub async fn delete_outbox_worker(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM outbox_workers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

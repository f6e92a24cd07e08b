//! Bulk batches: a `send_batches` row and the `send_queue` rows it owns
//! (`batch_id`, `batch_seq`). A batch is created with all its messages in
//! one transaction; its progress is counted from its messages' statuses.

use sqlx::{AssertSqlSafe, Row};
use wagate_core::{BatchStatus, QueueStatus};

use super::record::{COLUMNS, NewQueued, QueuedRecord, insert_queued, queued_from_row};
use crate::app::wire;
use crate::{Store, StoreError};

/// A bulk batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    pub session_id: String,
    pub id: String,
    pub tenant_id: String,
    pub status: BatchStatus,
    pub total: i64,
    /// The request's options, as JSON.
    pub options: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// Counts of a batch's messages by status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchProgress {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl BatchProgress {
    pub fn pending(&self) -> i64 {
        self.queued + self.sending
    }
}

/// The outcome of creating a batch.
#[derive(Debug)]
pub enum BatchCreated {
    New,
    /// The idempotency key was used before: this is the batch it created.
    Existing(Box<BatchRecord>),
    /// The session already has a batch with this id.
    IdTaken,
}

const BATCH_COLUMNS: &str = "session_id, id, tenant_id, status, total, options, idempotency_key, request_hash, created_at, started_at, completed_at";

impl Store {
    /// Creates a batch and queues its messages in one transaction.
    pub async fn create_batch(
        &self,
        batch: &BatchRecord,
        items: &[NewQueued],
    ) -> Result<BatchCreated, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO send_batches (session_id, id, tenant_id, status, total, options,
                                       idempotency_key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING",
        )
        .bind(&batch.session_id)
        .bind(&batch.id)
        .bind(&batch.tenant_id)
        .bind(batch.status.as_str())
        .bind(batch.total)
        .bind(&batch.options)
        .bind(&batch.idempotency_key)
        .bind(&batch.request_hash)
        .bind(batch.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !inserted {
            tx.rollback().await?;
            if let Some(key) = &batch.idempotency_key
                && let Some(existing) = self.batch_by_key(&batch.tenant_id, key).await?
            {
                return Ok(BatchCreated::Existing(Box::new(existing)));
            }
            return Ok(BatchCreated::IdTaken);
        }
        for item in items {
            if !insert_queued(&mut *tx, item, batch.created_at).await? {
                tx.rollback().await?;
                return Err(StoreError::Conflict(
                    "a message of the batch could not be queued (id clash)".into(),
                ));
            }
        }
        tx.commit().await?;
        Ok(BatchCreated::New)
    }

    pub async fn batch_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM send_batches WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| batch_from_row(&r)).transpose()?)
    }

    pub async fn get_batch(
        &self,
        session_id: &str,
        id: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM send_batches WHERE session_id = $1 AND id = $2"
        )))
        .bind(session_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| batch_from_row(&r)).transpose()?)
    }

    /// A batch's messages in order.
    pub async fn batch_items(
        &self,
        session_id: &str,
        batch_id: &str,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE session_id = $1 AND batch_id = $2 ORDER BY batch_seq"
        )))
        .bind(session_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| queued_from_row(r).map_err(Into::into))
            .collect()
    }

    pub async fn batch_progress(
        &self,
        session_id: &str,
        batch_id: &str,
    ) -> Result<BatchProgress, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM send_queue
             WHERE session_id = $1 AND batch_id = $2 GROUP BY status",
        )
        .bind(session_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        let mut p = BatchProgress::default();
        for r in &rows {
            let status: QueueStatus = wire(r, "status")?;
            let n: i64 = r.try_get("n")?;
            p.total += n;
            match status {
                QueueStatus::Queued => p.queued = n,
                QueueStatus::Sending => p.sending = n,
                QueueStatus::Sent => p.sent = n,
                QueueStatus::Failed => p.failed = n,
                QueueStatus::Cancelled => p.cancelled = n,
            }
        }
        Ok(p)
    }

    /// Holds a batch's remaining messages until `not_before` (the delay
    /// between two of its messages).
    pub async fn hold_batch(
        &self,
        session_id: &str,
        batch_id: &str,
        not_before: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_queue SET not_before = $3
             WHERE session_id = $1 AND batch_id = $2 AND status = 'queued' AND not_before < $3",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(not_before)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Cancels a batch's queued messages; returns how many.
    pub async fn cancel_batch_items(
        &self,
        session_id: &str,
        batch_id: &str,
        reason: Option<(&str, &str)>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', error_code = $3, error_message = $4, updated_at = $5
             WHERE session_id = $1 AND batch_id = $2 AND status = 'queued'",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(reason.map(|r| r.0))
        .bind(reason.map(|r| r.1))
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Moves a batch to `status` (`processing` → `completed` / `cancelled`);
    /// false when it had already left `processing`.
    pub async fn finish_batch(
        &self,
        session_id: &str,
        batch_id: &str,
        status: BatchStatus,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_batches SET status = $3, completed_at = $4
             WHERE session_id = $1 AND id = $2 AND status = 'processing'",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(status.as_str())
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records when a batch's first message went out (once).
    pub async fn mark_batch_started(
        &self,
        session_id: &str,
        batch_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_batches SET started_at = $3
             WHERE session_id = $1 AND id = $2 AND started_at IS NULL",
        )
        .bind(session_id)
        .bind(batch_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn batch_from_row(r: &sqlx::any::AnyRow) -> Result<BatchRecord, sqlx::Error> {
    Ok(BatchRecord {
        session_id: r.try_get("session_id")?,
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        status: wire(r, "status")?,
        total: r.try_get("total")?,
        options: r.try_get("options")?,
        idempotency_key: r.try_get("idempotency_key")?,
        request_hash: r.try_get("request_hash")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

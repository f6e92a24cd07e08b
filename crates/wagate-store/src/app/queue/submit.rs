//! The client's side of the queue: queueing a message (idempotently), looking
//! queued messages up, listing them, and cancelling them.

use sqlx::AssertSqlSafe;
use wagate_core::QueueStatus;

use super::record::{
    COLUMNS, Enqueued, NewQueued, QueuedRecord, insert_queued_query, queued_from_row,
};
use crate::{Store, StoreError};

impl Store {
    /// Queues a message. With an idempotency key already used by this tenant,
    /// nothing is queued and the earlier row comes back instead.
    pub async fn enqueue(&self, new: &NewQueued) -> Result<Enqueued, StoreError> {
        let now = wagate_core::now_ms();
        // On the group-commit writer: queued means on disk before anyone
        // is told so.
        let done = self
            .execute_write(insert_queued_query(new, now))
            .await?
            .rows_affected()
            > 0;
        self.wait_durable().await?;
        if done {
            return Ok(Enqueued::New(Box::new(QueuedRecord::queued(new, now))));
        }
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        match self.queued_by_key(&new.tenant_id, key).await? {
            Some(existing) => Ok(Enqueued::Existing(Box::new(existing))),
            None => Err(StoreError::Conflict(
                "the message could not be queued (id clash)".into(),
            )),
        }
    }

    /// The message a tenant queued under an idempotency key.
    pub async fn queued_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<QueuedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| queued_from_row(&r)).transpose()?)
    }

    pub async fn get_queued(&self, id: &str) -> Result<Option<QueuedRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM send_queue WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| queued_from_row(&r)).transpose()?)
    }

    /// A session's messages with one of `statuses`, in the order they go
    /// (oldest first), at most `limit`.
    pub async fn queue_items(
        &self,
        session_id: &str,
        statuses: &[QueueStatus],
        limit: i64,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> =
            (0..statuses.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM send_queue WHERE session_id = $1 AND status IN ({})
             ORDER BY created_at, batch_seq, id LIMIT $2",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(session_id).bind(limit);
        for s in statuses {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| queued_from_row(r).map_err(Into::into))
            .collect()
    }

    /// Cancels one queued message; false when it is no longer queued.
    pub async fn cancel_queued(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', updated_at = $2
             WHERE id = $1 AND status = 'queued'",
        )
        .bind(id)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Cancels everything a session has queued (it is being deleted).
    pub async fn cancel_session_queue(&self, session_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'cancelled', updated_at = $2
             WHERE session_id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(session_id)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

//! Queue retention: idempotency keys are forgotten after a while, and
//! finished messages and batches are deleted after a longer one.

use crate::{Store, StoreError};

impl Store {
    /// Forgets idempotency keys older than `before` and deletes finished
    /// messages older than `delete_before`. Returns (keys, rows).
    pub async fn prune_queue(
        &self,
        before: i64,
        delete_before: i64,
    ) -> Result<(u64, u64), StoreError> {
        let keys = sqlx::query(
            "UPDATE send_queue SET idempotency_key = NULL, request_hash = NULL
             WHERE idempotency_key IS NOT NULL AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE send_batches SET idempotency_key = NULL, request_hash = NULL
             WHERE idempotency_key IS NOT NULL AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "DELETE FROM send_queue WHERE status IN ('sent', 'failed', 'cancelled') AND updated_at < $1",
        )
        .bind(delete_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM send_batches WHERE status <> 'processing' AND created_at < $1
             AND NOT EXISTS (SELECT 1 FROM send_queue q WHERE q.session_id = send_batches.session_id
                             AND q.batch_id = send_batches.id)",
        )
        .bind(delete_before)
        .execute(&self.pool)
        .await?;
        Ok((keys, rows))
    }
}

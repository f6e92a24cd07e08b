//! Redeliveries on request (`webhook_redeliveries`): a queue of events to
//! send again to one webhook, drained by its worker.

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
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
}

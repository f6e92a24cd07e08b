//! Event-log retention as the webhooks see it: an event is kept until every
//! enabled webhook (and event-bus output) was given it; old delivery-log
//! rows and the webhooks of deleted sessions go too. [`Store::get_event`]
//! tells whether an event is still there.

use sqlx::Row;

use crate::app::EventRecord;
use crate::{Store, StoreError};

impl Store {
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

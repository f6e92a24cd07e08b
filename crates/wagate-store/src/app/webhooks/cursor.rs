//! The delivery worker's state on a webhook row: the cursor it advances by
//! compare-and-set, replays the API asks for, the current run of failures,
//! and disabling an endpoint that keeps failing.

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
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
}

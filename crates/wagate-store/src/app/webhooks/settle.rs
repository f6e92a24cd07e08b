//! Group commit of a delivery worker's bookkeeping: the attempts it settled
//! and the cursor move past them, written in one transaction, so one commit
//! (one fsync on SQLite with `synchronous=FULL`) covers a run of deliveries
//! instead of two commits for each.

use super::DeliveryRecord;
use crate::{Store, StoreError};

impl Store {
    /// Records `deliveries` and moves the cursor from `from` to `to`
    /// (compare-and-set, as [`Store::advance_webhook_cursor`]) in one
    /// transaction; `clear_failing_upto` (a delivered attempt's time) also
    /// ends a run of failures that began no later than it. The
    /// attempts are recorded either way (they happened); returns whether
    /// the cursor moved (not when it moved meanwhile or a replay is
    /// pending).
    pub async fn settle_webhook_deliveries(
        &self,
        id: &str,
        from: i64,
        to: i64,
        deliveries: &[DeliveryRecord],
        clear_failing_upto: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        super::deliveries::insert_deliveries(&mut tx, deliveries).await?;
        let moved = sqlx::query(
            "UPDATE webhooks SET last_seq = $3 WHERE id = $1 AND last_seq = $2 AND replay_from IS NULL",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if let Some(upto) = clear_failing_upto {
            sqlx::query(
                "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since <= $2",
            )
            .bind(id)
            .bind(upto)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }
}

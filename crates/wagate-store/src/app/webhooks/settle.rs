//! Group commit of a delivery worker's bookkeeping: the attempts it settled
//! and the cursor move past them, written in one transaction, so one commit
//! (one fsync on SQLite with `synchronous=FULL`) covers a run of deliveries
//! instead of two commits for each.

use std::fmt::Write as _;

use super::DeliveryRecord;
use crate::{Store, StoreError};

/// Rows per INSERT statement (11 parameters each, well under every
/// database's parameter limit).
const ROWS_PER_INSERT: usize = 200;

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
        for chunk in deliveries.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO webhook_deliveries (id, webhook_id, seq, event, idempotency_key, attempt,
                                                 outcome, status_code, latency_ms, error, created_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 11;
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(sql, "{sep}(");
                for k in 1..=11 {
                    let comma = if k == 1 { "" } else { ", " };
                    let _ = write!(sql, "{comma}${}", b + k);
                }
                sql.push(')');
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                q = q
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
                    .bind(d.created_at);
            }
            q.execute(&mut *tx).await?;
        }
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

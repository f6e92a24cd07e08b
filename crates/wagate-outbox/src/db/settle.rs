//! What becomes of a claimed row: sent, failed for good, retried (an error
//! counted), released (no error), or taken back when its worker died; and
//! reading a row's status. Each change but the reclaim is guarded by the
//! claim (status 3 and the worker's name): only the worker that holds a row
//! settles it.

use std::time::Duration;

use sqlx::Row;

use super::{OutboxDb, STATUS_CLAIMED, STATUS_FAILED, STATUS_PENDING, STATUS_SENT};

impl OutboxDb {
    /// Sent: status 1, `sendingDateTime` now.
    pub async fn mark_sent(
        &self,
        id: i64,
        worker: &str,
        message_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_SENT}, sendingDateTime = {now}, message_id = {p1}, msg_error = NULL
             WHERE id_outbox = {p2} AND status = {STATUS_CLAIMED} AND claimed_by = {p3}",
            t = self.table,
            now = d.now(),
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
        )))
        .bind(message_id)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Failed for good: status 2 with the reason.
    pub async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_FAILED}, msg_error = {p1}
             WHERE id_outbox = {p2} AND status = {STATUS_CLAIMED} AND claimed_by = {p3}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
        )))
        .bind(truncate(error, 1000))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A transient failure: one more error; pending again, or failed (2)
    /// once `max_attempts` are spent. Returns the new status.
    pub async fn mark_retry(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        max_attempts: i64,
    ) -> Result<i64, sqlx::Error> {
        let d = self.dialect;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            // `status` first: MySQL evaluates assignments left to right,
            // with the values already assigned.
            "UPDATE {t} SET status = CASE WHEN error_count + 1 >= {p1} THEN {STATUS_FAILED} ELSE {STATUS_PENDING} END,
                    error_count = error_count + 1, msg_error = {p2}
             WHERE id_outbox = {p3} AND status = {STATUS_CLAIMED} AND claimed_by = {p4}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
            p4 = d.ph(4),
        )))
        .bind(max_attempts.max(1))
        .bind(truncate(error, 1000))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        self.status_of(id)
            .await
            .map(|s| s.unwrap_or(STATUS_PENDING))
    }

    /// Gives a claimed row back (pending again, no error counted). With
    /// `forget_session` the next claim routes it afresh (the session never
    /// took it, so its idempotency key is unused).
    pub async fn release(
        &self,
        id: i64,
        worker: &str,
        forget_session: bool,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let session = if forget_session {
            ", session_id = NULL"
        } else {
            ""
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_PENDING}, claimedDateTime = NULL, claimed_by = NULL{session}
             WHERE id_outbox = {p1} AND status = {STATUS_CLAIMED} AND claimed_by = {p2}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
        )))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Claims older than `timeout` (their worker died) become pending again;
    /// returns how many. Safe: every send carries the row's idempotency key.
    pub async fn reclaim_stale(&self, timeout: Duration) -> Result<u64, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_PENDING}, claimed_by = NULL
             WHERE status = {STATUS_CLAIMED} AND (claimedDateTime IS NULL OR claimedDateTime < {ago})",
            t = self.table,
            ago = d.ago(timeout.as_secs().max(1)),
        )))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn status_of(&self, id: i64) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT status FROM {t} WHERE id_outbox = {p}",
            t = self.table,
            p = self.dialect.ph(1)
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("status")).transpose()
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

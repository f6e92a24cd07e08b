//! A session's status and the operator's wish (`desired`): setting them,
//! counting sessions by status, and what start-up does with both (reset
//! live statuses, resume what should run).

use sqlx::{AssertSqlSafe, Row};
use wagate_core::{SessionStatus, StatusReason};

use super::record::{COLUMNS, SessionRecord, session_from_row};
use crate::app::SpineTx;
use crate::{Store, StoreError};

impl Store {
    /// Every session that should be running (started again at boot).
    pub async fn sessions_to_resume(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sessions WHERE desired = 'running' ORDER BY created_at"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// At start-up no session is live yet: whatever was CONNECTED (or on its
    /// way) when the process last stopped is now INITIALIZING if it should
    /// run, DISCONNECTED if not. Returns how many rows changed.
    pub async fn reset_live_statuses(&self) -> Result<u64, StoreError> {
        let now = wagate_core::now_ms();
        let mut changed = 0;
        for (desired, status) in [("running", "initializing"), ("stopped", "disconnected")] {
            let done = sqlx::query(
                "UPDATE sessions SET status = $1, updated_at = $2
                 WHERE desired = $3 AND status IN ('ready', 'connecting', 'qr_ready', 'initializing')",
            )
            .bind(status)
            .bind(now)
            .bind(desired)
            .execute(&self.pool)
            .await?;
            changed += done.rows_affected();
        }
        Ok(changed)
    }

    /// Counts per internal status, for health checks: one tenant's
    /// sessions, or every tenant's with `None`.
    pub async fn count_sessions_by_status(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<(SessionStatus, u64)>, StoreError> {
        let rows = match tenant_id {
            Some(t) => sqlx::query(
                "SELECT status, COUNT(*) AS n FROM sessions WHERE tenant_id = $1 GROUP BY status",
            )
            .bind(t)
            .fetch_all(&self.pool)
            .await?,
            None => {
                sqlx::query("SELECT status, COUNT(*) AS n FROM sessions GROUP BY status")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut out = Vec::new();
        for r in rows {
            let s: String = r.try_get("status")?;
            let n: i64 = r.try_get("n")?;
            if let Some(status) = SessionStatus::from_internal(&s) {
                out.push((status, n.max(0) as u64));
            }
        }
        Ok(out)
    }

    /// Stores a session's status on its own; with a `fence`, only while
    /// this node holds the session's lease (false when refused). The
    /// gateway stores a status together with its `session.status` event
    /// ([`SpineTx::set_session_status`]).
    pub async fn set_session_status(
        &self,
        id: &str,
        status: SessionStatus,
        reason: Option<StatusReason>,
        fence: Option<&crate::app::cluster::Fence>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = tx.set_session_status(id, status, reason, fence).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn set_session_desired(&self, id: &str, running: bool) -> Result<(), StoreError> {
        let update = sqlx::query("UPDATE sessions SET desired = $1, updated_at = $2 WHERE id = $3")
            .bind(if running { "running" } else { "stopped" })
            .bind(wagate_core::now_ms())
            .bind(id);
        self.execute_write(update).await?;
        self.wait_durable().await
    }
}

impl SpineTx {
    /// Stores a session's status in this transaction, so that it commits
    /// with the `session.status` event that tells it (one commit, one
    /// group-commit wait: a reconnect storm changes thousands of statuses
    /// at once). With a `fence`, only while this node holds the session's
    /// lease: false when refused.
    pub async fn set_session_status(
        &mut self,
        id: &str,
        status: SessionStatus,
        reason: Option<StatusReason>,
        fence: Option<&crate::app::cluster::Fence>,
    ) -> Result<bool, StoreError> {
        let done = match fence {
            None => {
                sqlx::query(
                    "UPDATE sessions SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(status.internal())
                .bind(reason.map(StatusReason::as_str))
                .bind(wagate_core::now_ms())
                .bind(id)
                .execute(self.conn())
                .await?
            }
            Some(fence) => {
                sqlx::query(
                    "UPDATE sessions SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4
                       AND EXISTS (SELECT 1 FROM session_leases l WHERE l.session_id = $4
                                    AND l.node_id = $5 AND l.generation = $6)",
                )
                .bind(status.internal())
                .bind(reason.map(StatusReason::as_str))
                .bind(wagate_core::now_ms())
                .bind(id)
                .bind(&fence.node_id)
                .bind(fence.generation)
                .execute(self.conn())
                .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }
}

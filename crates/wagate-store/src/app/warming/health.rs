//! A session's warming numbers, counted from what rooms said: what the
//! daily caps and the health report read.

use sqlx::Row;

use crate::{Store, StoreError};

/// A session's warming numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarmingHealth {
    pub sent: i64,
    pub received: i64,
    pub failed: i64,
    /// Distinct days (UTC) with a message sent.
    pub days_warmed: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
}

impl Store {
    /// Messages a session sent through warming rooms since `since`.
    pub async fn warming_sent_since(
        &self,
        session_id: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages
             WHERE from_session = $1 AND created_at >= $2 AND status IN ('QUEUED', 'SUCCESS')",
        )
        .bind(session_id)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// A session's warming numbers over every room.
    pub async fn warming_health(&self, session_id: &str) -> Result<WarmingHealth, StoreError> {
        let sent = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS first_at, MAX(created_at) AS last_at
             FROM warming_messages WHERE from_session = $1 AND status = 'SUCCESS'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let failed = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages WHERE from_session = $1 AND status = 'FAILED'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let received = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages
             WHERE to_session = $1 AND status IN ('SUCCESS', 'RECEIVED')",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let days = sqlx::query(
            "SELECT COUNT(DISTINCT created_at / 86400000) AS n FROM warming_messages
             WHERE from_session = $1 AND status = 'SUCCESS'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(WarmingHealth {
            sent: sent.try_get("n")?,
            first_at: sent.try_get("first_at")?,
            last_at: sent.try_get("last_at")?,
            failed: failed.try_get("n")?,
            received: received.try_get("n")?,
            days_warmed: days.try_get("n")?,
        })
    }
}

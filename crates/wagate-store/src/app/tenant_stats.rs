//! Tenant statistics: API calls per day (counted by the API, added here in
//! batches), messages sent, received and failed per day, and sessions by
//! status — seed 003's `/tenant/stats`, durable across restarts.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Row};
use wagate_core::{QueueStatus, SessionStatus};

use crate::{Store, StoreError};

/// Milliseconds in a day: days are UTC epoch day numbers.
pub const DAY_MS: i64 = 86_400_000;

/// One UTC day's counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayCounts {
    pub api_calls: i64,
    pub sent: i64,
    pub received: i64,
    pub failed: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantStats {
    /// By epoch day number, oldest first; days without any count are absent.
    pub days: BTreeMap<i64, DayCounts>,
    /// Sessions by the API's status name (`CONNECTED`, …).
    pub sessions: BTreeMap<&'static str, i64>,
}

impl Store {
    /// Adds `(tenant, day, calls)` counts.
    pub async fn add_api_calls(&self, counts: &[(String, i64, u64)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (tenant, day, calls) in counts {
            sqlx::query(
                "INSERT INTO api_calls (tenant_id, day, calls) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_calls.calls + excluded.calls",
            )
            .bind(tenant)
            .bind(day)
            .bind(*calls as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The statistics of `tenant` (every tenant for `None`) from the UTC
    /// day `since_day` on.
    pub async fn tenant_stats(
        &self,
        tenant: Option<&str>,
        since_day: i64,
    ) -> Result<TenantStats, StoreError> {
        let since_ms = since_day * DAY_MS;
        let (scope, tenant_scope) = match tenant {
            Some(_) => (
                "session_id IN (SELECT id FROM sessions WHERE tenant_id = $2)",
                "tenant_id = $2",
            ),
            None => ("$2 = $2", "$2 = $2"),
        };
        let tenant = tenant.unwrap_or("");
        let mut stats = TenantStats::default();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT day, SUM(calls) AS n FROM api_calls WHERE day >= $1 AND {tenant_scope} GROUP BY day"
        )))
        .bind(since_day)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            stats.days.entry(r.try_get("day")?).or_default().api_calls = r.try_get("n")?;
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT created_at / {DAY_MS} AS day, from_me, COUNT(*) AS n FROM messages
             WHERE created_at >= $1 AND {scope} GROUP BY created_at / {DAY_MS}, from_me"
        )))
        .bind(since_ms)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let from_me: i64 = r.try_get("from_me")?;
            let n: i64 = r.try_get("n")?;
            let day = stats.days.entry(r.try_get("day")?).or_default();
            if from_me != 0 {
                day.sent += n;
            } else {
                day.received += n;
            }
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT updated_at / {DAY_MS} AS day, COUNT(*) AS n FROM send_queue
             WHERE status = $3 AND updated_at >= $1 AND {scope} GROUP BY updated_at / {DAY_MS}"
        )))
        .bind(since_ms)
        .bind(tenant)
        .bind(QueueStatus::Failed.as_str())
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            stats.days.entry(r.try_get("day")?).or_default().failed = r.try_get("n")?;
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT status, COUNT(*) AS n FROM sessions WHERE $1 = $1 AND {tenant_scope} GROUP BY status"
        )))
        .bind(since_day)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let status: String = r.try_get("status")?;
            if let Some(s) = SessionStatus::from_internal(&status) {
                *stats.sessions.entry(s.api()).or_default() += r.try_get::<i64, _>("n")?;
            }
        }
        Ok(stats)
    }
}

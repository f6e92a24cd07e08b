//! A tenant's own API rate limits (requests per minute by category), which
//! override the server's defaults. `None` keeps the default; `0` turns the
//! category off for that tenant.

use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenantRateLimits {
    pub session: Option<u32>,
    pub send: Option<u32>,
    pub read: Option<u32>,
    pub webhook: Option<u32>,
}

fn per_min(v: Option<i64>) -> Option<u32> {
    v.map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

impl Store {
    /// The tenant's overrides; `None` when there is no such tenant.
    pub async fn tenant_rate_limits(
        &self,
        tenant_id: &str,
    ) -> Result<Option<TenantRateLimits>, StoreError> {
        let row = sqlx::query(
            "SELECT rate_limit_session, rate_limit_send, rate_limit_read, rate_limit_webhook \
             FROM tenants WHERE id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(TenantRateLimits {
            session: per_min(r.try_get("rate_limit_session")?),
            send: per_min(r.try_get("rate_limit_send")?),
            read: per_min(r.try_get("rate_limit_read")?),
            webhook: per_min(r.try_get("rate_limit_webhook")?),
        }))
    }

    /// Replaces the tenant's overrides; false when there is no such tenant.
    pub async fn set_tenant_rate_limits(
        &self,
        tenant_id: &str,
        limits: &TenantRateLimits,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET rate_limit_session = $1, rate_limit_send = $2, \
             rate_limit_read = $3, rate_limit_webhook = $4 WHERE id = $5",
        )
        .bind(limits.session.map(i64::from))
        .bind(limits.send.map(i64::from))
        .bind(limits.read.map(i64::from))
        .bind(limits.webhook.map(i64::from))
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// A tenant's own session quota: `None` follows the server's
/// `MAX_SESSIONS_PER_TENANT`; `Some(n)` allows `n` sessions.
impl Store {
    /// The tenant's quota override (`Some(None)`: none set); `None` when
    /// there is no such tenant.
    pub async fn tenant_session_limit(
        &self,
        tenant_id: &str,
    ) -> Result<Option<Option<u64>>, StoreError> {
        let row = sqlx::query("SELECT max_sessions FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let n: Option<i64> = r.try_get("max_sessions")?;
        Ok(Some(n.map(|n| n.max(0) as u64)))
    }

    /// Sets (or, with `None`, clears) the tenant's quota; false when there
    /// is no such tenant.
    pub async fn set_tenant_session_limit(
        &self,
        tenant_id: &str,
        max_sessions: Option<u64>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tenants SET max_sessions = $1 WHERE id = $2")
            .bind(max_sessions.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many sessions the tenant has.
    pub async fn count_tenant_sessions(&self, tenant_id: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n.max(0) as u64)
    }
}

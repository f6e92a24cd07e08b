//! The proxy a session goes through: its own (set through the API) and the
//! `PROXY_POOL` entry it was assigned, in a table of their own
//! (`session_proxies`) so the session row stays as it is. URLs are stored
//! whole (the gateway hands the password to the proxy); reading them back
//! is for the engine and for masking, never for an answer as they are.

use sqlx::Row;

use crate::{Store, StoreError};

/// A session's stored proxies (both `None` when it has no row).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionProxyRow {
    /// The session's own proxy URL.
    pub own: Option<String>,
    /// The `PROXY_POOL` entry it was assigned.
    pub pool: Option<String>,
}

impl Store {
    /// The session's stored proxies.
    pub async fn session_proxy(&self, session_id: &str) -> Result<SessionProxyRow, StoreError> {
        let row = sqlx::query("SELECT url, pool_url FROM session_proxies WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => SessionProxyRow {
                own: r.try_get("url")?,
                pool: r.try_get("pool_url")?,
            },
            None => SessionProxyRow::default(),
        })
    }

    /// Sets (or with `None` removes) the session's own proxy.
    pub async fn set_session_proxy(
        &self,
        session_id: &str,
        url: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_proxies (session_id, url, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at",
        )
        .bind(session_id)
        .bind(url)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the `PROXY_POOL` entry the session was assigned.
    pub async fn set_session_pool_proxy(
        &self,
        session_id: &str,
        pool_url: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_proxies (session_id, pool_url, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO UPDATE SET pool_url = excluded.pool_url, updated_at = excluded.updated_at",
        )
        .bind(session_id)
        .bind(pool_url)
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many sessions hold each assigned pool entry.
    pub async fn pool_proxy_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT pool_url, COUNT(*) AS n FROM session_proxies
             WHERE pool_url IS NOT NULL GROUP BY pool_url",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let url: String = r.try_get("pool_url")?;
            let n: i64 = r.try_get("n")?;
            out.push((url, n.max(0) as u64));
        }
        Ok(out)
    }
}

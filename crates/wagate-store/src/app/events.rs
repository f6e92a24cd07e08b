//! The event log, the gateway's spine.
//!
//! Every event is appended here *before* anyone is told about it; webhooks,
//! WebSocket and SSE clients read it by sequence number, so a crash, a
//! restart or a receiver that is down for an hour loses nothing.
//!
//! Sequence numbers are handed out in commit order: SQLite has one writer,
//! and on PostgreSQL appends take a transaction-scoped advisory lock, so a
//! reader that has seen `seq = n` can never later find a committed `n - 1`.

use sqlx::{AssertSqlSafe, Row};

use crate::{DbKind, Store, StoreError};

/// The advisory lock key that serialises appends on PostgreSQL.
const APPEND_LOCK_KEY: i64 = 0x7761_6761_7465; // "wagate"

#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub session_id: String,
    pub tenant_id: String,
    pub event: String,
    pub data: serde_json::Value,
    pub created_at: i64,
}

/// Which part of the log to read.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only events with `seq > after`.
    pub after: i64,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
    pub limit: u32,
}

impl Store {
    /// Appends an event; returns its sequence number.
    pub async fn append_event(
        &self,
        session_id: &str,
        tenant_id: &str,
        event: &str,
        data: &serde_json::Value,
        created_at: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.kind == DbKind::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(APPEND_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "INSERT INTO events (session_id, tenant_id, event, data, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(session_id)
        .bind(tenant_id)
        .bind(event)
        .bind(data.to_string())
        .bind(created_at)
        .fetch_one(&mut *tx)
        .await?;
        let seq: i64 = row.try_get("seq")?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Events after a cursor, oldest first.
    pub async fn read_events(&self, q: &EventQuery) -> Result<Vec<EventRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT seq, session_id, tenant_id, event, data, created_at FROM events WHERE seq > $1",
        );
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = &q.session_id {
            binds.push(s.clone());
            sql.push_str(&format!(" AND session_id = ${}", binds.len() + 1));
        }
        if let Some(t) = &q.tenant_id {
            binds.push(t.clone());
            sql.push_str(&format!(" AND tenant_id = ${}", binds.len() + 1));
        }
        let limit = q.limit.clamp(1, 10_000);
        sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str())).bind(q.after);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                Ok(EventRecord {
                    seq: r.try_get("seq")?,
                    session_id: r.try_get("session_id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    event: r.try_get("event")?,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The newest sequence number (0 for an empty log).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Deletes events older than `cutoff_ms`; returns how many.
    pub async fn prune_events(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

//! The cluster's rows: nodes and their heartbeats, and the leases that say
//! which node runs each session and each single-runner worker.
//!
//! Only PostgreSQL forms a cluster (SQLite is one node, locked to one
//! process), so the SQL here is PostgreSQL's own. Every time in a lease is
//! the *database's* clock ([`DB_NOW`]): nodes on different machines never
//! compare their own clocks, only durations.
//!
//! A lease is fenced: whoever takes a session over moves its `generation`
//! on, and a write that must come from the holder carries the generation it
//! holds ([`Fence`]) and is refused when that is no longer the lease's.
//!
//! `NOTIFY` wakes the other nodes ([`Store::notify_cluster`]); what a wake
//! means is read from the tables, so a lost notification only delays.

use std::collections::HashMap;

use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, Row};

use crate::{DbKind, Store, StoreError};

/// The database's clock, epoch milliseconds.
const DB_NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// The channel every node listens on.
pub const CLUSTER_CHANNEL: &str = "wagate_cluster";

/// What a write carries to prove its node still holds the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub node_id: String,
    pub generation: i64,
}

/// A node as the cluster sees it.
#[derive(Clone, Debug)]
pub struct NodeRecord {
    pub node_id: String,
    pub url: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub draining: bool,
    /// 0: no cap.
    pub max_sessions: i64,
    /// Live session leases held.
    pub sessions: i64,
    /// Whether its heartbeat is recent (within the lease time).
    pub alive: bool,
}

/// A node's own announcement, written at every heartbeat.
#[derive(Clone, Debug)]
pub struct NodeBeat<'a> {
    pub node_id: &'a str,
    pub url: &'a str,
    pub started_at: i64,
    pub draining: bool,
    pub max_sessions: i64,
}

/// Who holds a session now.
#[derive(Clone, Debug)]
pub struct SessionOwner {
    pub node_id: String,
    pub url: String,
    pub generation: i64,
    /// Milliseconds since the node's last heartbeat (a node that stopped
    /// beating is likely gone, though its leases still run).
    pub silent_ms: i64,
}

impl Store {
    /// Whether this store can be shared by several nodes.
    pub fn clusterable(&self) -> bool {
        self.kind == DbKind::Postgres
    }

    /// The database's clock now.
    pub async fn db_now_ms(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {DB_NOW} AS now")))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("now")?)
    }

    /// Writes the node's row, its heartbeat now.
    pub async fn node_heartbeat(&self, beat: &NodeBeat<'_>) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO cluster_nodes (node_id, url, started_at, heartbeat_at, draining, max_sessions)
             VALUES ($1, $2, $3, {DB_NOW}, $4, $5)
             ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url,
               started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
               draining = EXCLUDED.draining, max_sessions = EXCLUDED.max_sessions"
        )))
        .bind(beat.node_id)
        .bind(beat.url)
        .bind(beat.started_at)
        .bind(i64::from(beat.draining))
        .bind(beat.max_sessions)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every node that ever joined, with its live lease count; `alive` when
    /// its heartbeat is younger than `ttl_ms`.
    pub async fn list_nodes(&self, ttl_ms: i64) -> Result<Vec<NodeRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT n.node_id, n.url, n.started_at, n.heartbeat_at, n.draining, n.max_sessions,
               (SELECT COUNT(*) FROM session_leases l
                 WHERE l.node_id = n.node_id AND l.expires_at > {DB_NOW}) AS sessions,
               CASE WHEN n.heartbeat_at > {DB_NOW} - $1 THEN 1 ELSE 0 END AS alive
             FROM cluster_nodes n ORDER BY n.node_id"
        )))
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NodeRecord {
                    node_id: r.try_get("node_id")?,
                    url: r.try_get("url")?,
                    started_at: r.try_get("started_at")?,
                    heartbeat_at: r.try_get("heartbeat_at")?,
                    draining: r.try_get::<i64, _>("draining")? != 0,
                    max_sessions: r.try_get("max_sessions")?,
                    sessions: r.try_get("sessions")?,
                    alive: r.try_get::<i32, _>("alive")? != 0,
                })
            })
            .collect()
    }

    /// Forgets nodes whose heartbeat stopped `older_than_ms` ago and that
    /// hold nothing.
    pub async fn prune_nodes(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM cluster_nodes n WHERE n.heartbeat_at < {DB_NOW} - $1
               AND NOT EXISTS (SELECT 1 FROM session_leases l
                                WHERE l.node_id = n.node_id AND l.expires_at > {DB_NOW})"
        )))
        .bind(older_than_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    // ── session leases ─────────────────────────────────────────────────

    /// At a node's start: takes back the leases its previous process held
    /// (same node id), each with a new generation, so they are restarted
    /// here at once instead of waiting out their expiry.
    pub async fn adopt_own_leases(
        &self,
        node_id: &str,
        ttl_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE session_leases SET generation = generation + 1, expires_at = {DB_NOW} + $2
             WHERE node_id = $1 RETURNING session_id, generation"
        )))
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .await?;
        leases_from(&rows)
    }

    /// Renews, in one statement, every lease the node still holds; returns
    /// them. A lease missing from the answer is lost (it expired and
    /// another node took it, or it was released).
    pub async fn renew_session_leases(
        &self,
        node_id: &str,
        ttl_ms: i64,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE session_leases SET expires_at = {DB_NOW} + $2
             WHERE node_id = $1 AND expires_at > {DB_NOW} RETURNING session_id, generation"
        )))
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(leases_from(&rows)?.into_iter().collect())
    }

    /// Takes up to `limit` sessions that should run and that nobody holds
    /// (never leased, released, or expired), oldest first.
    pub async fn claim_orphan_sessions(
        &self,
        node_id: &str,
        ttl_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO session_leases (session_id, node_id, generation, expires_at)
             SELECT s.id, $1, 1, {DB_NOW} + $2 FROM sessions s
               LEFT JOIN session_leases l ON l.session_id = s.id
              WHERE s.desired = 'running' AND (l.session_id IS NULL OR l.expires_at <= {DB_NOW})
              ORDER BY s.created_at LIMIT $3
             ON CONFLICT (session_id) DO UPDATE SET node_id = EXCLUDED.node_id,
               generation = session_leases.generation + 1, expires_at = EXCLUDED.expires_at
             WHERE session_leases.expires_at <= {DB_NOW}
             RETURNING session_id, generation"
        )))
        .bind(node_id)
        .bind(ttl_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        leases_from(&rows)
    }

    /// How many sessions want to run and have no live lease.
    pub async fn count_orphan_sessions(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM sessions s LEFT JOIN session_leases l ON l.session_id = s.id
              WHERE s.desired = 'running' AND (l.session_id IS NULL OR l.expires_at <= {DB_NOW})"
        )))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Milliseconds until the first live lease of a silent node (no
    /// heartbeat for `silent_ms`) runs out: when its session becomes an
    /// orphan to take over. `None` when no silent node holds anything.
    pub async fn next_orphan_in_ms(&self, silent_ms: i64) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT MIN(l.expires_at) - {DB_NOW} AS wait FROM session_leases l
               JOIN cluster_nodes n ON n.node_id = l.node_id
              WHERE l.expires_at > {DB_NOW} AND n.heartbeat_at < {DB_NOW} - $1"
        )))
        .bind(silent_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("wait")?)
    }

    /// Takes one session's lease for this node (to start it here): `Some`
    /// with the generation held, or `None` while another node holds it.
    /// Taking a lease this node already holds keeps its generation.
    pub async fn claim_session_lease(
        &self,
        session_id: &str,
        node_id: &str,
        ttl_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO session_leases (session_id, node_id, generation, expires_at)
             VALUES ($1, $2, 1, {DB_NOW} + $3)
             ON CONFLICT (session_id) DO UPDATE SET
               generation = CASE WHEN session_leases.node_id = EXCLUDED.node_id
                                  AND session_leases.expires_at > {DB_NOW}
                             THEN session_leases.generation ELSE session_leases.generation + 1 END,
               node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at
             WHERE session_leases.node_id = EXCLUDED.node_id OR session_leases.expires_at <= {DB_NOW}
             RETURNING generation"
        )))
        .bind(session_id)
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("generation")).transpose()?)
    }

    /// Gives a session's lease up (the node stopped it, or drains): another
    /// node may take it at once.
    pub async fn release_session_lease(
        &self,
        session_id: &str,
        fence: &Fence,
    ) -> Result<(), StoreError> {
        // Expired, not deleted: the generation lives on, so the next holder
        // (even this node again) gets a new one and old fences stay stale.
        sqlx::query(
            "UPDATE session_leases SET expires_at = 0
              WHERE session_id = $1 AND node_id = $2 AND generation = $3",
        )
        .bind(session_id)
        .bind(&fence.node_id)
        .bind(fence.generation)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The node holding a live lease on the session, if any.
    pub async fn session_owner(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionOwner>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT l.node_id, l.generation, n.url, {DB_NOW} - n.heartbeat_at AS silent_ms
               FROM session_leases l
               JOIN cluster_nodes n ON n.node_id = l.node_id
              WHERE l.session_id = $1 AND l.expires_at > {DB_NOW}"
        )))
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionOwner {
                node_id: r.try_get("node_id")?,
                url: r.try_get("url")?,
                generation: r.try_get("generation")?,
                silent_ms: r.try_get("silent_ms")?,
            })
        })
        .transpose()
    }

    /// Which node holds each live session lease (session id → node id).
    pub async fn session_nodes(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT session_id, node_id FROM session_leases WHERE expires_at > {DB_NOW}"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("session_id")?, r.try_get("node_id")?)))
            .collect()
    }

    /// Whether `fence` is still the session's lease (the check every fenced
    /// write repeats inside its own statement).
    pub async fn holds_session(&self, session_id: &str, fence: &Fence) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM session_leases WHERE session_id = $1 AND node_id = $2 AND generation = $3",
        )
        .bind(session_id)
        .bind(&fence.node_id)
        .bind(fence.generation)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    // ── worker leases ──────────────────────────────────────────────────

    /// Takes or renews the lease of a single-runner worker; true while this
    /// node holds it.
    pub async fn hold_worker_lease(
        &self,
        worker: &str,
        node_id: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO worker_leases (worker, node_id, generation, expires_at)
             VALUES ($1, $2, 1, {DB_NOW} + $3)
             ON CONFLICT (worker) DO UPDATE SET
               generation = CASE WHEN worker_leases.node_id = EXCLUDED.node_id
                             THEN worker_leases.generation ELSE worker_leases.generation + 1 END,
               node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at
             WHERE worker_leases.node_id = EXCLUDED.node_id OR worker_leases.expires_at <= {DB_NOW}
             RETURNING generation"
        )))
        .bind(worker)
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Renews, in one statement, every worker lease the node holds; returns
    /// their names.
    pub async fn renew_worker_leases(
        &self,
        node_id: &str,
        ttl_ms: i64,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE worker_leases SET expires_at = {DB_NOW} + $2
             WHERE node_id = $1 AND expires_at > {DB_NOW} RETURNING worker"
        )))
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("worker").map_err(Into::into))
            .collect()
    }

    /// Gives every worker lease of a node up (it drains).
    pub async fn release_worker_leases(&self, node_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE worker_leases SET expires_at = 0 WHERE node_id = $1")
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ── wake-ups ───────────────────────────────────────────────────────

    /// `NOTIFY`s every node (PostgreSQL; nothing on SQLite).
    pub async fn notify_cluster(&self, payload: &str) -> Result<(), StoreError> {
        if self.kind != DbKind::Postgres {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CLUSTER_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A connection listening on [`CLUSTER_CHANNEL`] (PostgreSQL only).
    pub async fn listen_cluster(&self) -> Result<PgListener, StoreError> {
        let url = self
            .pg_url
            .as_deref()
            .ok_or_else(|| StoreError::Conflict("only PostgreSQL forms a cluster".into()))?;
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CLUSTER_CHANNEL).await?;
        Ok(listener)
    }
}

fn leases_from(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(String, i64)>, StoreError> {
    rows.iter()
        .map(|r| Ok((r.try_get("session_id")?, r.try_get("generation")?)))
        .collect()
}

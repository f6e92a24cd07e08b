//! The connection the hot writes go to, and transactions on it.
//!
//! On a SQLite file with group commit every hot write (spine transactions,
//! the send queue, the engine's Signal state) goes to one connection
//! (SQLite has one writer anyway). That connection used to be a pool of
//! one. But a pool pings a connection whenever it is given back, from a
//! task spawned for it, and only then lends it again. With sqlx's SQLite
//! driver a ping is a round trip to the connection's own thread. So every
//! use of the writer cost one spawned task and one extra round trip, and the
//! writer sat idle meanwhile while everyone else queued for it.
//!
//! [`Writer::Held`] is that one connection, held for good behind an async
//! mutex: lending it is taking the lock, giving it back is dropping the
//! guard. Elsewhere (PostgreSQL, SQLite without group commit) a write takes
//! a connection from the pool as before ([`Writer::Pooled`]).
//!
//! The lock is the right to write, not only the connection: the batched
//! writes (`statement_batch/`) take it too, and run on the writer
//! thread's own connection to the same file while they hold it.
//!
//! [`WriterTx`] is a transaction on either. On the held connection it is
//! plain `BEGIN` and `COMMIT`, and its last statements can share the
//! `COMMIT`'s round trip ([`WriterTx::commit_after`]: a spine
//! transaction's events). A transaction dropped without commit leaves a
//! note on the connection, and whoever takes it next rolls it back first;
//! a task is spawned to take it at once, so the write lock is not held
//! while nobody writes.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The one writer connection of a SQLite file, held for good.
#[derive(Clone)]
pub(crate) struct HeldWriter {
    conn: Arc<Mutex<HeldConn>>,
    /// How long a writer waits for the connection before failing (as a
    /// pool's acquire timeout does: a bug that holds it forever fails
    /// loudly instead of hanging every write).
    timeout: Duration,
    /// Microseconds the connection was lent out so far: its rate is the
    /// writer's utilization (`/metrics`).
    busy_micros: Arc<AtomicU64>,
    /// Times the connection was lent out so far.
    uses: Arc<AtomicU64>,
}

pub(crate) struct HeldConn {
    pub(crate) conn: AnyConnection,
    /// A transaction was begun on it and not committed: roll it back
    /// before anything else runs.
    pub(crate) in_tx: bool,
}

impl HeldWriter {
    pub(crate) fn new(conn: AnyConnection, timeout: Duration) -> Self {
        HeldWriter {
            conn: Arc::new(Mutex::new(HeldConn { conn, in_tx: false })),
            timeout,
            busy_micros: Arc::default(),
            uses: Arc::default(),
        }
    }

    /// Microseconds the connection was lent out so far.
    pub(crate) fn busy_micros(&self) -> u64 {
        self.busy_micros.load(Ordering::Relaxed)
    }

    /// Times the connection was lent out so far.
    pub(crate) fn uses(&self) -> u64 {
        self.uses.load(Ordering::Relaxed)
    }

    /// Takes the connection, rolling back what a dropped transaction left.
    pub(crate) async fn lock(&self) -> Result<HeldGuard, sqlx::Error> {
        let guard = tokio::time::timeout(self.timeout, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        self.uses.fetch_add(1, Ordering::Relaxed);
        let mut held = HeldGuard {
            guard,
            since: Instant::now(),
            busy_micros: self.busy_micros.clone(),
        };
        if held.in_tx {
            // Fails only when SQLite already rolled back itself (an I/O
            // error, say): there is nothing left to undo then.
            if let Err(e) = sqlx::query("ROLLBACK").execute(&mut held.conn).await {
                tracing::debug!("rollback of a dropped transaction: {e}");
            }
            held.in_tx = false;
        }
        Ok(held)
    }
}

/// The held connection, lent out: counts the time until it is given back.
pub(crate) struct HeldGuard {
    guard: OwnedMutexGuard<HeldConn>,
    since: Instant,
    busy_micros: Arc<AtomicU64>,
}

impl Deref for HeldGuard {
    type Target = HeldConn;

    fn deref(&self) -> &HeldConn {
        &self.guard
    }
}

impl DerefMut for HeldGuard {
    fn deref_mut(&mut self) -> &mut HeldConn {
        &mut self.guard
    }
}

impl Drop for HeldGuard {
    fn drop(&mut self) {
        let micros = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.busy_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// A connection lent for a write (see the module doc).
pub(crate) enum Writer {
    Pooled(PoolConnection<Any>),
    Held(HeldGuard),
}

impl Deref for Writer {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Writer::Pooled(c) => c,
            Writer::Held(c) => &c.conn,
        }
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Writer::Pooled(c) => c,
            Writer::Held(c) => &mut c.conn,
        }
    }
}

impl Writer {
    /// The held connection when there is one, else one from `pool`.
    pub(crate) async fn take(
        held: Option<&HeldWriter>,
        pool: &AnyPool,
    ) -> Result<Writer, sqlx::Error> {
        match held {
            Some(held) => Ok(Writer::Held(held.lock().await?)),
            None => Ok(Writer::Pooled(pool.acquire().await?)),
        }
    }
}

/// A transaction on the writer (see the module doc).
pub(crate) struct WriterTx {
    inner: TxInner,
}

enum TxInner {
    /// `None` once committed.
    Pooled(Option<sqlx::Transaction<'static, Any>>),
    Held {
        conn: HeldGuard,
        writer: HeldWriter,
    },
}

impl WriterTx {
    /// Begins on the held connection when there is one, else on one from
    /// `pool`.
    pub(crate) async fn begin(
        held: Option<&HeldWriter>,
        pool: &AnyPool,
    ) -> Result<WriterTx, sqlx::Error> {
        let inner = match held {
            Some(held) => {
                let writer = held.clone();
                let mut conn = writer.lock().await?;
                sqlx::query("BEGIN").execute(&mut conn.conn).await?;
                conn.in_tx = true;
                TxInner::Held { conn, writer }
            }
            None => TxInner::Pooled(Some(pool.begin().await?)),
        };
        Ok(WriterTx { inner })
    }

    /// Whether [`WriterTx::commit_after`] runs its statements with the
    /// `COMMIT` in one round trip (the held connection); elsewhere it runs
    /// them one by one, then commits.
    pub(crate) fn batches_commit(&self) -> bool {
        matches!(self.inner, TxInner::Held { .. })
    }

    /// Commits, and gives the connection back.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.commit_after(None).await.map(|_| ())
    }

    /// Runs `last` (statements in one string, `$1…` numbered over all of
    /// them, with their arguments) and commits; returns the rows `last`
    /// returned. On the held connection that is one round trip to the
    /// connection's thread; elsewhere `last` must be one statement.
    pub(crate) async fn commit_after(
        mut self,
        last: Option<(String, AnyArguments)>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        match &mut self.inner {
            TxInner::Held { conn, .. } => {
                let rows = match last {
                    Some((mut sql, args)) => {
                        sql.push_str(";\nCOMMIT");
                        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                            .fetch_all(&mut conn.conn)
                            .await?
                    }
                    None => {
                        sqlx::query("COMMIT").execute(&mut conn.conn).await?;
                        Vec::new()
                    }
                };
                conn.in_tx = false;
                Ok(rows)
            }
            TxInner::Pooled(tx) => {
                let Some(mut tx) = tx.take() else {
                    return Ok(Vec::new());
                };
                let rows = match last {
                    Some((sql, args)) => {
                        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    None => Vec::new(),
                };
                tx.commit().await?;
                Ok(rows)
            }
        }
    }
}

impl Deref for WriterTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            TxInner::Pooled(Some(tx)) => tx,
            TxInner::Pooled(None) => unreachable!("a committed transaction is consumed"),
            TxInner::Held { conn, .. } => &conn.conn,
        }
    }
}

impl DerefMut for WriterTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            TxInner::Pooled(Some(tx)) => tx,
            TxInner::Pooled(None) => unreachable!("a committed transaction is consumed"),
            TxInner::Held { conn, .. } => &mut conn.conn,
        }
    }
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        // Not committed: the connection keeps its note (`in_tx`), and the
        // next holder rolls back. Take it now, so the write lock is given
        // up even if nobody writes for a while.
        if let TxInner::Held { conn, writer } = &self.inner
            && conn.in_tx
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let writer = writer.clone();
            runtime.spawn(async move {
                let _ = writer.lock().await;
            });
        }
    }
}

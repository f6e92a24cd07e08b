//! The event log, the gateway's spine.
//!
//! Every event is appended here *before* anyone is told about it; webhooks,
//! WebSocket and SSE clients read it by sequence number, so a crash, a
//! restart or a receiver that is down for an hour loses nothing.
//!
//! **One transaction for a change and its event.** [`Store::begin`] opens a
//! [`SpineTx`]: the state change (a stored message, a status, an edit) and
//! [`SpineTx::append`] commit together or not at all, so no message exists
//! without its event and no event without its message. Nobody hears of an
//! event before its commit: the live broadcast is fed by [`Publisher`], which
//! tails the log by sequence number after commits.
//!
//! **Or as a unit.** The send path's hot transactions (a message with its
//! event and queue row, a receipt's status and `message.ack`) need no
//! answer midway: a *gate* statement decides, and the rest follows only
//! when it changed a row. [`Store::unit`] describes such a transaction
//! whole ([`SpineUnit`], `unit.rs`), and on a SQLite file it goes to the
//! writer thread in one hand-off, sharing a transaction with other writes,
//! instead of one round trip per statement.
//!
//! **Sequence numbers in commit order, without a global writer lock.** A
//! consumer keeps a cursor `c` and reads `seq > c`; it must never skip an
//! event that commits later with a smaller `seq` ("no late commit").
//! - SQLite has one writer: a row's `seq` (AUTOINCREMENT) is taken inside the
//!   write transaction, and transactions commit one after the other, so seq
//!   order is commit order.
//! - PostgreSQL: a writer inserts its row with `seq` NULL and commits without
//!   any lock (writers never wait for each other). Sequence numbers are
//!   handed out afterwards by the *sequencer* ([`Store::sequence_pending`]):
//!   one transaction that locks the single `event_head` row (`FOR UPDATE`),
//!   numbers every committed unsequenced row `head+1 … head+n` (by insert id)
//!   in one UPDATE, moves `event_head.last_seq` to `head+n` and commits.
//!   Readers only see sequenced rows (`seq > c` is false for NULL).
//!
//!   Why no reader can skip: sequencer transactions are serialised by the
//!   row lock, and PostgreSQL releases a transaction's locks only after it is
//!   visible to every new snapshot. So the ranges `(head, head+n]` become
//!   visible whole (one commit) and in increasing order (the next sequencer
//!   reads the new head, and its UPDATE statement's snapshot already sees
//!   the previous range as numbered). A snapshot that sees any `seq = s`
//!   therefore sees every `seq < s`: nothing numbered later can be below
//!   what a reader has seen. A row committed while a sequencer runs is
//!   simply numbered by the next run. Rows of one writer keep their order
//!   (a later insert has a larger id, and is committed no earlier). The
//!   lock is held for one UPDATE, by one task per process, never across a
//!   writer's transaction; `event_head.last_seq` is the head every cursor
//!   may safely jump to.
//!
//! **The publisher is handed what was just committed.** On SQLite a
//! [`SpineTx`] gives its events to the publisher in memory after its commit
//! is durable ([`handoff`]), so the live broadcast does not read
//! back each event it was just told about. The publisher takes them only
//! as an unbroken run after the last event it published (commits on the one
//! writer are numbered in commit order, but may hand over out of order); a
//! gap, a start-up or a full hand-off buffer sends it to the log, which
//! stays the truth.

mod handoff;
mod unit;

pub use unit::SpineUnit;
pub(crate) use unit::WRITER_SETUP;

use std::time::Duration;

use sqlx::any::AnyArguments;
use sqlx::{Arguments, AssertSqlSafe, Row};
use tokio::sync::{Notify, broadcast};
use tracing::warn;
use wagate_core::{Event, EventKind};

use crate::writer::WriterTx;
use crate::{DbKind, Store, StoreError};
use handoff::Handoff;

/// One event of the log (the one event type: [`wagate_core::Event`]).
pub type EventRecord = Event;

/// The cluster notification that says a node published events.
pub const EVENTS_PUBLISHED: &str = "events";

/// Most rows the sequencer numbers in one transaction.
const SEQUENCE_BATCH: i64 = 1000;
/// Events the publisher reads from the log at once.
const PUBLISH_BATCH: u32 = 500;
/// How often an idle publisher looks at the log anyway (rows committed by
/// another process of the deployment).
const PUBLISH_POLL: Duration = Duration::from_millis(500);

/// What the appenders and the publisher of one store share.
#[derive(Debug, Default)]
pub(crate) struct SpineSignal {
    /// Rung after every commit that appended events.
    pub wake: Notify,
    /// Rung when another node of a cluster published events.
    pub remote: Notify,
    /// SQLite: durable commits' events, for the publisher.
    handoff: Handoff,
}

/// Which part of the log to read.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only events with `seq > after`.
    pub after: i64,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
    pub limit: u32,
    /// Only events with `seq <= upto` (a page of a replay).
    pub upto: Option<i64>,
}

/// A transaction of the spine: state changes plus the events that announce
/// them, committed together. Dropping it without [`SpineTx::commit`] rolls
/// everything back.
pub struct SpineTx {
    tx: WriterTx,
    store: Store,
    /// The highest key appended (SQLite: a `seq`).
    appended: Option<i64>,
    /// SQLite: the events appended, handed to the publisher once durable.
    events: Vec<Event>,
}

impl SpineTx {
    /// The transaction's connection, for the state change's own statements.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub fn kind(&self) -> DbKind {
        self.store.kind
    }

    /// Appends an event, stamped now; visible to readers after commit.
    pub async fn append(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        kind: EventKind,
        data: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.append_at(session_id, tenant_id, kind, data, wagate_core::now_ms())
            .await
            .map(|_| ())
    }

    /// Appends an event. On SQLite's held writer it is inserted with the
    /// `COMMIT`, in the same round trip (see [`SpineTx::commit`]);
    /// elsewhere at once.
    async fn append_at(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        kind: EventKind,
        data: &serde_json::Value,
        created_at: i64,
    ) -> Result<(), StoreError> {
        // SQLite keeps each event for the publisher's hand-off (numbered at
        // the insert); PostgreSQL needs no copy.
        let event = |seq| Event {
            seq,
            session_id: session_id.to_string(),
            tenant_id: tenant_id.to_string(),
            event: kind,
            data: data.clone(),
            created_at,
        };
        if self.tx.batches_commit() {
            self.events.push(event(0));
            return Ok(());
        }
        let returning = match self.store.kind {
            DbKind::Sqlite => "seq",
            DbKind::Postgres => "id",
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO events (session_id, tenant_id, event, data, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING {returning} AS k"
        )))
        .bind(session_id)
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(data.to_string())
        .bind(created_at)
        .fetch_one(&mut *self.tx)
        .await?;
        let key: i64 = row.try_get("k")?;
        self.appended = Some(self.appended.map_or(key, |k| k.max(key)));
        if self.store.kind == DbKind::Sqlite {
            self.events.push(event(key));
        }
        Ok(())
    }

    /// Commits the change and its events, waits until the commit is
    /// durable (one fsync shared with concurrent commits on SQLite), then
    /// wakes the publisher.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.commit_keyed().await.map(|_| ())
    }

    /// [`SpineTx::commit`], returning the highest key appended (SQLite: a
    /// `seq`; PostgreSQL: an insert id).
    async fn commit_keyed(self) -> Result<Option<i64>, StoreError> {
        let SpineTx {
            tx,
            store,
            mut appended,
            mut events,
        } = self;
        if tx.batches_commit() && !events.is_empty() {
            // The events' inserts and the COMMIT: one round trip.
            let rows = tx.commit_after(Some(insert_events(&events)?)).await?;
            if rows.len() != events.len() {
                return Err(StoreError::Conflict(format!(
                    "{} events were appended but {} came back numbered",
                    events.len(),
                    rows.len()
                )));
            }
            for (event, row) in events.iter_mut().zip(&rows) {
                event.seq = row.try_get("k")?;
            }
            appended = events.iter().map(|e| e.seq).max();
        } else {
            tx.commit().await?;
        }
        published(&store, appended, events).await?;
        Ok(appended)
    }
}

/// After a commit that appended `events` (the highest key `appended`):
/// waits until it is durable, then hands the events to the publisher and
/// wakes it.
async fn published(
    store: &Store,
    appended: Option<i64>,
    events: Vec<Event>,
) -> Result<(), StoreError> {
    store.wait_durable().await?;
    if let Some(key) = appended {
        // On SQLite `seq` order is commit order and the WAL is synced as a
        // prefix: every event up to this one is durable too. (Group commit
        // exists only on SQLite.)
        if let Some(group) = &store.group {
            group.durable_up_to(key);
        }
        store.spine.handoff.hand_over(events);
        store.spine.wake.notify_one();
    }
    Ok(())
}

/// One `INSERT … RETURNING seq AS k` per event, in one string (placeholders
/// numbered over all of them), with the events' values.
fn insert_events(events: &[Event]) -> Result<(String, AnyArguments), StoreError> {
    let mut sql = String::new();
    let mut args = AnyArguments::default();
    for (i, e) in events.iter().enumerate() {
        let n = i * 5;
        if i > 0 {
            sql.push_str(";\n");
        }
        sql.push_str(&format!(
            "INSERT INTO events (session_id, tenant_id, event, data, created_at) \
             VALUES (${}, ${}, ${}, ${}, ${}) RETURNING seq AS k",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        ));
        let bound = args
            .add(e.session_id.clone())
            .and_then(|_| args.add(e.tenant_id.clone()))
            .and_then(|_| args.add(e.event.as_str()))
            .and_then(|_| args.add(e.data.to_string()))
            .and_then(|_| args.add(e.created_at));
        bound.map_err(|e| StoreError::Db(sqlx::Error::Encode(e)))?;
    }
    Ok((sql, args))
}

impl Store {
    /// Opens a spine transaction (see the module doc).
    pub async fn begin(&self) -> Result<SpineTx, StoreError> {
        Ok(SpineTx {
            tx: self.begin_writer_tx().await?,
            store: self.clone(),
            appended: None,
            events: Vec::new(),
        })
    }

    /// Appends one event on its own and returns its sequence number (on
    /// PostgreSQL this numbers the pending rows first).
    pub async fn append_event(
        &self,
        session_id: &str,
        tenant_id: &str,
        event: EventKind,
        data: &serde_json::Value,
        created_at: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        tx.append_at(session_id, tenant_id, event, data, created_at)
            .await?;
        let key = tx
            .commit_keyed()
            .await?
            .ok_or_else(|| StoreError::Conflict("an appended event has no key".into()))?;
        if self.kind == DbKind::Sqlite {
            return Ok(key);
        }
        loop {
            self.sequence_pending().await?;
            let row = sqlx::query("SELECT seq FROM events WHERE id = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await?;
            if let Some(seq) = row.try_get::<Option<i64>, _>("seq")? {
                return Ok(seq);
            }
        }
    }

    /// PostgreSQL's sequencer: numbers up to a batch of committed,
    /// unsequenced events in one transaction; returns how many. A no-op on
    /// SQLite (rows are numbered as they are inserted).
    pub async fn sequence_pending(&self) -> Result<u64, StoreError> {
        if self.kind != DbKind::Postgres {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let head: i64 = sqlx::query("SELECT last_seq FROM event_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?
            .try_get("last_seq")?;
        let numbered = sqlx::query(
            "UPDATE events SET seq = $1 + t.n
             FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
                   FROM events WHERE seq IS NULL ORDER BY id LIMIT $2) t
             WHERE events.id = t.id",
        )
        .bind(head)
        .bind(SEQUENCE_BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if numbered == 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        sqlx::query("UPDATE event_head SET last_seq = $1 WHERE id = 1")
            .bind(head + numbered as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(numbered)
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
        if let Some(upto) = q.upto {
            sql.push_str(&format!(" AND seq <= {upto}"));
        }
        let limit = q.limit.clamp(1, 10_000);
        sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str())).bind(q.after);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        if let Some(last) = rows.last() {
            self.hold_back_until_durable(last.try_get("seq")?).await?;
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let name: String = r.try_get("event")?;
            let seq: i64 = r.try_get("seq")?;
            let Some(event) = EventKind::parse(&name) else {
                warn!(seq, event = %name, "skipping an event of an unknown kind");
                continue;
            };
            let data: String = r.try_get("data")?;
            out.push(Event {
                seq,
                session_id: r.try_get("session_id")?,
                tenant_id: r.try_get("tenant_id")?,
                event,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                created_at: r.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    /// With group commit, a reader may see an event whose commit is not yet
    /// synced: before anyone is shown events up to `seq`, wait for a sync
    /// that covers them (one fsync shared with the writers), so no cursor
    /// passes an event a power cut could take back.
    async fn hold_back_until_durable(&self, seq: i64) -> Result<(), StoreError> {
        if let Some(group) = &self.group
            && seq > group.durable_seq()
        {
            group.wait_durable().await?;
            group.durable_up_to(seq);
        }
        Ok(())
    }

    /// The head of the log: every event with a sequence number up to it is
    /// committed and readable, and none will ever appear below it (0 for an
    /// empty log).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let sql = match self.kind {
            // AUTOINCREMENT's own record: it never moves back, not even
            // when retention empties the table.
            DbKind::Sqlite => {
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS n"
            }
            DbKind::Postgres => "SELECT last_seq AS n FROM event_head WHERE id = 1",
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        let head: i64 = row.try_get("n")?;
        // A cursor may start here: only once every event up to it is
        // durable.
        self.hold_back_until_durable(head).await?;
        Ok(head)
    }

    /// Deletes events older than `cutoff_ms`; returns how many.
    pub async fn prune_events(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1 AND seq IS NOT NULL")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The task that tells live listeners: after each commit (and every
    /// [`PUBLISH_POLL`] anyway) it numbers pending events (PostgreSQL), then
    /// broadcasts every event after the last one it published, in sequence
    /// order. Starts after `after`, or at the head when it starts.
    pub fn start_publisher(&self, live: broadcast::Sender<Event>, after: Option<i64>) -> Publisher {
        let store = self.clone();
        let handle = tokio::spawn(async move { store.publish_loop(live, after).await });
        Publisher { handle }
    }

    async fn publish_loop(self, live: broadcast::Sender<Event>, after: Option<i64>) {
        let mut published = loop {
            if let Some(n) = after {
                break n;
            }
            match self.last_event_seq().await {
                Ok(n) => break n,
                Err(e) => {
                    warn!("event publisher cannot read the log head: {e}");
                    tokio::time::sleep(PUBLISH_POLL).await;
                }
            }
        };
        loop {
            let local = tokio::select! {
                _ = self.spine.wake.notified() => true,
                _ = self.spine.remote.notified() => false,
                _ = tokio::time::sleep(PUBLISH_POLL) => false,
            };
            let before = published;
            if local && self.publish_handed(&live, &mut published) {
                continue;
            }
            if let Err(e) = self.publish_once(&live, &mut published).await {
                warn!("event publisher: {e}");
                tokio::time::sleep(PUBLISH_POLL).await;
                continue;
            }
            // Events appended here: the other nodes' publishers look now
            // (one NOTIFY per batch, not per event).
            if local && published > before && self.kind == DbKind::Postgres {
                let _ = self.notify_cluster(EVENTS_PUBLISHED).await;
            }
        }
    }

    /// SQLite, after a local commit: publishes what the commits handed over,
    /// if it directly follows `published`. True when that is all there is
    /// to publish (nothing durable is left above it), false when the log
    /// must be read (a gap, nothing handed over, PostgreSQL).
    fn publish_handed(&self, live: &broadcast::Sender<Event>, published: &mut i64) -> bool {
        if self.kind != DbKind::Sqlite {
            return false;
        }
        for e in self.spine.handoff.take_after(*published) {
            *published = e.seq;
            // No receiver is fine: nobody is listening right now.
            let _ = live.send(e);
        }
        self.spine.handoff.committed() <= *published
    }

    /// Another node published events: this node's publisher reads them now
    /// (it would within [`PUBLISH_POLL`] anyway).
    pub fn wake_publisher_from_cluster(&self) {
        self.spine.remote.notify_one();
    }

    async fn publish_once(
        &self,
        live: &broadcast::Sender<Event>,
        published: &mut i64,
    ) -> Result<(), StoreError> {
        while self.sequence_pending().await? as i64 == SEQUENCE_BATCH {}
        loop {
            let batch = self
                .read_events(&EventQuery {
                    after: *published,
                    limit: PUBLISH_BATCH,
                    ..Default::default()
                })
                .await?;
            let full = batch.len() == PUBLISH_BATCH as usize;
            for e in batch {
                *published = e.seq;
                // No receiver is fine: nobody is listening right now.
                let _ = live.send(e);
            }
            self.spine.handoff.forget_upto(*published);
            if !full {
                return Ok(());
            }
        }
    }
}

/// The running publisher; dropping it stops it.
pub struct Publisher {
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

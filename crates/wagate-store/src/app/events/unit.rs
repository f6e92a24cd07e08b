//! A spine transaction described whole, for one hand-off to the writer.
//!
//! A [`SpineTx`](super::SpineTx) runs statement by statement, and on a
//! SQLite file each statement is a round trip to the one writer
//! connection's thread while the writer is held for the whole transaction.
//! The send path's hot transactions (a sent message with its queue row, a
//! received message, a receipt) have one shape, though: a *gate* statement
//! (store a message unless it is stored already; move a message's status
//! forward) decides whether anything else happens, and the rest (its
//! extras, its queue row, its events) follows only when the gate changed a
//! row. Nothing in between needs an answer.
//!
//! A [`SpineUnit`] is that shape as data. On a SQLite file with group
//! commit it goes to the statement batcher whole (`statement_batch/`)
//! and shares one transaction on the writer thread with other writes. The
//! gate's change count is kept on the writer thread's connection in a
//! temporary table (`temp.wagate_gate`, set by the statement right after
//! the gate; made by [`WRITER_SETUP`]),
//! and every statement that follows carries the condition that reads it
//! ([`GATE_OPEN`]). Elsewhere (PostgreSQL, SQLite without group commit) it
//! runs as a `SpineTx`: the gate, then the rest only when the gate changed
//! a row. Either way it is all or nothing, and its events are published
//! only after its commit is durable, as a `SpineTx`'s are.
//!
//! A statement that follows the gate is built by a function given the
//! condition to put in its `WHERE` clause (`then`): the gate's on a SQLite
//! file with group commit, `1 = 1` elsewhere.

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::{Any, AssertSqlSafe};
use wagate_core::{Event, EventKind};

use crate::group_commit::GroupCommit;
use crate::statement_batch::Statement;
use crate::{Store, StoreError};

/// The condition a statement that follows the gate carries on a SQLite
/// file with group commit: the gate changed a row.
const GATE_OPEN: &str = "(SELECT ok FROM temp.wagate_gate) > 0";

/// Right after the gate: keep its change count (`changes()` is the count
/// of the last statement that completed) for what follows.
const GATE_RECORD: &str = "UPDATE temp.wagate_gate SET ok = changes()";

/// The condition where no gate is kept (every statement that runs at all
/// runs after an open gate).
const ALWAYS: &str = "1 = 1";

/// Makes the gate's table on the statement batcher's connection, once at
/// start (a temporary table is the connection's own, in memory).
pub(crate) const WRITER_SETUP: &[&str] = &[
    "PRAGMA temp_store = MEMORY",
    "CREATE TEMP TABLE IF NOT EXISTS wagate_gate (ok INTEGER NOT NULL)",
    "DELETE FROM temp.wagate_gate",
    "INSERT INTO temp.wagate_gate (ok) VALUES (0)",
];

/// A spine transaction described whole (see the module doc).
#[must_use = "a unit does nothing until it is committed"]
pub struct SpineUnit {
    store: Store,
    gate: Option<Statement>,
    /// Known to change nothing (a gate that cannot open): commit does
    /// nothing.
    closed: bool,
    then: Vec<Statement>,
    events: Vec<Event>,
}

impl Store {
    /// A new, empty spine unit (see [`SpineUnit`]).
    pub fn unit(&self) -> SpineUnit {
        SpineUnit {
            store: self.clone(),
            gate: None,
            closed: false,
            then: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl SpineUnit {
    /// The statement that decides whether the rest happens: the rest runs
    /// only when it changes a row. At most one per unit.
    pub(crate) fn gate(
        &mut self,
        query: sqlx::query::Query<'_, Any, AnyArguments>,
    ) -> Result<(), StoreError> {
        if self.gate.is_some() || !self.then.is_empty() {
            return Err(StoreError::Conflict(
                "a unit's gate comes first, and once".into(),
            ));
        }
        self.gate = Some(Statement::from_query(query)?);
        Ok(())
    }

    /// The unit's gate cannot open: committing it does nothing.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    /// A statement that runs after the gate, only when it opened: `build`
    /// gets the condition to put in the statement's `WHERE` clause.
    pub(crate) fn then<'q>(
        &mut self,
        build: impl FnOnce(&str) -> sqlx::query::Query<'q, Any, AnyArguments>,
    ) -> Result<(), StoreError> {
        let statement = Statement::from_query(build(self.condition()))?;
        self.then.push(statement);
        Ok(())
    }

    /// Appends an event, stamped now, after the unit's statements (only
    /// when the gate opened).
    pub fn append(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        kind: EventKind,
        data: &serde_json::Value,
    ) {
        self.events.push(Event {
            seq: 0,
            session_id: session_id.to_string(),
            tenant_id: tenant_id.to_string(),
            event: kind,
            data: data.clone(),
            created_at: wagate_core::now_ms(),
        });
    }

    /// Commits the unit, waits until it is durable, then wakes the
    /// publisher. Returns whether the gate opened (true without a gate);
    /// when it did not, nothing changed and nothing is waited for.
    pub async fn commit(self) -> Result<bool, StoreError> {
        if self.closed {
            return Ok(false);
        }
        match self.store.group.clone() {
            Some(group) => self.commit_batched(&group).await,
            None => self.commit_in_transaction().await,
        }
    }

    /// The condition for what follows the gate (see the module doc): the
    /// gate's on a SQLite file with group commit, where a unit goes to the
    /// statement batcher.
    fn condition(&self) -> &'static str {
        if self.store.group.is_some() && self.gate.is_some() {
            GATE_OPEN
        } else {
            ALWAYS
        }
    }

    /// One job for the statement batcher: the gate and its record, what
    /// follows, and the events' inserts, each under the gate's condition.
    async fn commit_batched(self, group: &GroupCommit) -> Result<bool, StoreError> {
        let condition = self.condition();
        let SpineUnit {
            store,
            gate,
            then,
            mut events,
            ..
        } = self;
        let gated = gate.is_some();
        let mut statements = Vec::with_capacity(2 + then.len() + events.len());
        if let Some(gate) = gate {
            statements.push(gate);
            statements.push(Statement {
                sql: GATE_RECORD.to_string(),
                args: AnyArguments::default(),
            });
        }
        statements.extend(then);
        let first_event = statements.len();
        for e in &events {
            statements.push(insert_event(e, condition)?);
        }
        let outcomes = group.batcher().run(statements).await?;
        let open = !gated || outcomes.first().is_some_and(|o| o.done.rows_affected() > 0);
        if !open {
            // Nothing changed (the events' inserts inserted nothing), so
            // there is nothing to wait for, as with a spine transaction
            // dropped without its commit.
            return Ok(false);
        }
        let numbered = outcomes.get(first_event..).unwrap_or_default();
        if numbered.len() != events.len() {
            return Err(StoreError::Conflict(format!(
                "{} events were appended but {} came back numbered",
                events.len(),
                numbered.len()
            )));
        }
        for (event, outcome) in events.iter_mut().zip(numbered) {
            event.seq = *outcome.returned.first().ok_or_else(|| {
                StoreError::Conflict("an appended event came back without its number".into())
            })?;
        }
        let appended = events.iter().map(|e| e.seq).max();
        super::published(&store, appended, events).await?;
        Ok(open)
    }

    /// As a spine transaction: the gate, then the rest only when it opened.
    async fn commit_in_transaction(self) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        if let Some(gate) = self.gate
            && execute(gate, tx.conn()).await? == 0
        {
            return Ok(false);
        }
        for statement in self.then {
            execute(statement, tx.conn()).await?;
        }
        for e in &self.events {
            tx.append_at(&e.session_id, &e.tenant_id, e.event, &e.data, e.created_at)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Runs a statement on `conn`; returns the rows it changed.
async fn execute(statement: Statement, conn: &mut AnyConnection) -> Result<u64, StoreError> {
    let done = sqlx::query_with(AssertSqlSafe(statement.sql), statement.args)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The insert of one event under `condition`, returning its `seq` as `k`
/// (SQLite only: the batcher runs on a SQLite file).
fn insert_event(e: &Event, condition: &str) -> Result<Statement, StoreError> {
    let query = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO events (session_id, tenant_id, event, data, created_at)
         SELECT $1, $2, $3, $4, $5 WHERE {condition} RETURNING seq AS k"
    )))
    .bind(e.session_id.clone())
    .bind(e.tenant_id.clone())
    .bind(e.event.as_str())
    .bind(e.data.to_string())
    .bind(e.created_at);
    Ok(Statement::from_query(query)?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::app::{EventQuery, NewMessage};
    use wagate_core::{MessageStatus, MessageType};

    fn message(wa_id: &str) -> NewMessage {
        NewMessage {
            session_id: "s1".into(),
            chat_id: "628111@s.whatsapp.net".into(),
            wa_id: wa_id.into(),
            from_me: false,
            sender: "628111@s.whatsapp.net".into(),
            recipient: "628222@s.whatsapp.net".into(),
            msg_type: MessageType::Chat,
            body: Some(format!("body of {wa_id}")),
            wa_timestamp: 1,
            status: MessageStatus::Received,
            quoted_id: None,
            push_name: None,
            media: None,
            from_history: false,
        }
    }

    /// A unit like an incoming message's: the message (the gate), its
    /// extras, its event.
    fn received(store: &Store, wa_id: &str, n: i64) -> SpineUnit {
        let m = message(wa_id);
        let mut unit = store.unit();
        unit.insert_message(&m).unwrap();
        unit.set_message_extras(
            &m.session_id,
            &m.chat_id,
            wa_id,
            &serde_json::json!({ "n": n }),
        )
        .unwrap();
        unit.append(
            "s1",
            "t1",
            EventKind::MessageReceived,
            &serde_json::json!({ "waId": wa_id, "n": n }),
        );
        unit
    }

    async fn all_events(store: &Store) -> Vec<Event> {
        store
            .read_events(&EventQuery {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
    }

    async fn extras_n(store: &Store, wa_id: &str) -> Option<i64> {
        let m = store.get_message("s1", wa_id).await.unwrap()?;
        m.extras.and_then(|x| x["n"].as_i64())
    }

    /// Many units at once on a SQLite file with group commit: they share
    /// batches, each gate decides for its own unit only, and a unit
    /// that fails leaves nothing and fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batched_units_commit_whole_and_their_gates_decide_alone() {
        // Step 1: a store on a SQLite file (group commit on).
        let dir = tempfile::tempdir().unwrap();
        let store = crate::db::tests::group_commit_store(&dir).await;

        // Step 2: at once, 200 received-message units over 100 ids (each
        // id twice, so one of each pair finds it stored), 50 units of an
        // event alone, and 10 units whose second statement breaks a NOT
        // NULL constraint.
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let wa_id = format!("m{}", i % 100);
                ("received", i, received(&store, &wa_id, i).commit().await)
            }));
        }
        for i in 0..50i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut unit = store.unit();
                unit.append(
                    "s1",
                    "t1",
                    EventKind::SessionStatus,
                    &serde_json::json!({ "i": i }),
                );
                ("alone", i, unit.commit().await)
            }));
        }
        for i in 0..10i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let wa_id = format!("broken{i}");
                let mut unit = received(&store, &wa_id, i);
                unit.then(|gate| {
                    sqlx::query(AssertSqlSafe(format!(
                        "UPDATE messages SET body = NULL, sender = NULL WHERE wa_id = $1 AND {gate}"
                    )))
                    .bind(wa_id.clone())
                })
                .unwrap();
                ("broken", i, unit.commit().await)
            }));
        }
        let mut stored_by: HashMap<String, i64> = HashMap::new();
        for task in futures::future::join_all(tasks).await {
            let (what, i, outcome) = task.unwrap();
            match what {
                "received" => {
                    if outcome.unwrap() {
                        let first = stored_by.insert(format!("m{}", i % 100), i);
                        assert!(first.is_none(), "m{} stored twice", i % 100);
                    }
                }
                "alone" => assert!(outcome.unwrap(), "an ungated unit always commits"),
                _ => assert!(outcome.is_err(), "broken unit {i} should fail"),
            }
        }

        // Then: each id was stored by exactly one of its two units, with
        // that unit's extras, and announced once, by that unit's event.
        assert_eq!(stored_by.len(), 100);
        for (wa_id, i) in &stored_by {
            assert_eq!(extras_n(&store, wa_id).await, Some(*i), "{wa_id}");
        }
        let events = all_events(&store).await;
        let received: Vec<&Event> = events
            .iter()
            .filter(|e| e.event == EventKind::MessageReceived)
            .collect();
        assert_eq!(received.len(), 100);
        for e in &received {
            let wa_id = e.data["waId"].as_str().unwrap();
            assert_eq!(Some(&e.data["n"].as_i64().unwrap()), stored_by.get(wa_id));
        }
        let alone = events
            .iter()
            .filter(|e| e.event == EventKind::SessionStatus)
            .count();
        assert_eq!(alone, 50);
        // The broken units left nothing: no message, no event.
        for i in 0..10 {
            assert!(
                store
                    .get_message("s1", &format!("broken{i}"))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        // Sequence numbers are unique and without holes.
        let mut seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), events.len());
        assert_eq!(seqs.last().copied(), Some(seqs.len() as i64));

        // And the units shared batches.
        let stats = store.group_commit_stats().unwrap();
        assert!(stats.statement_batches < 260, "{stats:?}");

        // Step 3: a unit of one event, alone on the writer, comes back
        // numbered too.
        let before = all_events(&store).await.len();
        let mut lone = store.unit();
        lone.append(
            "s1",
            "t1",
            EventKind::SessionStatus,
            &serde_json::json!({ "lone": true }),
        );
        assert!(lone.commit().await.unwrap());
        assert_eq!(all_events(&store).await.len(), before + 1);

        // Step 4: receipts' units: a status moves forward once, never
        // back, and only a move is announced.
        let before = all_events(&store).await.len();
        let ack = |status: MessageStatus| {
            let mut unit = store.unit();
            unit.advance_message_status("s1", "628111@s.whatsapp.net", "m7", status)
                .unwrap();
            unit.append(
                "s1",
                "t1",
                EventKind::MessageAck,
                &serde_json::json!({ "s": status }),
            );
            unit.commit()
        };
        assert!(ack(MessageStatus::Read).await.unwrap());
        assert!(!ack(MessageStatus::Delivered).await.unwrap());
        assert!(!ack(MessageStatus::Read).await.unwrap());
        // Nothing comes before `failed`: a gate that cannot open.
        assert!(!ack(MessageStatus::Failed).await.unwrap());
        assert_eq!(all_events(&store).await.len(), before + 1);
    }

    /// Without group commit (here: an in-memory database) a unit runs as a
    /// spine transaction, with the same outcome.
    #[tokio::test]
    async fn units_without_group_commit_run_as_transactions() {
        // Step 1: a store without group commit.
        let store = Store::connect("sqlite::memory:").await.unwrap();
        assert!(store.group.is_none());

        // Step 2: a message twice, then a broken unit.
        assert!(received(&store, "m1", 1).commit().await.unwrap());
        assert!(!received(&store, "m1", 2).commit().await.unwrap());
        let mut broken = received(&store, "m2", 3);
        broken
            .then(|gate| {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE messages SET sender = NULL WHERE wa_id = 'm2' AND {gate}"
                )))
            })
            .unwrap();
        assert!(broken.commit().await.is_err());

        // Then: the first unit's message, extras and event only.
        assert_eq!(extras_n(&store, "m1").await, Some(1));
        assert!(store.get_message("s1", "m2").await.unwrap().is_none());
        let events = all_events(&store).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data["n"], 1);
    }
}

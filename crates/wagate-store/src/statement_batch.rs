//! Writes that need no answer midway, many in one transaction, run on the
//! writer's own thread.
//!
//! On a SQLite file with group commit every hot write goes to one writer
//! (`writer.rs`). Through sqlx's SQLite driver every statement is a round
//! trip to the connection's own thread, answered row by row and result by
//! result over a channel to the task that holds the writer; and a text sent
//! whole is parsed anew each time. On the send path those hand-offs, not
//! SQLite, held the writer most of the time (BENCHMARKS.md).
//!
//! Most hot writes need no answer before their last statement: the
//! engine's single-statement device writes (Signal sessions, message
//! secrets, the inbound buffer, the sent-message copy), the queue's claim
//! and enqueue, and the spine's units (a message, its event and its queue
//! row, described whole: `app/events/unit.rs`). They come here as *jobs*:
//!
//! - The batching task takes them from a channel, takes the writer (the
//!   held connection's lock: nothing else writes meanwhile), drains what is
//!   waiting (at most [`MAX_STATEMENTS`]), and hands the batch, with the
//!   lock, to the writer thread.
//! - The writer thread owns a connection of its own to the same file
//!   (rusqlite, `synchronous=NORMAL` like the held one), with its prepared
//!   statements kept between batches. It runs the whole batch in one
//!   `BEGIN … COMMIT`, statement by statement with no hand-off in between,
//!   answers each caller with its own statements' outcomes (changes and
//!   returned ids), and gives the lock back.
//!
//! A batch that fails anywhere is rolled back whole, and its jobs run
//! again one by one (each in its own transaction), so every caller gets
//! exactly its own outcome, as if it had run alone. A caller that goes away
//! does not take its write back (the thread runs it anyway). Durability is
//! the caller's business, as before: it waits for group commit's sync after
//! the answer (the WAL is the file's, whichever connection wrote it).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx_core::any::AnyValueKind;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::writer::{HeldGuard, HeldWriter};

/// Most statements in one batch (a job is never split: one larger than
/// this runs alone).
const MAX_STATEMENTS: usize = 64;

/// Prepared statements the writer thread keeps: every hot write's text,
/// with room to spare.
const STATEMENT_CACHE: usize = 256;

/// One statement: its text (`$1…` numbered from 1) and its values.
pub(crate) struct Statement {
    pub sql: String,
    pub args: AnyArguments,
}

impl Statement {
    /// A built query as a statement for the batcher: its text and its
    /// values.
    pub(crate) fn from_query(
        mut query: sqlx::query::Query<'_, sqlx::Any, AnyArguments>,
    ) -> Result<Statement, sqlx::Error> {
        use sqlx::Execute;
        let args = query
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        Ok(Statement {
            sql: query.sql().as_str().to_owned(),
            args,
        })
    }
}

/// What one statement did: its result, and the first column of each row
/// it returned, as an integer (the batcher's callers return ids: an
/// event's `seq`; anything else returned fails the statement).
#[derive(Default)]
pub(crate) struct Outcome {
    pub done: AnyQueryResult,
    pub returned: Vec<i64>,
}

type Answer = Result<Vec<Outcome>, sqlx::Error>;

/// A write of one or more statements, run in one transaction, and who
/// waits for their outcomes.
struct Job {
    statements: Vec<Statement>,
    done: oneshot::Sender<Answer>,
}

/// A batch on its way to the writer thread, with the writer's lock.
struct Batch {
    jobs: Vec<Job>,
    _writer: HeldGuard,
}

/// Hands writes to the batching task (see the module doc).
#[derive(Clone)]
pub(crate) struct StatementBatcher {
    jobs: mpsc::UnboundedSender<Job>,
    counts: Arc<Counts>,
}

/// What the batcher has done since start: statements run, and the
/// batches they ran in.
#[derive(Default)]
struct Counts {
    statements: AtomicU64,
    batches: AtomicU64,
}

impl StatementBatcher {
    /// Opens the writer thread's connection to the SQLite file at `path`
    /// (running `setup` on it once), starts the thread and the batching
    /// task, which takes `writer`'s lock for each batch. Both end when
    /// every [`StatementBatcher`] is dropped.
    pub(crate) fn start(
        writer: HeldWriter,
        path: &str,
        busy_timeout: std::time::Duration,
        setup: &[&str],
    ) -> Result<StatementBatcher, StoreError> {
        let cannot = |e: rusqlite::Error| {
            StoreError::Connect(format!(
                "cannot open SQLite database {path} for the writer thread: {e}"
            ))
        };
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(cannot)?;
        conn.busy_timeout(busy_timeout).map_err(cannot)?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL")
            .map_err(cannot)?;
        for sql in setup {
            conn.execute_batch(sql).map_err(cannot)?;
        }
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);

        let (to_thread, batches) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for batch in batches {
                    run_batch(&conn, batch);
                }
            })
            .map_err(|e| {
                StoreError::Connect(format!("cannot start the SQLite writer thread: {e}"))
            })?;
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(collect(writer, rx, to_thread, counts.clone()));
        Ok(StatementBatcher { jobs, counts })
    }

    /// Statements run so far, and the batches they ran in.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.counts.statements.load(Ordering::Relaxed),
            self.counts.batches.load(Ordering::Relaxed),
        )
    }

    /// Runs one statement (`$1…` placeholders) on the writer, with other
    /// callers' statements, and returns its own result.
    pub(crate) async fn execute(
        &self,
        statement: Statement,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        let mut outcomes = self.run(vec![statement]).await?;
        outcomes
            .pop()
            .map(|o| o.done)
            .ok_or_else(|| sqlx::Error::Protocol("a write answered no result".into()))
    }

    /// Runs `statements` on the writer, all or none (one transaction),
    /// with other callers' writes, and returns what each did, in order.
    /// A text of several statements answers as one (their changes summed).
    pub(crate) async fn run(&self, statements: Vec<Statement>) -> Answer {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { statements, done })
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The batching task: waits for writes, takes the writer, drains what
/// came meanwhile (within [`MAX_STATEMENTS`]), and hands it all, with the
/// writer's lock, to the writer thread.
async fn collect(
    writer: HeldWriter,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    to_thread: std::sync::mpsc::Sender<Batch>,
    counts: Arc<Counts>,
) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let held = match writer.lock().await {
            Ok(held) => held,
            Err(_) => {
                let _ = first.done.send(Err(sqlx::Error::PoolTimedOut));
                continue;
            }
        };
        let mut statements = first.statements.len();
        let mut batch = vec![first];
        while let Ok(job) = jobs.try_recv() {
            if statements + job.statements.len() > MAX_STATEMENTS {
                carried = Some(job);
                break;
            }
            statements += job.statements.len();
            batch.push(job);
        }
        counts.batches.fetch_add(1, Ordering::Relaxed);
        counts
            .statements
            .fetch_add(statements as u64, Ordering::Relaxed);
        let sent = to_thread.send(Batch {
            jobs: batch,
            _writer: held,
        });
        if let Err(std::sync::mpsc::SendError(batch)) = sent {
            for job in batch.jobs {
                let _ = job.done.send(Err(sqlx::Error::PoolClosed));
            }
            return;
        }
    }
}

/// On the writer thread: runs a batch and answers its callers, one job
/// alone, several in one transaction, or, when that fails, one by one.
/// The writer's lock goes back when the batch is dropped, after the
/// answers.
fn run_batch(conn: &rusqlite::Connection, mut batch: Batch) {
    if batch.jobs.len() == 1 {
        let job = batch.jobs.pop().expect("one job");
        let answer = in_transaction(conn, &job.statements).map_err(into_sqlx);
        let _ = job.done.send(answer);
        return;
    }
    let all = batch.jobs.iter().flat_map(|j| &j.statements);
    match in_transaction(conn, all) {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for job in batch.jobs.drain(..) {
                let own = outcomes.by_ref().take(job.statements.len()).collect();
                let _ = job.done.send(Ok(own));
            }
        }
        Err(e) => {
            tracing::debug!(
                "a batch of {} writes failed, each runs alone: {e}",
                batch.jobs.len()
            );
            for job in batch.jobs.drain(..) {
                let answer = in_transaction(conn, &job.statements).map_err(into_sqlx);
                let _ = job.done.send(answer);
            }
        }
    }
}

/// Runs `statements` in one transaction; returns each one's outcome. On
/// an error the transaction is rolled back.
fn in_transaction<'a>(
    conn: &rusqlite::Connection,
    statements: impl IntoIterator<Item = &'a Statement>,
) -> rusqlite::Result<Vec<Outcome>> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let ran = statements
        .into_iter()
        .map(|s| run_statement(conn, s))
        .collect::<rusqlite::Result<Vec<_>>>()
        .and_then(|outcomes| {
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(outcomes)
        });
    if ran.is_err() && !conn.is_autocommit() {
        // Fails only when SQLite already rolled back itself.
        let _ = conn.execute_batch("ROLLBACK");
    }
    ran
}

/// Runs one statement (a text of several: each in turn), binding each
/// `$N` to the `N`th value, from the kept prepared statements.
fn run_statement(conn: &rusqlite::Connection, s: &Statement) -> rusqlite::Result<Outcome> {
    let values = &s.args.values.0;
    let mut whole = Outcome::default();
    for sql in split_statements(&s.sql) {
        let mut stmt = conn.prepare_cached(sql)?;
        for i in 1..=stmt.parameter_count() {
            let n = placeholder_number(stmt.parameter_name(i)).unwrap_or(i);
            let value = values
                .get(n.wrapping_sub(1))
                .ok_or(rusqlite::Error::InvalidParameterCount(n, values.len()))?;
            stmt.raw_bind_parameter(i, Bound(value))?;
        }
        let returns = stmt.column_count() > 0;
        let writes = !stmt.readonly();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            if returns {
                whole.returned.push(row.get(0)?);
            }
        }
        drop(rows);
        if writes {
            whole.done.rows_affected += conn.changes();
            whole.done.last_insert_id = Some(conn.last_insert_rowid());
        }
    }
    Ok(whole)
}

/// The number of a `$N` (or `?N`) placeholder.
fn placeholder_number(name: Option<&str>) -> Option<usize> {
    let name = name?;
    let digits = name.strip_prefix('$').or_else(|| name.strip_prefix('?'))?;
    digits.parse().ok()
}

/// A value bound by sqlx's `Any` driver, as SQLite takes it (as sqlx's
/// SQLite driver binds it: booleans as 0 and 1).
struct Bound<'a>(&'a AnyValueKind);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            AnyValueKind::Null(_) => ToSqlOutput::Owned(Value::Null),
            AnyValueKind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            AnyValueKind::SmallInt(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            AnyValueKind::Integer(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            AnyValueKind::BigInt(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            AnyValueKind::Real(v) => ToSqlOutput::Owned(Value::Real(f64::from(*v))),
            AnyValueKind::Double(v) => ToSqlOutput::Owned(Value::Real(*v)),
            AnyValueKind::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            AnyValueKind::TextSlice(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            AnyValueKind::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("a value the writer thread cannot bind: {other:?}").into(),
                ));
            }
        })
    }
}

/// A failed write, as sqlx reports a database error: callers match on
/// its code and kind (a unique violation, say) as before.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct WriteError {
    /// SQLite's extended result code.
    code: i32,
    message: String,
}

impl sqlx::error::DatabaseError for WriteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// SQLite's own errors as database errors; the rest (a value that would
/// not bind, say) as protocol errors.
fn into_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(WriteError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// The statements of a text, split at each `;` outside quotes (empty ones
/// dropped).
fn split_statements(sql: &str) -> impl Iterator<Item = &str> {
    let mut quote = None;
    let mut start = 0;
    let mut cuts = Vec::new();
    for (i, c) in sql.char_indices() {
        if unquoted(&mut quote, c) && c == ';' {
            cuts.push(&sql[start..i]);
            start = i + 1;
        }
    }
    cuts.push(&sql[start..]);
    cuts.into_iter().filter(|s| !s.trim().is_empty())
}

/// Follows SQL's quotes one character at a time (`quote`: the one open):
/// whether `c` is outside any quoted string or name, and not a quote.
fn unquoted(quote: &mut Option<char>, c: char) -> bool {
    match *quote {
        Some(q) => {
            if c == q {
                *quote = None;
            }
            false
        }
        None if c == '\'' || c == '"' => {
            *quote = Some(c);
            false
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many writers at once on a SQLite file: their statements share
    /// round trips, each caller gets its own statement's outcome, and a
    /// failing statement fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_single_writes_share_round_trips_and_fail_alone() {
        // Step 1: a store on a SQLite file (group commit on), and a table.
        let dir = tempfile::tempdir().unwrap();
        let store = crate::db::tests::group_commit_store(&dir).await;
        store
            .execute_write(sqlx::query(
                "CREATE TABLE batch_t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, at BIGINT)",
            ))
            .await
            .unwrap();

        // Step 2: 300 writers at once; every tenth inserts a NULL where
        // none may go, and every other one names its placeholders out of
        // order, so a batch mixes shapes, numbering and failures.
        let writes = (0..300).map(|i: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                let q = if i % 10 == 0 {
                    sqlx::query("INSERT INTO batch_t (k, n) VALUES ($1, $2)")
                        .bind(format!("k{i}"))
                        .bind(None::<i64>)
                } else if i % 2 == 0 {
                    sqlx::query("INSERT INTO batch_t (at, n, k) VALUES ($3, $2, $1)")
                        .bind(format!("k{i}"))
                        .bind(i)
                        .bind(i * 1000)
                } else {
                    sqlx::query("INSERT INTO batch_t (k, n, at) VALUES ($1, $2, $2 * 1000)")
                        .bind(format!("k{i}"))
                        .bind(i)
                };
                (i, store.execute_write(q).await)
            })
        });
        let results = futures::future::join_all(writes).await;

        // Then: the NULLs failed, each alone; every other write answered
        // one row, and the table holds exactly those rows, each with its
        // own values.
        for r in results {
            let (i, outcome) = r.unwrap();
            match outcome {
                Ok(done) => {
                    assert!(i % 10 != 0, "write {i} should have failed");
                    assert_eq!(done.rows_affected(), 1, "write {i}");
                }
                Err(e) => assert!(i % 10 == 0, "write {i} failed: {e}"),
            }
        }
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT k, n, at FROM batch_t ORDER BY n")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        let expected: Vec<(String, i64, i64)> = (0..300)
            .filter(|i| i % 10 != 0)
            .map(|i| (format!("k{i}"), i, i * 1000))
            .collect();
        assert_eq!(rows, expected);

        // And the writes did share round trips.
        let stats = store.group_commit_stats().unwrap();
        assert_eq!(stats.batched_statements, 301);
        assert!(
            stats.statement_batches < stats.batched_statements,
            "{stats:?}"
        );
    }

    #[test]
    fn a_text_splits_at_each_semicolon_outside_quotes() {
        let split = |sql| split_statements(sql).collect::<Vec<_>>();
        assert_eq!(
            split("DELETE FROM t WHERE a = ';';  "),
            ["DELETE FROM t WHERE a = ';'"]
        );
        assert_eq!(split("DELETE FROM t;"), ["DELETE FROM t"]);
        assert_eq!(
            split("DELETE FROM t; DELETE FROM u"),
            ["DELETE FROM t", " DELETE FROM u"]
        );
    }

    #[test]
    fn placeholders_are_numbered_by_their_names() {
        assert_eq!(placeholder_number(Some("$12")), Some(12));
        assert_eq!(placeholder_number(Some("?3")), Some(3));
        assert_eq!(placeholder_number(Some(":name")), None);
        assert_eq!(placeholder_number(None), None);
    }
}

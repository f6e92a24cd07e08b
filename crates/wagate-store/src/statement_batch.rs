//! Writes that need no answer midway, many in one round trip.
//!
//! On a SQLite file with group commit every hot write goes to one held
//! connection (`writer.rs`), and with sqlx's SQLite driver each statement
//! is a round trip to that connection's own thread: the caller's task
//! hands it over, the thread wakes and runs it, answers, and the caller's
//! task wakes again. On the send path the statements themselves took about
//! a third of the time the writer was lent out; the rest was those
//! hand-offs, and the writer was the limit (BENCHMARKS.md).
//!
//! Most hot writes need no answer before their last statement: the
//! engine's single-statement device writes (Signal sessions, message
//! secrets, the inbound buffer, the sent-message copy), the queue's claim
//! and enqueue, and the spine's units (a message, its event and its queue
//! row, described whole: `app/events/unit.rs`). The [`StatementBatcher`]
//! takes them from a channel. Its one task takes the writer, drains what is
//! waiting, and runs it all as one string of statements inside
//! `BEGIN … COMMIT`: one round trip for all of them. Then it answers each
//! caller with its own statements' outcomes (results and returned rows).
//!
//! A batch that fails anywhere is rolled back whole, and its jobs run
//! again one by one (each in its own transaction), so every caller gets
//! exactly its own outcome, as if it had run alone. A caller that goes away
//! does not take its write back (the task runs it anyway), as with a
//! statement already handed to the connection's thread. Durability is the
//! caller's business, as before: it waits for group commit's sync after
//! the answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{AssertSqlSafe, Either, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::writer::{HeldGuard, HeldWriter};

/// Most statements in one batch.
const MAX_STATEMENTS: usize = 64;

/// Most bound values in one batch: SQLite allows 32,766 per statement
/// string; one engine chunk carries up to 1,600.
const MAX_VALUES: usize = 16_000;

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

/// What one statement did: its result, and the rows it returned.
#[derive(Default)]
pub(crate) struct Outcome {
    pub done: AnyQueryResult,
    pub rows: Vec<AnyRow>,
}

type Answer = Result<Vec<Outcome>, sqlx::Error>;

/// A write of one or more statements, run in one transaction, and who
/// waits for their outcomes. Of several, each text must be one statement.
struct Job {
    statements: Vec<Statement>,
    /// Values bound by all its statements.
    values: usize,
    /// Runs in a round trip of its own: a text of its holds more than one
    /// statement (a batch counts one result per statement), or it binds
    /// more values than a batch may carry.
    alone: bool,
    done: oneshot::Sender<Answer>,
}

impl Job {
    /// Runs the job in a round trip of its own (its statements in one
    /// transaction), and answers.
    async fn run_alone(self, conn: &mut HeldGuard) {
        let answer =
            match <[Statement; 1]>::try_from(self.statements) {
                // One text: as it is, in its own implicit transaction; several
                // statements in it answer as one (their changes summed).
                Ok([one]) => run_text(conn, one.sql, one.args).await.map(|outcomes| {
                    let mut outcomes = outcomes.into_iter();
                    let mut whole = outcomes.next().unwrap_or_default();
                    for o in outcomes {
                        whole.done.extend([o.done]);
                        whole.rows.extend(o.rows);
                    }
                    vec![whole]
                }),
                // Several: each must be one statement, for one outcome each.
                Err(statements) => run_in_transaction(conn, &statements).await.and_then(|all| {
                    match all.len() == statements.len() {
                        true => Ok(all),
                        false => Err(out_of_step(statements.len(), all.len())),
                    }
                }),
            };
        let _ = self.done.send(answer);
    }
}

/// Hands writes to the batching task (see the module doc).
#[derive(Clone)]
pub(crate) struct StatementBatcher {
    jobs: mpsc::UnboundedSender<Job>,
    counts: Arc<Counts>,
}

/// What the batcher has done since start: statements run, and the round
/// trips (batches) they took.
#[derive(Default)]
struct Counts {
    statements: AtomicU64,
    batches: AtomicU64,
}

impl StatementBatcher {
    /// Starts the batching task on the held writer; it ends when every
    /// [`StatementBatcher`] is dropped.
    pub(crate) fn start(writer: HeldWriter) -> StatementBatcher {
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(writer, rx, counts.clone()));
        StatementBatcher { jobs, counts }
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
            .ok_or_else(|| out_of_step(1, 0))
    }

    /// Runs `statements` on the writer, all or none (one transaction),
    /// with other callers' writes, and returns what each did, in order.
    pub(crate) async fn run(&self, statements: Vec<Statement>) -> Answer {
        let (done, answer) = oneshot::channel();
        let values = statements.iter().map(|s| s.args.values.0.len()).sum();
        let alone = values > MAX_VALUES
            || statements.len() > MAX_STATEMENTS
            || statements.iter().any(|s| several_statements(&s.sql));
        self.jobs
            .send(Job {
                statements,
                values,
                alone,
                done,
            })
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The batching task: waits for writes, takes the writer, drains what
/// came meanwhile (within the batch's limits), runs them, answers.
async fn run(writer: HeldWriter, mut jobs: mpsc::UnboundedReceiver<Job>, counts: Arc<Counts>) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut conn = match writer.lock().await {
            Ok(conn) => conn,
            Err(_) => {
                let _ = first.done.send(Err(sqlx::Error::PoolTimedOut));
                continue;
            }
        };
        let mut values = first.values;
        let mut statements = first.statements.len();
        let mut batch = vec![first];
        while !batch[0].alone {
            let Ok(job) = jobs.try_recv() else { break };
            if job.alone
                || values + job.values > MAX_VALUES
                || statements + job.statements.len() > MAX_STATEMENTS
            {
                carried = Some(job);
                break;
            }
            values += job.values;
            statements += job.statements.len();
            batch.push(job);
        }
        counts.batches.fetch_add(1, Ordering::Relaxed);
        counts
            .statements
            .fetch_add(statements as u64, Ordering::Relaxed);
        run_batch(&mut conn, batch).await;
    }
}

/// Runs a batch and answers its callers: one job alone, several in one
/// transaction in one round trip, or, when that fails, one by one.
async fn run_batch(conn: &mut HeldGuard, mut batch: Vec<Job>) {
    if batch.len() == 1 {
        batch.pop().expect("one job").run_alone(conn).await;
        return;
    }
    let statements: Vec<&Statement> = batch.iter().flat_map(|j| &j.statements).collect();
    let total = statements.len();
    match run_in_transaction(conn, statements).await {
        Ok(outcomes) if outcomes.len() == total => {
            let mut outcomes = outcomes.into_iter();
            for job in batch {
                let own = outcomes.by_ref().take(job.statements.len()).collect();
                let _ = job.done.send(Ok(own));
            }
        }
        // Cannot happen: each text is one statement (`Job::alone`). The
        // batch committed, so nothing runs again; its callers hear so.
        Ok(outcomes) => {
            tracing::error!(
                "a batch of {total} writes answered {} results",
                outcomes.len()
            );
            for job in batch {
                let _ = job.done.send(Err(out_of_step(total, outcomes.len())));
            }
        }
        Err(e) => {
            tracing::debug!(
                "a batch of {} writes failed, each runs alone: {e}",
                batch.len()
            );
            for job in batch {
                job.run_alone(conn).await;
            }
        }
    }
}

/// Runs `statements` as one string, `BEGIN; s1; s2; …; COMMIT`, in one
/// round trip, and returns each statement's outcome (not `BEGIN`'s nor
/// `COMMIT`'s). On an error the transaction is rolled back.
async fn run_in_transaction<'a>(
    conn: &mut HeldGuard,
    statements: impl IntoIterator<Item = &'a Statement>,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let (sql, args) = combine(statements);
    conn.in_tx = true;
    let ran = run_text(conn, sql, args).await;
    if ran.is_err() {
        // Fails only when SQLite already rolled back itself (or there was
        // nothing to undo).
        let _ = sqlx::query("ROLLBACK").execute(&mut conn.conn).await;
    }
    conn.in_tx = false;
    let mut outcomes = ran?;
    // Drop `BEGIN`'s and `COMMIT`'s.
    if outcomes.len() >= 2 {
        outcomes.pop();
        outcomes.remove(0);
    }
    Ok(outcomes)
}

/// Runs a text of one or more statements in one round trip; returns each
/// statement's outcome.
async fn run_text(
    conn: &mut HeldGuard,
    sql: String,
    args: AnyArguments,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut outcomes = Vec::new();
    let mut rows = Vec::new();
    let mut steps = conn
        .conn
        .fetch_many(sqlx::query_with(AssertSqlSafe(sql), args).persistent(false));
    while let Some(step) = steps.try_next().await? {
        match step {
            Either::Left(done) => outcomes.push(Outcome {
                done,
                rows: std::mem::take(&mut rows),
            }),
            Either::Right(row) => rows.push(row),
        }
    }
    Ok(outcomes)
}

fn out_of_step(expected: usize, answered: usize) -> sqlx::Error {
    sqlx::Error::Protocol(format!(
        "a batch of {expected} writes answered {answered} results"
    ))
}

/// The statements as one string, `BEGIN; s1; s2; …; COMMIT`, each
/// statement's placeholders moved past the ones before it, with all their
/// values.
fn combine<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> (String, AnyArguments) {
    let mut sql = String::from("BEGIN");
    let mut args = AnyArguments::default();
    for s in statements {
        sql.push_str(";\n");
        renumber(&s.sql, args.values.0.len(), &mut sql);
        args.values.0.extend(s.args.values.0.iter().cloned());
    }
    sql.push_str(";\nCOMMIT");
    (sql, args)
}

/// Whether `sql` holds a `;` outside quotes before its end.
fn several_statements(sql: &str) -> bool {
    let mut quote = None;
    let body = sql.trim_end().trim_end_matches(';');
    body.chars().any(|c| unquoted(&mut quote, c) && c == ';')
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

/// Appends `sql` to `out` with every placeholder `$N` made `$(N + by)`.
/// A `$` inside a quoted string or name is left alone.
fn renumber(sql: &str, by: usize, out: &mut String) {
    let mut quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if !(unquoted(&mut quote, c) && c == '$') {
            continue;
        }
        let mut n = 0usize;
        let mut digits = 0;
        while let Some(v) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + v as usize;
            digits += 1;
            chars.next();
        }
        if digits > 0 {
            out.push_str(&(n + by).to_string());
        }
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
    fn a_text_of_several_statements_runs_alone() {
        assert!(!several_statements("DELETE FROM t WHERE a = ';';  "));
        assert!(!several_statements("DELETE FROM t;"));
        assert!(several_statements("DELETE FROM t; DELETE FROM u"));
    }

    #[test]
    fn placeholders_move_past_the_statements_before() {
        let mut out = String::new();
        renumber("UPDATE t SET a = $1, b = '$2' WHERE c = $12", 5, &mut out);
        assert_eq!(out, "UPDATE t SET a = $6, b = '$2' WHERE c = $17");
    }
}

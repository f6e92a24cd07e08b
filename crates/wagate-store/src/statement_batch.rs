//! Single-statement writes, many in one round trip.
//!
//! On a SQLite file with group commit every hot write goes to one held
//! connection (`writer.rs`), and with sqlx's SQLite driver each statement
//! is a round trip to that connection's own thread: the caller's task
//! hands it over, the thread wakes and runs it, answers, and the caller's
//! task wakes again. On the send path the statements themselves took about
//! a third of the time the writer was lent out; the rest was those
//! hand-offs, and the writer was the limit (BENCHMARKS.md).
//!
//! Most of those writes are one statement each (the engine's Signal
//! sessions, message secrets, the inbound buffer and the sent-message copy;
//! the queue's claim and enqueue), from many sessions at once. The
//! [`StatementBatcher`] takes them from a channel. Its one task takes the
//! writer, drains what is waiting, and runs it all as one string of
//! statements inside `BEGIN … COMMIT`: one round trip for all of them.
//! Then it answers each caller with its own statement's result.
//!
//! A batch that fails anywhere is rolled back whole, and its statements
//! run again one by one, so every caller gets exactly its own statement's
//! outcome, as if it had run alone. A caller that goes away does not take
//! its statement back (the task runs it anyway), as with a statement
//! already handed to the connection's thread. Durability is the caller's
//! business, as before: it waits for group commit's sync after the answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::{AssertSqlSafe, Either, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::writer::{HeldGuard, HeldWriter};

/// Most statements in one batch.
const MAX_STATEMENTS: usize = 64;

/// Most bound values in one batch: SQLite allows 32,766 per statement
/// string; one engine chunk carries up to 1,600.
const MAX_VALUES: usize = 16_000;

/// A write of one statement, and who waits for its result.
struct Job {
    sql: String,
    args: AnyArguments,
    /// Runs in a round trip of its own: its text holds more than one
    /// statement (a batch counts one result per job), or it binds more
    /// values than a batch may carry.
    alone: bool,
    done: oneshot::Sender<Result<AnyQueryResult, sqlx::Error>>,
}

impl Job {
    /// Runs the statement in a round trip of its own, and answers.
    async fn run_alone(self, conn: &mut HeldGuard) {
        let result = sqlx::query_with(AssertSqlSafe(self.sql), self.args)
            .execute(&mut conn.conn)
            .await;
        let _ = self.done.send(result);
    }
}

/// Hands single-statement writes to the batching task (see the module doc).
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
        sql: String,
        args: AnyArguments,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        let (done, result) = oneshot::channel();
        let alone = several_statements(&sql) || args.values.0.len() > MAX_VALUES;
        self.jobs
            .send(Job {
                sql,
                args,
                alone,
                done,
            })
            .map_err(|_| sqlx::Error::PoolClosed)?;
        result.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The batching task: waits for statements, takes the writer, drains what
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
        let mut values = first.args.values.0.len();
        let mut batch = vec![first];
        while !batch[0].alone && batch.len() < MAX_STATEMENTS {
            let Ok(job) = jobs.try_recv() else { break };
            if job.alone || values + job.args.values.0.len() > MAX_VALUES {
                carried = Some(job);
                break;
            }
            values += job.args.values.0.len();
            batch.push(job);
        }
        counts.batches.fetch_add(1, Ordering::Relaxed);
        counts
            .statements
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        run_batch(&mut conn, batch).await;
    }
}

/// Runs a batch and answers its callers: one statement alone, several in
/// one transaction in one round trip, or, when that fails, one by one.
async fn run_batch(conn: &mut HeldGuard, mut batch: Vec<Job>) {
    if batch.len() == 1 {
        batch.pop().expect("one job").run_alone(conn).await;
        return;
    }
    let (sql, args) = combine(&batch);
    conn.in_tx = true;
    let results: Result<Vec<AnyQueryResult>, sqlx::Error> = conn
        .conn
        .fetch_many(sqlx::query_with(AssertSqlSafe(sql), args).persistent(false))
        .try_filter_map(|step| async move {
            Ok(match step {
                Either::Left(done) => Some(done),
                Either::Right(_) => None,
            })
        })
        .try_collect()
        .await;
    match results {
        // `BEGIN`, each statement, `COMMIT`.
        Ok(results) if results.len() == batch.len() + 2 => {
            conn.in_tx = false;
            for (job, result) in batch.into_iter().zip(results.into_iter().skip(1)) {
                let _ = job.done.send(Ok(result));
            }
        }
        // Cannot happen: each job is one statement (`Job::alone`). The
        // batch committed, so nothing runs again; its callers hear so.
        Ok(results) => {
            conn.in_tx = false;
            tracing::error!(
                "a batch of {} writes answered {} results",
                batch.len(),
                results.len()
            );
            for job in batch {
                let _ = job.done.send(Err(sqlx::Error::Protocol(
                    "a batch of writes answered out of step".into(),
                )));
            }
        }
        Err(e) => {
            tracing::debug!(
                "a batch of {} writes failed, each runs alone: {e}",
                batch.len()
            );
            // Fails only when SQLite already rolled back itself (or there
            // was nothing to undo).
            let _ = sqlx::query("ROLLBACK").execute(&mut conn.conn).await;
            conn.in_tx = false;
            for job in batch {
                job.run_alone(conn).await;
            }
        }
    }
}

/// The batch as one string, `BEGIN; s1; s2; …; COMMIT`, each statement's
/// placeholders moved past the ones before it, with all their values.
fn combine(batch: &[Job]) -> (String, AnyArguments) {
    let mut sql = String::from("BEGIN");
    let mut args = AnyArguments::default();
    for job in batch {
        sql.push_str(";\n");
        renumber(&job.sql, args.values.0.len(), &mut sql);
        args.values.0.extend(job.args.values.0.iter().cloned());
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
    use crate::Store;

    /// Many writers at once on a SQLite file: their statements share
    /// round trips, each caller gets its own statement's outcome, and a
    /// failing statement fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_single_writes_share_round_trips_and_fail_alone() {
        // Step 1: a store on a SQLite file (group commit on), and a table.
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: no test of this binary sets the variable.
        unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
        let store = Store::connect(&format!("sqlite://{}/batch.db", dir.path().display()))
            .await
            .unwrap();
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

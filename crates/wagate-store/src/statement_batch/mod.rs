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
//!   returned ids), and gives the lock back (`writer_thread.rs`).
//!
//! A batch that fails anywhere is rolled back whole, and its jobs run
//! again one by one (each in its own transaction), so every caller gets
//! exactly its own outcome, as if it had run alone. A caller that goes away
//! does not take its write back (the thread runs it anyway). Durability is
//! the caller's business, as before: it waits for group commit's sync after
//! the answer (the WAL is the file's, whichever connection wrote it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::any::{AnyArguments, AnyQueryResult};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::writer::{HeldGuard, HeldWriter};

mod writer_thread;

/// Most statements in one batch (a job is never split: one larger than
/// this runs alone). A sent message is ~20 statements; at 64, batches on
/// the send path were full (~58 on average) and a queued backlog was
/// written ~3 messages per commit. At 256 it goes ~8 per commit (~157
/// statements), and the pages they share are written once
/// (BENCHMARKS.md, 2026-12-06 on the AMD EPYC).
const MAX_STATEMENTS: usize = 256;

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
        let to_thread = writer_thread::start(path, busy_timeout, setup)?;
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

#[cfg(test)]
mod tests {
    /// Many writers at once on a SQLite file: their statements share
    /// batches, each caller gets its own statement's outcome, and a
    /// failing statement fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_single_writes_share_batches_and_fail_alone() {
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

        // And the writes did share batches.
        let stats = store.group_commit_stats().unwrap();
        assert_eq!(stats.batched_statements, 301);
        assert!(
            stats.statement_batches < stats.batched_statements,
            "{stats:?}"
        );
    }
}

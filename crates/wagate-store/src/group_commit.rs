//! Group commit for SQLite: many transactions, one fsync.
//!
//! With `synchronous=FULL` every SQLite commit waits for its own fsync of the
//! WAL (~2 ms on this kind of disk), one after the other: a message costs
//! several commits on each side, so the whole gateway was held to what one
//! writer can fsync. A database server does better by letting every commit
//! that arrives while an fsync runs share the next one. This module does the
//! same for SQLite:
//!
//! - The hot writers (spine transactions, the send queue, the engine's
//!   Signal state, a session's status and connection record: a reconnect
//!   storm writes thousands of those at once) use [`GroupCommit::writer`]:
//!   one connection with `synchronous=NORMAL`, whose `COMMIT` only writes
//!   the WAL frames (into the page cache; a `kill -9` cannot take them
//!   back). Writes that need no answer midway (single statements, and
//!   the spine's units: `app/events/unit.rs`) reach it through
//!   [`GroupCommit::batcher`], many in one transaction, run by the
//!   writer thread on a connection of its own while it holds the writer
//!   (`statement_batch/`).
//! - After its `COMMIT` a writer calls [`GroupCommit::wait_durable`]: it
//!   takes a ticket (a counter of completed commits) and waits until the
//!   syncer has fsynced the WAL file at a moment after that ticket was
//!   taken. The syncer fsyncs once for every ticket taken while the
//!   previous fsync ran, so a hundred concurrent commits cost one fsync.
//! - The WAL is append-only between checkpoints, and SQLite fsyncs the WAL
//!   before a checkpoint and the database after it (also with `NORMAL`), so
//!   an fsync of the WAL file makes every earlier commit durable.
//!
//! A caller is told "committed" only once its commit is durable, exactly as
//! with `FULL`, with two named exceptions whose loss in a power cut is
//! harmless and which sit on every send's path: whatsapp-rust's copy of a
//! sent message kept for retry receipts, and a message's secret. They are
//! committed (a crash cannot take them back) and durable with the next
//! sync, a few ms later. The send queue's claim of a row does not wait
//! either (see `Store::claim_queued`). Readers on other connections may see a row up to one fsync
//! before it is durable; the event log therefore holds back events until a
//! sync covers them ([`crate::Store::read_events`]), so no consumer's cursor
//! ever passes an event a power cut could take back.
//!
//! Everything else (admin writes, settings) keeps the main pool at `FULL`:
//! rare writes, and their callers need no change.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use tokio::sync::watch;
use tracing::error;

use crate::StoreError;
use crate::statement_batch::StatementBatcher;
use crate::writer::HeldWriter;

/// The group-commit writer of one SQLite file.
pub(crate) struct GroupCommit {
    /// The writers' one connection, `synchronous=NORMAL`.
    writer: HeldWriter,
    /// Writes on it that need no answer midway, batched.
    batcher: StatementBatcher,
    shared: Arc<Shared>,
    /// The syncer's thread, unparked when a ticket waits.
    syncer: std::thread::Thread,
}

struct Shared {
    /// The WAL file the syncer fsyncs.
    wal: PathBuf,
    /// Tickets taken: commits that completed (and barriers) so far.
    tickets: AtomicU64,
    /// The highest ticket an fsync has covered.
    synced: watch::Sender<u64>,
    /// An fsync failed: the page cache's state is unknown, refuse to go on
    /// pretending commits are durable (PostgreSQL panics for the same).
    failed: AtomicBool,
    /// Every event up to this `seq` is known durable.
    durable_seq: AtomicI64,
    /// The store is gone: the syncer ends.
    closed: AtomicBool,
    /// fsyncs of the WAL so far.
    syncs: AtomicU64,
}

/// What group commit has done since start: commits (and log reads) that
/// waited for a sync, the fsyncs that served them, and how long the writer
/// connection was in use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    pub waits: u64,
    pub syncs: u64,
    /// Time the writer connection was lent out, in microseconds.
    pub writer_busy_micros: u64,
    /// Times the writer connection was lent out.
    pub writer_uses: u64,
    /// Statements batched on the writer (single writes and spine units),
    /// and the batches (hand-offs to the writer thread) they took
    /// (`statement_batch/`).
    pub batched_statements: u64,
    pub statement_batches: u64,
}

impl GroupCommit {
    /// Starts the syncer for the database file `db_path`; `writer` is the
    /// writers' connection (already `synchronous=NORMAL`), `batcher` the
    /// batched writes' way to it.
    pub(crate) fn start(
        writer: HeldWriter,
        batcher: StatementBatcher,
        db_path: &str,
    ) -> Result<GroupCommit, StoreError> {
        let shared = Arc::new(Shared {
            wal: PathBuf::from(format!("{db_path}-wal")),
            tickets: AtomicU64::new(0),
            synced: watch::channel(0).0,
            failed: AtomicBool::new(false),
            durable_seq: AtomicI64::new(0),
            closed: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        });
        let syncer = std::thread::Builder::new()
            .name("wal-syncer".into())
            .spawn({
                let shared = shared.clone();
                move || sync_loop(shared)
            })
            .map_err(|e| StoreError::Connect(format!("cannot start the WAL syncer thread: {e}")))?
            .thread()
            .clone();
        Ok(GroupCommit {
            batcher,
            writer,
            shared,
            syncer,
        })
    }

    pub(crate) fn writer(&self) -> &HeldWriter {
        &self.writer
    }

    pub(crate) fn batcher(&self) -> &StatementBatcher {
        &self.batcher
    }

    /// Waits until everything committed (or read) before this call is on
    /// disk: the next fsync that starts after now.
    pub(crate) async fn wait_durable(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        let ticket = shared.tickets.fetch_add(1, Ordering::AcqRel) + 1;
        self.syncer.unpark();
        let mut synced = shared.synced.subscribe();
        let waited = synced.wait_for(|s| *s >= ticket).await.is_ok();
        if !waited || shared.failed.load(Ordering::Acquire) {
            return Err(fsync_failed());
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> GroupCommitStats {
        let (batched_statements, statement_batches) = self.batcher.counts();
        GroupCommitStats {
            waits: self.shared.tickets.load(Ordering::Acquire),
            syncs: self.shared.syncs.load(Ordering::Acquire),
            writer_busy_micros: self.writer.busy_micros(),
            writer_uses: self.writer.uses(),
            batched_statements,
            statement_batches,
        }
    }

    /// Events up to `seq` are durable (a sync covered them).
    pub(crate) fn durable_up_to(&self, seq: i64) {
        self.shared.durable_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// Every event up to this `seq` is known durable.
    pub(crate) fn durable_seq(&self) -> i64 {
        self.shared.durable_seq.load(Ordering::Acquire)
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.syncer.unpark();
    }
}

fn fsync_failed() -> StoreError {
    StoreError::Connect(
        "the disk refused to sync the SQLite WAL; commits can no longer be made durable: check the disk and restart the gateway".into(),
    )
}

/// The syncer: one fsync of the WAL file for every ticket taken since the
/// last one, on a thread of its own (a waiter unparks it; an fsync is a
/// blocking call, and a thread of its own saves the hand-offs through the
/// runtime's blocking pool on every sync). Ends when the [`GroupCommit`] is
/// dropped.
fn sync_loop(s: Arc<Shared>) {
    loop {
        let target = s.tickets.load(Ordering::Acquire);
        if target <= *s.synced.borrow() {
            if s.closed.load(Ordering::Acquire) {
                return;
            }
            // A waiter takes its ticket before it unparks this thread, and
            // an unpark before the park makes the park return at once: no
            // ticket is missed.
            std::thread::park();
            continue;
        }
        if let Err(e) = sync_file(&s.wal) {
            error!(wal = %s.wal.display(), "fsync of the SQLite WAL failed: {e}");
            s.failed.store(true, Ordering::Release);
        }
        s.syncs.fetch_add(1, Ordering::AcqRel);
        s.synced.send_replace(target);
    }
}

/// fsyncs (`fdatasync`) the file at `path`, opened anew: SQLite may have
/// replaced the WAL file after a full checkpoint (which synced the
/// database itself), and a missing WAL has nothing to sync.
fn sync_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(path) {
        Ok(f) => f.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

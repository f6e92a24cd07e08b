//! A worker's bookkeeping, committed in groups behind its deliveries.
//!
//! Every settled event is handed to the ledger: its settling attempt (for
//! the delivery log) and the cursor move past it. The ledger writes them in
//! one transaction per group ([`Store::settle_webhook_deliveries`]), in the
//! background, while the worker goes on delivering; a group is whatever
//! settled while the previous commit was running. So one commit (one fsync)
//! covers many deliveries, and the worker never waits on the database
//! unless [`WINDOW`] settled events are not yet durable.
//!
//! What a crash costs: the cursor on disk may be up to [`WINDOW`] settled
//! events behind (plus the deliveries in flight), and those are delivered
//! again after a restart, with the same idempotency keys. Nothing is ever
//! skipped: the cursor moves only over events whose delivery has settled,
//! in log order, by compare-and-set.

use tokio::task::JoinHandle;
use wagate_core::DeliveryOutcome;
use wagate_store::app::webhooks::DeliveryRecord;
use wagate_store::{Store, StoreError};

/// Most settled events that may wait for their commit. This bounds what a
/// crash can make a receiver see twice.
pub const WINDOW: usize = 256;

/// One commit running in the background, and how many events it covers.
struct Commit {
    handle: JoinHandle<Result<bool, StoreError>>,
    events: usize,
}

/// The ledger of one worker (one endpoint).
pub(crate) struct Ledger {
    store: Store,
    webhook_id: String,
    /// Where the cursor stands once the commit in flight (if any) is done.
    base: i64,
    /// Where the cursor goes with the next commit.
    to: i64,
    /// Settling attempts not yet handed to a commit.
    records: Vec<DeliveryRecord>,
    /// Events settled since `base`.
    events: usize,
    /// The latest delivered attempt since `base`: its commit ends a run of
    /// failures that began no later than it.
    delivered_at: Option<i64>,
    inflight: Option<Commit>,
    /// A commit found the cursor moved (a replay is pending): the worker
    /// must stop its batch and reload.
    moved: bool,
}

impl Ledger {
    pub fn new(store: Store, webhook_id: String) -> Ledger {
        Ledger {
            store,
            webhook_id,
            base: 0,
            to: 0,
            records: Vec::new(),
            events: 0,
            delivered_at: None,
            inflight: None,
            moved: false,
        }
    }

    /// Starts from the durable cursor (nothing may be pending).
    pub fn start_at(&mut self, cursor: i64) {
        debug_assert!(self.inflight.is_none() && self.events == 0);
        self.base = cursor;
        self.to = cursor;
        self.moved = false;
    }

    /// Where the cursor will stand once everything handed over is committed.
    pub fn cursor(&self) -> i64 {
        self.to
    }

    /// Hands over a settled event (`record`: its settling attempt; `None`
    /// for events only stepped over). Returns `false` once the cursor was
    /// found moved under the worker.
    pub async fn settle(
        &mut self,
        record: Option<DeliveryRecord>,
        seq: i64,
    ) -> Result<bool, StoreError> {
        if let Some(r) = record {
            if r.outcome == DeliveryOutcome::Delivered {
                self.delivered_at = Some(self.delivered_at.unwrap_or(0).max(r.created_at));
            }
            self.records.push(r);
        }
        self.to = self.to.max(seq);
        self.events += 1;
        let backlog = self.events + self.inflight.as_ref().map_or(0, |c| c.events);
        self.pump(backlog >= WINDOW).await?;
        Ok(!self.moved)
    }

    /// Waits until everything handed over is committed; returns whether the
    /// cursor moved as the worker expected.
    pub async fn flush(&mut self) -> Result<bool, StoreError> {
        while self.inflight.is_some() || self.events > 0 {
            self.pump(true).await?;
        }
        Ok(!self.moved)
    }

    /// Forgets everything not yet committed (after a store error): the
    /// worker starts again from the cursor on disk, so those events are
    /// delivered again, never skipped.
    pub async fn abandon(&mut self) {
        if let Some(commit) = self.inflight.take() {
            let _ = commit.handle.await;
        }
        self.records.clear();
        self.events = 0;
        self.delivered_at = None;
    }

    /// Collects a finished commit (waiting for it when `wait`), then starts
    /// the next one if anything is pending and none is running.
    async fn pump(&mut self, wait: bool) -> Result<(), StoreError> {
        if let Some(commit) = self.inflight.take() {
            if wait || commit.handle.is_finished() {
                let moved = commit
                    .handle
                    .await
                    .map_err(|e| StoreError::Connect(format!("delivery ledger task: {e}")))??;
                if !moved {
                    self.moved = true;
                }
            } else {
                self.inflight = Some(commit);
                return Ok(());
            }
        }
        if self.events == 0 {
            return Ok(());
        }
        let (store, id) = (self.store.clone(), self.webhook_id.clone());
        let (from, to) = (self.base, self.to);
        let records = std::mem::take(&mut self.records);
        let cleared = self.delivered_at.take();
        let handle = tokio::spawn(async move {
            store
                .settle_webhook_deliveries(&id, from, to, &records, cleared)
                .await
        });
        self.inflight = Some(Commit {
            handle,
            events: std::mem::take(&mut self.events),
        });
        self.base = to;
        Ok(())
    }
}

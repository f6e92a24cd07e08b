//! One endpoint's worker: reads the log after the endpoint's cursor in
//! batches and delivers each event it wants, with retries, in log order, or
//! with up to the endpoint's `concurrency` deliveries in flight at once.
//!
//! Order: with `concurrency` 1 (the default) an event is sent only once the
//! one before it has settled (delivered, or finally failed), exactly as
//! before. With `concurrency` N, up to N events are in flight, so a receiver
//! may see them in a different order (while one event waits to be retried,
//! the N-1 after it still go); the cursor still moves in log order, only
//! over events that settled.
//!
//! Durability: the cursor moves (compare-and-set, in the database) only past
//! settled events, so a crash at any instant resumes at the first event not
//! yet settled *on disk*: a receiver may see an event twice (with the same
//! idempotency key), never miss one. The settled attempts and the cursor
//! move are committed in groups behind the deliveries (see [`crate::ledger`]):
//! at most [`crate::ledger::WINDOW`] settled events, plus those in flight,
//! may be delivered again after a crash. The worker holds at most one batch
//! of events in memory, however long its receiver is down: the backlog
//! stays on disk, in the log.
//!
//! Deliveries share one keep-alive HTTP client pool (per kind of endpoint),
//! so a busy endpoint reuses its connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tokio::sync::Notify;
use tracing::{debug, info, warn};
use wagate_core::DeliveryOutcome;
use wagate_store::app::EventQuery;
use wagate_store::app::webhooks::WebhookRecord;

use crate::attempt::{Settled, deliver};
use crate::ledger::Ledger;
pub use crate::shared::DeliveryObserver;
use crate::shared::{RECHECK, Shared};

/// Events read from the log at once.
const BATCH: u32 = 500;
/// How often an idle worker looks at its row even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// How often a busy worker looks at its row between deliveries, to pick up
/// edits (URL, secret, filter, concurrency), a disable or a replay.
const EDIT_CHECK: Duration = Duration::from_millis(250);

/// Runs until the endpoint is deleted or disabled.
pub(crate) async fn run_endpoint(shared: Arc<Shared>, id: String, wake: Arc<Notify>) {
    debug!(webhook = %id, "worker started");
    let mut ledger = Ledger::new(shared.store.clone(), id.clone());
    loop {
        let hook = match shared.store.get_webhook(&id).await {
            Ok(Some(h)) if h.enabled => h,
            Ok(_) => break,
            Err(e) => {
                warn!(webhook = %id, "cannot read webhook: {e}");
                tokio::time::sleep(RECHECK).await;
                continue;
            }
        };
        if hook.replay_from.is_some() {
            match shared.store.take_webhook_replay(&id).await {
                Ok(Some(cursor)) => info!(webhook = %id, from = cursor + 1, "replaying"),
                Ok(None) => {}
                Err(e) => warn!(webhook = %id, "cannot apply replay: {e}"),
            }
            continue;
        }
        ledger.start_at(hook.last_seq);
        // Every step ends with its bookkeeping on disk, so the next one
        // starts from the cursor as stored.
        let outcome = match step(&shared, hook, &mut ledger).await {
            Ok(progress) => ledger.flush().await.map(|_| progress),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            ledger.abandon().await;
        }
        match outcome {
            Ok(Progress::Worked) => {}
            Ok(Progress::Idle) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            Ok(Progress::Stop) => break,
            Err(e) => {
                warn!(webhook = %id, "delivery store error: {e}");
                tokio::time::sleep(RECHECK).await;
            }
        }
    }
    debug!(webhook = %id, "worker stopped");
}

enum Progress {
    Worked,
    Idle,
    Stop,
}

/// One pass: a queued redelivery, else the next batch of the log.
async fn step(
    shared: &Shared,
    hook: WebhookRecord,
    ledger: &mut Ledger,
) -> Result<Progress, wagate_store::StoreError> {
    let store = &shared.store;
    let hook = Arc::new(hook);
    if let Some((queue_id, seq)) = store.next_redelivery(&hook.id).await? {
        let mut stop = false;
        match store.get_event(seq).await? {
            Some(event) if crate::formats::carries(hook.format, &event) => {
                match deliver(shared, hook.clone(), &event).await? {
                    Settled::Done(record) => {
                        store.record_delivery(&record).await?;
                        if record.outcome == DeliveryOutcome::Delivered {
                            store.clear_webhook_failing(&hook.id).await?;
                        }
                    }
                    Settled::Stop => stop = true,
                    Settled::Reload => {}
                }
            }
            Some(_) => {}
            None => {
                info!(webhook = %hook.id, seq, "redelivery skipped: the event was pruned from the log");
            }
        }
        store.remove_redelivery(queue_id).await?;
        return Ok(if stop {
            Progress::Stop
        } else {
            Progress::Worked
        });
    }
    // The head first: every event up to it is committed and none can appear
    // below it later, so once the log is read up to it the cursor may move
    // there even if nothing was this endpoint's.
    let head = store.last_event_seq().await?;
    let batch = store
        .read_events(&EventQuery {
            after: hook.last_seq,
            session_id: hook.session_id.clone(),
            tenant_id: None,
            limit: BATCH,
            upto: Some(head),
        })
        .await?;
    let Some(last) = batch.last().map(|e| e.seq) else {
        // A quiet session (or a filter that matches nothing new) must not
        // pin retention: the cursor follows the head.
        if head > hook.last_seq {
            ledger.settle(None, head).await?;
        }
        return Ok(Progress::Idle);
    };
    let end = if batch.len() < BATCH as usize {
        last.max(head)
    } else {
        last
    };
    let mut hook = hook;
    let mut checked = Instant::now();
    let mut events = batch.iter();
    let mut inflight = FuturesOrdered::new();
    loop {
        // Keep up to `concurrency` deliveries going; results come back in
        // log order, so the cursor only ever moves over settled events
        // (and the events this endpoint does not want before them).
        while inflight.len() < hook.concurrency.max(1) as usize {
            let Some(event) = events.next() else { break };
            if hook.wants(event.event.as_str()) && crate::formats::carries(hook.format, event) {
                let hook = hook.clone();
                inflight.push_back(async move { (event.seq, deliver(shared, hook, event).await) });
            }
        }
        let Some((seq, settled)) = inflight.next().await else {
            break;
        };
        match settled? {
            Settled::Done(record) => {
                if !ledger.settle(Some(*record), seq).await? {
                    return Ok(Progress::Worked);
                }
            }
            Settled::Stop => return Ok(Progress::Stop),
            Settled::Reload => return Ok(Progress::Worked),
        }
        // Pick up edits (URL, secret, filter, concurrency) between events.
        if checked.elapsed() >= EDIT_CHECK {
            checked = Instant::now();
            match store.get_webhook(&hook.id).await? {
                Some(h) if h.enabled && h.replay_from.is_none() => {
                    if h.updated_at != hook.updated_at {
                        hook = Arc::new(h);
                    }
                }
                Some(h) if h.enabled => return Ok(Progress::Worked),
                _ => return Ok(Progress::Stop),
            }
        }
    }
    if end > ledger.cursor() {
        ledger.settle(None, end).await?;
    }
    Ok(Progress::Worked)
}

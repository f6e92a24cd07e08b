//! One session's dispatcher: the task that sends its queued messages.
//!
//! It starts when the session first has something queued and runs until the
//! process stops. Each turn it waits for the session to be connected, asks
//! the store what each lane has waiting, asks the [`Gate`] when each lane may
//! send, and either sends the first due message or sleeps until the earliest
//! moment something may go (or until it is rung: a new message, changed
//! pacing, a status change). An idle dispatcher has no timer at all.
//!
//! Sending is one message at a time per session, which is what the pacing
//! means and what a phone does.

use crate::events::EventKind;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tracing::{debug, warn};
use wagate_core::{BatchStatus, ChatId, ErrorCode, SessionStatus, now_ms};
use wagate_store::app::{QueueTurn, QueuedRecord};

use super::pacing::{Gate, Lane};
use super::{BatchOptions, Inner, SendJob, SendQueue};
use crate::error::EngineError;
use crate::session::{QueuedRow, Session};

/// How long to wait after a database error before trying again.
const STORE_RETRY: Duration = Duration::from_secs(2);

pub(crate) async fn run(queue: SendQueue, session: Arc<Session>, bell: Arc<Notify>) {
    let inner = queue.inner.clone();
    let mut status = session.watch_changes();
    let mut gate = loop {
        match inner
            .store
            .sent_times_since(&session.id, now_ms() - super::pacing::DAY)
            .await
        {
            Ok(times) => break Gate::with_history(times),
            Err(e) => {
                warn!(session = %session.id, "send queue: {e}");
                if sleep_or_stop(&inner, STORE_RETRY).await {
                    return;
                }
            }
        }
    };
    debug!(session = %session.id, "dispatcher started");
    // The last look at the backlog found only the message then sent, and
    // it was settled: nothing waits until the bell rings (every enqueue
    // rings it after its commit, and a ring before now is kept), so the
    // next turn need not ask the store.
    let mut drained = false;
    loop {
        if inner.shutdown.is_cancelled() || !queue.is_current(&session.id, &bell) {
            debug!(session = %session.id, "dispatcher stopped");
            return;
        }
        // 1. Connected?
        if session.status() != SessionStatus::Ready {
            // This wait may take the bell's ring: look at the store again.
            drained = false;
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = status.changed() => {}
                _ = bell.notified() => {}
            }
            continue;
        }
        // 2. What may go, and when?
        if std::mem::take(&mut drained) {
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = bell.notified() => {}
            }
            continue;
        }
        let (next, pacing, waiting, mut turn) = match pick(&queue, &session, &gate).await {
            Ok(n) => n,
            Err(e) => {
                warn!(session = %session.id, "send queue: {e}");
                if sleep_or_stop(&inner, STORE_RETRY).await {
                    return;
                }
                continue;
            }
        };
        let (lane, at) = match next {
            Some(n) => n,
            None => {
                // Nothing waits: sleep until rung.
                tokio::select! {
                    _ = inner.shutdown.cancelled() => return,
                    _ = bell.notified() => {}
                }
                continue;
            }
        };
        let now = now_ms();
        if at > now {
            let wait = Duration::from_millis((at - now) as u64);
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = bell.notified() => {}
                _ = status.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        // 3. Take the first due message of that lane (read with the
        // backlog) and send it. None: it became due after that read.
        let Some(record) = turn.take_due(lane) else {
            continue;
        };
        // In a cluster, only under this node's lease (a fenced write).
        let fence = session.write_fence();
        if matches!(fence, crate::session::WriteFence::NotHeld) {
            if sleep_or_stop(&inner, STORE_RETRY).await {
                return;
            }
            continue;
        }
        match inner.store.claim_queued(&record.id, fence.fence()).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                warn!(session = %session.id, "send queue: {e}");
                continue;
            }
        }
        let Delivered { tried, settled } = deliver(&queue, &session, &record, &pacing).await;
        drained = settled && waiting == 1;
        if tried {
            let jitter = if pacing.jitter_ms > 0 {
                rand::random_range(0..=pacing.jitter_ms)
            } else {
                0
            };
            gate.record(lane, now_ms(), &pacing, jitter);
        }
    }
}

/// The lane to serve next and when it may send (see
/// [`super::pacing::next_send`]), with the session's pacing, how many
/// messages wait in all, and each lane's first due message.
async fn pick(
    queue: &SendQueue,
    session: &Session,
    gate: &Gate,
) -> Result<(Option<(Lane, i64)>, super::Pacing, i64, QueueTurn), EngineError> {
    let (pacing, _) = queue.pacing(&session.id).await?;
    let now = now_ms();
    let turn = queue.inner.store.queue_turn(&session.id, now).await?;
    let next = super::pacing::next_send(&turn.backlog, gate, &pacing, now);
    let waiting = turn.backlog.iter().map(|l| l.count).sum();
    Ok((next, pacing, waiting, turn))
}

/// What [`deliver`] did with a claimed message.
struct Delivered {
    /// A send was attempted (what the gate counts).
    tried: bool,
    /// The message left the queue for good (sent, or failed finally); false
    /// when it went back in line.
    settled: bool,
}

/// Sends one claimed message and records what happened.
async fn deliver(
    queue: &SendQueue,
    session: &Session,
    record: &QueuedRecord,
    pacing: &super::Pacing,
) -> Delivered {
    let settled = |tried| Delivered {
        tried,
        settled: true,
    };
    let inner = &queue.inner;
    let job: SendJob = match serde_json::from_str(&record.payload) {
        Ok(j) => j,
        Err(e) => {
            fail(
                queue,
                session,
                record,
                &ErrorCode::InternalError.as_str(),
                &format!("unreadable job: {e}"),
            )
            .await;
            return settled(false);
        }
    };
    let chat = match ChatId::parse(&record.chat_id) {
        Ok(c) => c,
        Err(e) => {
            let code = ErrorCode::MessageInvalidChatId.as_str();
            fail(queue, session, record, &code, &e.0).await;
            return settled(false);
        }
    };
    // Storing the sent message marks its row sent in the same commit.
    session.sending_queued(&record.wa_id, &record.id);
    let outcome = session
        .perform(&chat, &job, &record.wa_id, &pacing.typing())
        .await;
    let row = session.take_sending(&record.wa_id);
    match outcome {
        Ok(sent) => {
            // The row as it is now, for whoever waits for it.
            let sent_row = match row {
                Some(QueuedRow::SentAt(at)) => Some(record.as_sent(at)),
                // Not settled with its message (a resend already stored):
                // its own commit.
                Some(QueuedRow::Unsettled) => match inner
                    .store
                    .mark_queued_sent(&record.id, sent.timestamp_ms)
                    .await
                {
                    Ok(()) => Some(record.as_sent(sent.timestamp_ms)),
                    Err(e) => {
                        warn!(session = %session.id, "could not record a sent message: {e}");
                        None
                    }
                },
                None => None,
            };
            queue.finished(&record.id, sent_row);
            if let Some(batch) = &record.batch_id {
                after_batch_item(inner, session, batch, true, sent.timestamp_ms).await;
            }
            settled(true)
        }
        Err(e) if e.is_not_connected() => {
            // Nothing was tried: back in line until the session is back.
            if let Err(e) = inner.store.requeue(&record.id, 0, None, true).await {
                warn!(session = %session.id, "could not requeue: {e}");
            }
            Delivered {
                tried: false,
                settled: false,
            }
        }
        Err(e) => {
            let code = e.code().as_str();
            let message = e.to_string();
            let schedule = &inner.config.retry_schedule;
            let attempt = record.attempts + 1; // the claim counted this one
            let retried = match (e.is_transient(), schedule.base((attempt - 1) as usize)) {
                (true, Some(wait)) => {
                    debug!(session = %session.id, id = %record.id, attempt, "send failed, retrying: {message}");
                    let at = now_ms() + wait.as_millis() as i64;
                    if let Err(e) = inner
                        .store
                        .requeue(&record.id, at, Some((&code, &message)), false)
                        .await
                    {
                        warn!(session = %session.id, "could not requeue: {e}");
                    }
                    true
                }
                _ => {
                    queue.release_file(record);
                    fail(queue, session, record, &code, &message).await;
                    false
                }
            };
            Delivered {
                tried: true,
                settled: !retried,
            }
        }
    }
}

/// Marks a message failed for good and says so.
async fn fail(
    queue: &SendQueue,
    session: &Session,
    record: &QueuedRecord,
    code: &str,
    message: &str,
) {
    let inner = &queue.inner;
    let chat = ChatId::api_from_jid(&record.chat_id);
    let data = json!({
        "queueId": record.id,
        "messageId": record.message_id(),
        "chatId": chat,
        "type": record.kind,
        "attempts": record.attempts + 1,
        "batchId": record.batch_id,
        "error": { "code": code, "message": message },
    });
    // The failure and its `message.failed` commit together, once.
    let settled = async {
        let mut tx = inner.store.begin().await?;
        if tx.mark_queued_failed(&record.id, code, message).await? {
            tx.append(
                &session.id,
                &session.tenant_id,
                EventKind::MessageFailed,
                &data,
            )
            .await?;
        }
        tx.commit().await
    };
    if let Err(e) = settled.await {
        warn!(session = %session.id, "could not record a failed message: {e}");
    }
    queue.finished(&record.id, None);
    if let Some(batch) = &record.batch_id {
        after_batch_item(inner, session, batch, false, now_ms()).await;
    }
}

/// After one of a batch's messages: hold the rest for the batch's delay,
/// stop it on error if asked, report progress, finish it when done.
async fn after_batch_item(inner: &Inner, session: &Session, batch_id: &str, sent: bool, at: i64) {
    let store = &inner.store;
    let Ok(Some(batch)) = store.get_batch(&session.id, batch_id).await else {
        return;
    };
    let options: Option<BatchOptions> = serde_json::from_str(&batch.options).ok();
    if sent {
        let _ = store.mark_batch_started(&session.id, batch_id, at).await;
    }
    if let Some(options) = &options {
        if !sent && options.stop_on_error {
            let _ = store
                .cancel_batch_items(
                    &session.id,
                    batch_id,
                    Some(("BATCH_STOPPED", "an earlier message of the batch failed")),
                )
                .await;
        } else {
            let _ = store
                .hold_batch(&session.id, batch_id, at + options.next_delay_ms())
                .await;
        }
    }
    settle_batch(inner, session, batch_id).await;
}

/// Emits the batch's progress and, once nothing of it is pending, finishes
/// it (`completed` or `cancelled`) and says so.
pub(crate) async fn settle_batch(inner: &Inner, session: &Session, batch_id: &str) {
    let Ok(progress) = inner.store.batch_progress(&session.id, batch_id).await else {
        return;
    };
    let counts = json!({
        "total": progress.total,
        "sent": progress.sent,
        "failed": progress.failed,
        "pending": progress.pending(),
        "cancelled": progress.cancelled,
    });
    session
        .emit(
            EventKind::BatchProgress,
            json!({ "batchId": batch_id, "progress": counts }),
        )
        .await;
    if progress.pending() > 0 {
        return;
    }
    let status = if progress.cancelled > 0 {
        BatchStatus::Cancelled
    } else {
        BatchStatus::Completed
    };
    if let Ok(true) = inner
        .store
        .finish_batch(&session.id, batch_id, status)
        .await
    {
        let event = if status == BatchStatus::Completed {
            EventKind::BatchCompleted
        } else {
            EventKind::BatchCancelled
        };
        session
            .emit(event, json!({ "batchId": batch_id, "progress": counts }))
            .await;
    }
}

/// Sleeps, or returns true at once if the process is stopping.
async fn sleep_or_stop(inner: &Inner, d: Duration) -> bool {
    tokio::select! {
        _ = inner.shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

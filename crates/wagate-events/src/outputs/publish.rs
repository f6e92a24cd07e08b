//! One output's task: the log after the cursor, published in batches.
//!
//! A batch is published whole and every message's ack awaited before the
//! cursor moves (compare-and-set), so a crash, a lost connection or a
//! broker restart at any instant resumes at the first unconfirmed event.
//! While the broker cannot be reached the task waits with a growing delay
//! (1 s doubling to 10 s) and records why on the output (`lastError`); the
//! backlog stays in the log, so memory stays bounded however long the
//! broker is down.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tracing::{debug, info, warn};
use wagate_store::app::EventQuery;
use wagate_store::app::EventRecord;
use wagate_store::app::outputs::OutputRecord;

use super::{Connection, OutMessage};
use crate::idempotency::idempotency_key;
use crate::shared::Shared;

/// Events read from the log at once (and published as one batch).
const BATCH: u32 = 200;
/// How often an idle task looks at the log even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// First and longest wait after a broker failure.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How often a waiting task checks whether its output changed.
const RECHECK: Duration = Duration::from_secs(1);

/// Runs until the output is deleted or disabled.
pub(crate) async fn run_output(shared: Arc<Shared>, id: String, wake: Arc<Notify>) {
    debug!(output = %id, "output task started");
    let mut open: Option<(i64, Connection)> = None;
    let mut backoff = BACKOFF_FIRST;
    loop {
        let output = match shared.store.get_output(&id).await {
            Ok(Some(o)) if o.enabled => o,
            Ok(_) => break,
            Err(e) => {
                warn!(output = %id, "cannot read output: {e}");
                tokio::time::sleep(RECHECK).await;
                continue;
            }
        };
        // An edit (URL, target, filter) reconnects with the new settings.
        if let Some((seen, conn)) = open.take() {
            if seen == output.updated_at {
                open = Some((seen, conn));
            } else {
                conn.close().await;
            }
        }
        if open.is_none() {
            match Connection::open(&shared, &output).await {
                Ok(conn) => {
                    info!(output = %id, kind = %output.kind, "connected to the broker");
                    open = Some((output.updated_at, conn));
                }
                Err(e) => {
                    failed(&shared, &output, &e, &mut backoff).await;
                    continue;
                }
            }
        }
        let Some((_, conn)) = open.as_mut() else {
            continue;
        };
        match step(&shared, &output, conn).await {
            Ok(Progress::Worked) => backoff = BACKOFF_FIRST,
            Ok(Progress::Idle) => {
                backoff = BACKOFF_FIRST;
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            Err(StepError::Broker(e)) => {
                if let Some((_, conn)) = open.take() {
                    conn.close().await;
                }
                failed(&shared, &output, &e, &mut backoff).await;
            }
            Err(StepError::Store(e)) => {
                warn!(output = %id, "output store error: {e}");
                tokio::time::sleep(RECHECK).await;
            }
        }
    }
    if let Some((_, conn)) = open {
        conn.close().await;
    }
    debug!(output = %id, "output task stopped");
}

/// Records a broker failure and waits before the next try (less if the
/// output is edited or disabled meanwhile).
async fn failed(shared: &Shared, output: &OutputRecord, error: &str, backoff: &mut Duration) {
    warn!(output = %output.id, kind = %output.kind, "broker unavailable: {error}");
    if let Err(e) = shared.store.set_output_error(&output.id, error).await {
        warn!(output = %output.id, "cannot record the output's error: {e}");
    }
    let deadline = tokio::time::Instant::now() + *backoff;
    *backoff = (*backoff * 2).min(BACKOFF_MAX);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(RECHECK.min(deadline - tokio::time::Instant::now())).await;
        match shared.store.get_output(&output.id).await {
            Ok(Some(o)) if o.enabled && o.updated_at == output.updated_at => {}
            _ => return,
        }
    }
}

enum Progress {
    Worked,
    Idle,
}

enum StepError {
    Broker(String),
    Store(wagate_store::StoreError),
}

impl From<wagate_store::StoreError> for StepError {
    fn from(e: wagate_store::StoreError) -> Self {
        StepError::Store(e)
    }
}

/// One batch: read after the cursor, publish what the output wants, await
/// the acks, move the cursor.
async fn step(
    shared: &Shared,
    output: &OutputRecord,
    conn: &mut Connection,
) -> Result<Progress, StepError> {
    let store = &shared.store;
    // Every event up to the head is committed and none can appear below it
    // later, so once the log is read up to it the cursor may move there.
    let head = store.last_event_seq().await?;
    let batch = store
        .read_events(&EventQuery {
            after: output.last_seq,
            session_id: output.session_id.clone(),
            tenant_id: (!output.global).then(|| output.tenant_id.clone()),
            limit: BATCH,
            upto: Some(head),
        })
        .await?;
    let Some(last) = batch.last() else {
        if head > output.last_seq {
            store
                .advance_output_cursor(&output.id, output.last_seq, head, 0)
                .await?;
        }
        return Ok(Progress::Idle);
    };
    let to = if batch.len() < BATCH as usize {
        head
    } else {
        last.seq
    };
    let messages: Vec<OutMessage> = batch
        .iter()
        .filter(|e| output.wants(e.event.as_str()))
        .map(message)
        .collect();
    if !messages.is_empty() {
        conn.publish(&messages).await.map_err(StepError::Broker)?;
    }
    store
        .advance_output_cursor(&output.id, output.last_seq, to, messages.len() as u64)
        .await?;
    Ok(Progress::Worked)
}

/// The broker message of one event: the webhook body's fields (without a
/// delivery id: a broker message is not an attempt) plus the tenant.
fn message(event: &EventRecord) -> OutMessage {
    let key = idempotency_key(event);
    let body = json!({
        "event": event.event,
        "timestamp": wagate_core::iso_ms(event.created_at),
        "tenantId": event.tenant_id,
        "sessionId": event.session_id,
        "idempotencyKey": key,
        "seq": event.seq,
        "data": event.data,
    })
    .to_string()
    .into_bytes();
    OutMessage {
        tenant_id: event.tenant_id.clone(),
        session_id: event.session_id.clone(),
        event: event.event.as_str(),
        key,
        created_at: event.created_at,
        body,
    }
}

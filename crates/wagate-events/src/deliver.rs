//! One endpoint's worker: reads the log after the endpoint's cursor and
//! delivers, strictly in order, one event at a time.
//!
//! The cursor moves (compare-and-set, in the database) only after an event
//! was delivered or finally failed, so a crash at any instant resumes at the
//! first event not yet settled: a receiver may see an event twice (with the
//! same idempotency key), never miss one. The worker holds at most one batch
//! of events in memory, however long its receiver is down: the backlog stays
//! on disk, in the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;
use tracing::{debug, info, warn};
use wagate_core::{DeliveryOutcome, EventKind};
use wagate_engine::SessionManager;
use wagate_store::Store;
use wagate_store::app::webhooks::{DeliveryRecord, WebhookRecord};
use wagate_store::app::{EventQuery, EventRecord};

use crate::config::EventsConfig;
use crate::schedule::{Verdict, parse_retry_after, verdict};

/// Events read from the log at once.
const BATCH: u32 = 100;
/// How often an idle worker looks at its row even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// How often a worker waiting to retry checks whether it was changed,
/// disabled or deleted meanwhile.
const RECHECK: Duration = Duration::from_secs(2);

/// What every worker shares.
pub(crate) struct Shared {
    pub store: Store,
    pub manager: Arc<SessionManager>,
    /// For the operator's global webhook (`WEBHOOK_URL`) only.
    pub http: reqwest::Client,
    /// For every tenant's webhook: the outbound guard, no redirects.
    pub outbound: wagate_outbound::Outbound,
    pub config: EventsConfig,
    /// Told of every attempt's outcome and duration (the metrics).
    pub observer: Option<DeliveryObserver>,
}

/// What hears of each delivery attempt: its outcome and how long it took.
pub type DeliveryObserver = Arc<dyn Fn(DeliveryOutcome, Duration) + Send + Sync>;

/// How delivering one event ended.
enum Settled {
    /// Delivered, or finally failed: move the cursor past it.
    Done,
    /// The endpoint was disabled or deleted: stop the worker.
    Stop,
    /// The endpoint changed under us (a replay): reload before going on.
    Reload,
}

/// Runs until the endpoint is deleted or disabled.
pub(crate) async fn run_endpoint(shared: Arc<Shared>, id: String, wake: Arc<Notify>) {
    debug!(webhook = %id, "worker started");
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
        match step(&shared, hook).await {
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
async fn step(shared: &Shared, hook: WebhookRecord) -> Result<Progress, wagate_store::StoreError> {
    let store = &shared.store;
    if let Some((queue_id, seq)) = store.next_redelivery(&hook.id).await? {
        let settled = match store.get_event(seq).await? {
            Some(event) if crate::formats::carries(hook.format, &event) => {
                deliver(shared, hook, &event).await?
            }
            Some(_) => Settled::Done,
            None => {
                info!(webhook = %hook.id, seq, "redelivery skipped: the event was pruned from the log");
                Settled::Done
            }
        };
        store.remove_redelivery(queue_id).await?;
        return Ok(match settled {
            Settled::Stop => Progress::Stop,
            _ => Progress::Worked,
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
    if batch.is_empty() {
        // A quiet session (or a filter that matches nothing new) must not
        // pin retention: the cursor follows the head.
        if head > hook.last_seq {
            store
                .advance_webhook_cursor(&hook.id, hook.last_seq, head)
                .await?;
        }
        return Ok(Progress::Idle);
    }
    let read_to_head = batch.len() < BATCH as usize;
    let id = hook.id.clone();
    let mut cursor = hook.last_seq;
    // Events this endpoint does not want are stepped over in one move.
    let mut skip_to = cursor;
    let mut hook = hook;
    for event in &batch {
        if hook.wants(event.event.as_str()) && crate::formats::carries(hook.format, event) {
            if skip_to > cursor {
                if !store.advance_webhook_cursor(&id, cursor, skip_to).await? {
                    return Ok(Progress::Worked);
                }
                cursor = skip_to;
            }
            match deliver(shared, hook.clone(), event).await? {
                Settled::Done => {}
                Settled::Stop => return Ok(Progress::Stop),
                Settled::Reload => return Ok(Progress::Worked),
            }
            if !store.advance_webhook_cursor(&id, cursor, event.seq).await? {
                return Ok(Progress::Worked);
            }
            cursor = event.seq;
            // Pick up edits (URL, secret, filter) between events.
            match store.get_webhook(&id).await? {
                Some(h) if h.enabled && h.replay_from.is_none() => hook = h,
                Some(h) if h.enabled => {
                    let _ = h;
                    return Ok(Progress::Worked);
                }
                _ => return Ok(Progress::Stop),
            }
        }
        skip_to = event.seq;
    }
    if read_to_head {
        skip_to = skip_to.max(head);
    }
    if skip_to > cursor {
        store.advance_webhook_cursor(&id, cursor, skip_to).await?;
    }
    Ok(Progress::Worked)
}

/// The contract's idempotency key, `{type}_{identifier}_{timestamp}`, with
/// the sequence number appended so it is unique even for twin events.
pub fn idempotency_key(event: &EventRecord) -> String {
    let data = &event.data;
    let text = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let ts = event.created_at;
    let seq = event.seq;
    match event.event {
        EventKind::MessageReceived | EventKind::MessageSent | EventKind::MessageRevoked => {
            format!("msg_{}_{ts}_{seq}", text("messageId"))
        }
        EventKind::MessageAck => {
            let ack = data.get("ack").map(Value::to_string).unwrap_or_default();
            format!("ack_{}_{ack}_{ts}_{seq}", text("messageId"))
        }
        EventKind::SessionStatus => {
            format!("sess_{}_{}_{ts}_{seq}", event.session_id, text("status"))
        }
        other => {
            let kind = other.as_str().replace('.', "_");
            format!("{kind}_{}_{ts}_{seq}", event.session_id)
        }
    }
}

/// Delivers one event with retries, until it is settled.
async fn deliver(
    shared: &Shared,
    mut hook: WebhookRecord,
    event: &EventRecord,
) -> Result<Settled, wagate_store::StoreError> {
    let store = &shared.store;
    let key = idempotency_key(event);
    // The microservice format names the session as its client did.
    let session_name = match hook.format {
        wagate_core::WebhookFormat::Microservice => {
            store.get_session(&event.session_id).await?.map(|s| s.name)
        }
        _ => None,
    };
    let mut attempt: usize = 0;
    loop {
        let delivery_id = format!("dlv_{}", uuid::Uuid::new_v4().simple());
        let now = chrono::Utc::now();
        let rendered = crate::formats::render(
            hook.format,
            event,
            &crate::formats::Attempt {
                delivery_id: &delivery_id,
                key: &key,
                number: attempt,
                secret: hook.secret.as_deref(),
                now,
                session_name: session_name.as_deref(),
            },
        );
        let payload = rendered.body;
        let started = Instant::now();
        // A tenant's URL goes through the outbound guard (checked again at
        // every connect, so a name that now resolves inward is refused);
        // the operator's global webhook is the operator's to point anywhere.
        let guarded = hook.id != crate::GLOBAL_WEBHOOK_ID;
        let (client, checked) = if guarded {
            (
                shared.outbound.client_without_redirects(),
                shared.outbound.policy().check_url(&hook.url).map(|_| ()),
            )
        } else {
            (&shared.http, Ok(()))
        };
        let mut request = client
            .post(&hook.url)
            .timeout(shared.config.timeout)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("wagate-webhooks/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in &hook.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in rendered.headers {
            request = request.header(name, value);
        }
        let result = match checked {
            Ok(()) => request
                .body(payload)
                .send()
                .await
                .map_err(|e| wagate_outbound::classify(&e)),
            Err(e) => Err(e),
        };
        let took = started.elapsed();
        let latency_ms = took.as_millis() as i64;
        let (status, retry_after, error) = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now));
                // The body is not needed; dropping it frees the connection.
                drop(resp);
                (Some(status), retry_after, None)
            }
            // The class of the failure, never socket text (which would map
            // ports) nor the URL (which may carry credentials).
            Err(e) => (None, None, Some(format!("{}: {}", e.reason, e.message))),
        };
        let verdict = verdict(status);
        let exhausted = attempt >= shared.config.retry_schedule.retries();
        let outcome = match verdict {
            Verdict::Delivered => DeliveryOutcome::Delivered,
            Verdict::Retry if !exhausted => DeliveryOutcome::Retrying,
            _ => DeliveryOutcome::Failed,
        };
        let error = error.or_else(|| match verdict {
            Verdict::Delivered => None,
            _ => status.map(|s| format!("endpoint answered HTTP {s}")),
        });
        if let Some(observe) = &shared.observer {
            observe(outcome, took);
        }
        store
            .record_delivery(&DeliveryRecord {
                id: delivery_id.clone(),
                webhook_id: hook.id.clone(),
                seq: event.seq,
                event: event.event.to_string(),
                idempotency_key: key.clone(),
                attempt: attempt as i64,
                outcome,
                status_code: status.map(i64::from),
                latency_ms,
                error: error.clone(),
                created_at: now.timestamp_millis(),
            })
            .await?;
        match verdict {
            Verdict::Delivered => {
                store.clear_webhook_failing(&hook.id).await?;
                return Ok(Settled::Done);
            }
            Verdict::Gone => {
                disable(shared, &hook, "the endpoint answered 410 Gone").await?;
                return Ok(Settled::Stop);
            }
            Verdict::Reject | Verdict::Retry => {
                let since = store
                    .mark_webhook_failing(&hook.id, now.timestamp_millis())
                    .await?;
                let failing_for = now.timestamp_millis().saturating_sub(since).max(0) as u64;
                if Duration::from_millis(failing_for) >= shared.config.disable_after {
                    let reason = format!(
                        "failing continuously for {}s",
                        shared.config.disable_after.as_secs()
                    );
                    disable(shared, &hook, &reason).await?;
                    return Ok(Settled::Stop);
                }
                if verdict == Verdict::Reject || exhausted {
                    info!(webhook = %hook.id, seq = event.seq, attempts = attempt + 1, "delivery failed for good");
                    return Ok(Settled::Done);
                }
            }
        }
        let wait = retry_after
            .or_else(|| shared.config.retry_schedule.delay(attempt))
            .unwrap_or(Duration::ZERO);
        debug!(webhook = %hook.id, seq = event.seq, attempt, ?wait, "will retry");
        attempt += 1;
        // Wait, looking now and then whether the endpoint changed.
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep((deadline - now).min(RECHECK)).await;
            match store.get_webhook(&hook.id).await? {
                Some(h) if !h.enabled => return Ok(Settled::Stop),
                None => return Ok(Settled::Stop),
                Some(h) if h.replay_from.is_some() => return Ok(Settled::Reload),
                Some(h) => {
                    if h.updated_at != hook.updated_at {
                        // Edited: retry at once with the new settings.
                        hook = h;
                        break;
                    }
                }
            }
        }
    }
}

/// Disables an endpoint and says so with a `webhook.disabled` event.
async fn disable(
    shared: &Shared,
    hook: &WebhookRecord,
    reason: &str,
) -> Result<(), wagate_store::StoreError> {
    if shared.store.disable_webhook(&hook.id, reason).await? {
        warn!(webhook = %hook.id, "webhook disabled: {reason}");
        let data = json!({ "webhookId": hook.id, "url": hook.url, "reason": reason });
        let session = hook.session_id.clone().unwrap_or_default();
        if let Err(e) = shared
            .manager
            .publish(&session, &hook.tenant_id, EventKind::WebhookDisabled, data)
            .await
        {
            warn!(webhook = %hook.id, "could not publish webhook.disabled: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::body;

    fn event(name: &str, data: Value) -> EventRecord {
        EventRecord {
            seq: 42,
            session_id: "sess_a".into(),
            tenant_id: "tnt_admin".into(),
            event: EventKind::parse(name).unwrap(),
            data,
            created_at: 1_706_868_000_000,
        }
    }

    #[test]
    fn keys_follow_the_contract_format() {
        let e = event(
            "message.received",
            json!({ "messageId": "false_6281@c.us_3EB0" }),
        );
        assert_eq!(
            idempotency_key(&e),
            "msg_false_6281@c.us_3EB0_1706868000000_42"
        );
        let e = event(
            "message.ack",
            json!({ "messageId": "true_6281@c.us_3EB0", "ack": 3 }),
        );
        assert_eq!(
            idempotency_key(&e),
            "ack_true_6281@c.us_3EB0_3_1706868000000_42"
        );
        let e = event("session.status", json!({ "status": "CONNECTED" }));
        assert_eq!(
            idempotency_key(&e),
            "sess_sess_a_CONNECTED_1706868000000_42"
        );
        let e = event("session.qr", json!({}));
        assert_eq!(idempotency_key(&e), "session_qr_sess_a_1706868000000_42");
    }

    #[test]
    fn body_is_the_contract_event() {
        let e = event("message.received", json!({ "body": "hi" }));
        let b: Value = serde_json::from_slice(&body(&e, "dlv_1", "k")).unwrap();
        assert_eq!(b["event"], "message.received");
        assert_eq!(b["timestamp"], "2024-02-02T10:00:00.000Z");
        assert_eq!(b["sessionId"], "sess_a");
        assert_eq!(b["deliveryId"], "dlv_1");
        assert_eq!(b["idempotencyKey"], "k");
        assert_eq!(b["seq"], 42);
        assert_eq!(b["data"]["body"], "hi");
    }
}

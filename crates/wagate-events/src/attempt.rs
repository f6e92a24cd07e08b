//! Delivering one event to one endpoint, with retries, until it is settled:
//! rendering and signing each attempt, the HTTP request through the shared
//! keep-alive client pool, what the answer means, waiting out the retry
//! schedule, and disabling an endpoint that is gone or failing too long.
//!
//! The attempt that settles an event (delivered, or finally failed) is not
//! written here: it goes back to the worker, whose ledger commits it with
//! the cursor move in one transaction. Attempts that will be retried, and
//! those before a disable, are written at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::{debug, info, warn};
use wagate_core::{DeliveryOutcome, EventKind};
use wagate_store::app::EventRecord;
use wagate_store::app::webhooks::{DeliveryRecord, WebhookRecord};

use crate::idempotency::idempotency_key;
use crate::schedule::{Verdict, parse_retry_after, verdict};
use crate::shared::{RECHECK, Shared};

/// How delivering one event ended.
pub(crate) enum Settled {
    /// Delivered, or finally failed: the settling attempt, to be recorded
    /// with the cursor move past the event.
    Done(Box<DeliveryRecord>),
    /// The endpoint was disabled or deleted: stop the worker.
    Stop,
    /// The endpoint changed under us (a replay): reload before going on.
    Reload,
}

/// Delivers one event with retries, until it is settled.
pub(crate) async fn deliver(
    shared: &Shared,
    mut hook: Arc<WebhookRecord>,
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
        let record = DeliveryRecord {
            id: delivery_id,
            webhook_id: hook.id.clone(),
            seq: event.seq,
            event: event.event.to_string(),
            idempotency_key: key.clone(),
            attempt: attempt as i64,
            outcome,
            status_code: status.map(i64::from),
            latency_ms,
            error,
            created_at: now.timestamp_millis(),
        };
        match verdict {
            Verdict::Delivered => return Ok(Settled::Done(Box::new(record))),
            Verdict::Gone => {
                store.record_delivery(&record).await?;
                disable(shared, &hook, "the endpoint answered 410 Gone").await?;
                return Ok(Settled::Stop);
            }
            Verdict::Reject | Verdict::Retry => {
                let since = store
                    .mark_webhook_failing(&hook.id, now.timestamp_millis())
                    .await?;
                let failing_for = now.timestamp_millis().saturating_sub(since).max(0) as u64;
                if Duration::from_millis(failing_for) >= shared.config.disable_after {
                    store.record_delivery(&record).await?;
                    let reason = format!(
                        "failing continuously for {}s",
                        shared.config.disable_after.as_secs()
                    );
                    disable(shared, &hook, &reason).await?;
                    return Ok(Settled::Stop);
                }
                if verdict == Verdict::Reject || exhausted {
                    info!(webhook = %hook.id, seq = event.seq, attempts = attempt + 1, "delivery failed for good");
                    return Ok(Settled::Done(Box::new(record)));
                }
                store.record_delivery(&record).await?;
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
                        hook = Arc::new(h);
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

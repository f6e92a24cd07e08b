//! The send path: API call on one session until the receiving session's
//! `message.received` event arrives on the admin WebSocket, sync or queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wagate_core::EventKind;

use crate::api::Api;
use crate::stats::Latencies;
use crate::ws_events::subscribe;

/// Senders are the even sessions, each sending to the next odd one's phone.
/// `queued`: the sends use `?async=true&urgent=true` (answered 202 when
/// queued; the send happens behind the answer).
pub async fn send_path(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    messages: usize,
    concurrency: usize,
    queued: bool,
) -> anyhow::Result<Value> {
    let (query, ok_status, prefix) = if queued {
        ("?async=true&urgent=true", 202, "queued message")
    } else {
        ("", 200, "bench message")
    };
    let pairs = (sessions.len() / 2).min(50);
    let mut ws = subscribe(&api.base, "*", &[EventKind::MessageReceived]).await?;
    let sent_at: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let receiver = {
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            let mut lat = Latencies::default();
            let deadline = Instant::now() + Duration::from_secs(300);
            while lat.len() < messages && Instant::now() < deadline {
                let Ok(Some(Ok(Message::Text(t)))) =
                    tokio::time::timeout(Duration::from_secs(30), ws.next()).await
                else {
                    break;
                };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let body = v["payload"]["data"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(t0) = sent_at.lock().ok().and_then(|m| m.get(&body).copied()) {
                    lat.push(t0.elapsed());
                }
            }
            lat
        })
    };
    let started = Instant::now();
    futures::stream::iter(0..messages)
        .for_each_concurrent(concurrency.max(1), |i| {
            let api = api.clone();
            let sent_at = sent_at.clone();
            let failures = failures.clone();
            let pair = i % pairs.max(1);
            let from = sessions[2 * pair].clone();
            let to = phones[2 * pair + 1].clone();
            async move {
                let body = format!("{prefix} {i}");
                if let Ok(mut m) = sent_at.lock() {
                    m.insert(body.clone(), Instant::now());
                }
                let r = api
                    .post(
                        &format!("/api/sessions/{from}/messages/send-text{query}"),
                        json!({ "chatId": to, "text": body }),
                    )
                    .await;
                if !matches!(r, Ok((status, _)) if status == ok_status) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    let api_secs = started.elapsed().as_secs_f64();
    let lat = receiver.await?;
    let end_to_end_secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "mode": if queued { "async (202, queued)" } else { "sync (200 once sent)" },
        "messages": messages,
        "pairs": pairs,
        "concurrency": concurrency,
        "failedApiCalls": failures.load(Ordering::Relaxed),
        "received": lat.len(),
        "apiMessagesPerSecond": messages as f64 / api_secs,
        "endToEndMessagesPerSecond": lat.len() as f64 / end_to_end_secs,
        "latencyApiToReceivedEvent": lat.summary(),
    }))
}

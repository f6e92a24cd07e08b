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

/// How the sends are started: `concurrency` calls at a time, each as soon
/// as one returns; or at a steady `rate` per second whatever the answers
/// (open loop: a slow answer does not hold the next call back).
#[derive(Clone, Copy, Debug)]
pub enum Load {
    Concurrent(usize),
    Rate(f64),
}

/// Senders are the even sessions, each sending to the next odd one's phone.
/// `queued`: the sends use `?async=true&urgent=true` (answered 202 when
/// queued; the send happens behind the answer).
pub async fn send_path(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    messages: usize,
    load: Load,
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
    let api_latency: Arc<std::sync::Mutex<Latencies>> = Arc::default();
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
    let send = |i: usize| {
        let api = api.clone();
        let sent_at = sent_at.clone();
        let failures = failures.clone();
        let api_latency = api_latency.clone();
        let pair = i % pairs.max(1);
        let from = sessions[2 * pair].clone();
        let to = phones[2 * pair + 1].clone();
        async move {
            let body = format!("{prefix} {i}");
            let t0 = Instant::now();
            if let Ok(mut m) = sent_at.lock() {
                m.insert(body.clone(), t0);
            }
            let r = api
                .post(
                    &format!("/api/sessions/{from}/messages/send-text{query}"),
                    json!({ "chatId": to, "text": body }),
                )
                .await;
            if let Ok(mut l) = api_latency.lock() {
                l.push(t0.elapsed());
            }
            if !matches!(r, Ok((status, _)) if status == ok_status) {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    match load {
        Load::Concurrent(concurrency) => {
            futures::stream::iter(0..messages)
                .for_each_concurrent(concurrency.max(1), send)
                .await;
        }
        Load::Rate(rate) => {
            let mut calls = tokio::task::JoinSet::new();
            for i in 0..messages {
                let at = started + Duration::from_secs_f64(i as f64 / rate.max(0.001));
                tokio::time::sleep_until(at.into()).await;
                calls.spawn(send(i));
            }
            calls.join_all().await;
        }
    }
    let api_secs = started.elapsed().as_secs_f64();
    let lat = receiver.await?;
    let end_to_end_secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "mode": if queued { "async (202, queued)" } else { "sync (200 once sent)" },
        "messages": messages,
        "pairs": pairs,
        "concurrency": match load {
            Load::Concurrent(n) => json!(n),
            Load::Rate(_) => Value::Null,
        },
        "offeredMessagesPerSecond": match load {
            Load::Concurrent(_) => Value::Null,
            Load::Rate(r) => json!(r),
        },
        "failedApiCalls": failures.load(Ordering::Relaxed),
        "received": lat.len(),
        "apiMessagesPerSecond": messages as f64 / api_secs,
        "endToEndMessagesPerSecond": lat.len() as f64 / end_to_end_secs,
        "latencyApiToReceivedEvent": lat.summary(),
        "latencyApiCall": api_latency.lock().map(|l| l.summary()).unwrap_or_default(),
    }))
}

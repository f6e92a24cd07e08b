//! WebSocket fan-out: many admin WebSocket clients on one session's events
//! while that session sends; frames delivered per second.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wagate_core::EventKind;

use crate::api::Api;
use crate::ws_events::subscribe;

/// `subscribers` WebSocket clients on one session's events; that session
/// sends messages; how fast do all clients hear all of them?
pub async fn ws_fanout(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    subscribers: usize,
) -> anyhow::Result<Value> {
    const MESSAGES: usize = 50;
    let from = sessions[0].clone();
    let mut clients = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        clients.push(subscribe(&api.base, &from, &[EventKind::MessageSent]).await?);
    }
    let started = Instant::now();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = 0usize;
                while got < MESSAGES {
                    match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"event\"") => got += 1,
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                got
            })
        })
        .collect();
    futures::stream::iter(0..MESSAGES)
        .for_each_concurrent(16, |i| {
            let api = api.clone();
            let from = from.clone();
            let to = phones[1].clone();
            async move {
                let _ = api
                    .post(
                        &format!("/api/sessions/{from}/messages/send-text"),
                        json!({ "chatId": to, "text": format!("fanout {i}") }),
                    )
                    .await;
            }
        })
        .await;
    let mut delivered = 0usize;
    for r in readers {
        delivered += r.await.unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "subscribers": subscribers,
        "eventsPerSubscriber": MESSAGES,
        "framesDelivered": delivered,
        "framesPerSecond": delivered as f64 / secs,
        "seconds": secs,
    }))
}

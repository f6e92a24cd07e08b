//! The gateway's admin WebSocket as an event subscriber: connect, subscribe
//! to a session (or `*`) for some events, and wait for the confirmation.

use anyhow::bail;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wagate_core::EventKind;

use wagate_testkit::ADMIN_KEY;

/// Opens an admin WebSocket subscribed to `session` (or `*`) for `events`.
pub async fn subscribe(
    base: &str,
    session: &str,
    events: &[EventKind],
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let url = format!(
        "{}/ws?apiKey={ADMIN_KEY}",
        base.replacen("http://", "ws://", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(
        json!({ "type": "subscribe", "payload": { "sessionId": session, "events": events }, "requestId": "bench" })
            .to_string(),
    ))
    .await?;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg? {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "subscribed" {
                return Ok(ws);
            }
            if v["type"] == "error" {
                bail!("subscribe failed: {v}");
            }
        }
    }
    bail!("websocket closed before subscribing")
}

//! What a story asserts on: a session's history, the sandbox's relay
//! log, and a file to send.

use super::*;

/// A chat's history as the API gives it (newest first, up to 500).
pub async fn history(api: &Api, session: &str, chat: &str) -> Vec<Value> {
    let (status, h) = api
        .get(&format!(
            "/api/sessions/{session}/chats/{chat}/messages?limit=500"
        ))
        .await;
    assert_eq!(status, 200, "{h}");
    h["data"].as_array().cloned().unwrap_or_default()
}

/// The texts a session received in its chat with `chat`, oldest first.
pub async fn received_texts(api: &Api, session: &str, chat: &str) -> Vec<String> {
    let mut out: Vec<String> = history(api, session, chat)
        .await
        .iter()
        .filter(|m| m["fromMe"] == false)
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect();
    out.reverse();
    out
}

/// The sandbox's relay log of direct messages `from` → `to`, every row
/// (one per receiving device, and rows of other kinds: redelivered,
/// duplicate, blocked).
pub async fn relay_log(sandbox: &Sandbox, from: &str, to: &str) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/admin/messages?from={from}&to={to}&limit=10000",
            sandbox.http_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

/// [`relay_log`], one row per message relayed (kind `message`).
pub async fn relayed_messages(sandbox: &Sandbox, from: &str, to: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    relay_log(sandbox, from, to)
        .await
        .into_iter()
        .filter(|r| r["kind"] == "message" && seen.insert(r["id"].to_string()))
        .collect()
}

/// A JPEG-looking file of `len` bytes after its header (`seed` varies the
/// bytes, so two files differ).
pub fn jpeg(len: usize, seed: u32) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend((0..len as u32).map(|i| ((i * 31 + seed) % 251) as u8));
    b
}

/// [`received_texts`] once at least `n` have arrived: a sender's side is
/// done when the server took the message, a relay before the receiver
/// stores it.
pub async fn received_at_least(api: &Api, session: &str, chat: &str, n: usize) -> Vec<String> {
    eventually(
        &format!("{n} messages in {session}'s chat with {chat}"),
        Duration::from_secs(30),
        || async {
            let texts = received_texts(api, session, chat).await;
            (texts.len() >= n).then_some(texts)
        },
    )
    .await
}

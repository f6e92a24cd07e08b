//! WebSocket: `/ws`, the contract's `WSRequest`/`WSResponse` protocol, and
//! `/api/listen/{sessionId}`, one session's incoming messages.
//!
//! `/ws` clients subscribe to a session (or `*`) with an events filter, and
//! receive `event` frames carrying `seq`. A client that reconnects with
//! `?lastSeq=N` (or `lastSeq` in a subscribe payload) first receives every
//! matching event after `N` from the durable log, then live ones, with no
//! gap and no duplicate (see [`crate::feed`]). Keys come as `X-API-Key` (or
//! `Authorization: Bearer`) or `?apiKey=`; a tenant sees its own sessions,
//! the admin all. The server pings every 30 s and drops a client silent
//! for 90 s. Connections count against the tenant's
//! `STREAMS_MAX_PER_TENANT`, subscriptions and filters are capped, and a
//! connection whose key is deleted is closed (code 4001; see
//! [`crate::streams`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use wagate_core::EventKind;
use wagate_store::app::Principal;
use wagate_store::app::webhooks::event_matches;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::feed::{Feed, FeedEvent, read_range};
use crate::owned::owned_session;
use crate::state::AppState;
use crate::streams::{KEY_RECHECK, KeyCheck, StreamKey, WS_MAX_SUBSCRIPTIONS, admit, check_filter};

/// How often the server pings.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A client heard from less recently than this is dropped.
const SILENCE_LIMIT: Duration = Duration::from_secs(90);

/// `/ws` (outside `/api`, as the contract has it).
pub fn root_router() -> Router<AppState> {
    Router::new().route("/ws", get(ws))
}

/// `/api/listen/{sessionId}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/listen/{id}", get(listen))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsQuery {
    /// Replay every event after this sequence number on the first subscribe.
    pub last_seq: Option<i64>,
}

fn upgrade_required() -> ApiError {
    ApiError::validation("this endpoint speaks WebSocket: connect with Upgrade: websocket")
}

/// The global WebSocket.
pub async fn ws(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<WsQuery>,
    StreamKey(key): StreamKey,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|_| upgrade_required())?;
    let last_seq = crate::feed::checked_resume(&state, "lastSeq", q.last_seq).await?;
    let (slot, key) = admit(&state, &principal.tenant_id, key)?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        run_ws(state, principal, socket, last_seq, key).await;
        drop(slot);
    }))
}

/// One session's incoming messages, as `incoming_message` frames.
pub async fn listen(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StreamKey(key): StreamKey,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (record, _) = owned_session(&state, &principal, &id).await?;
    let upgrade = upgrade.map_err(|_| upgrade_required())?;
    let (slot, key) = admit(&state, &principal.tenant_id, key)?;
    // The record's id: `id` may be the phone number the session is linked to.
    Ok(upgrade.on_upgrade(move |socket| async move {
        run_listen(state, record.tenant_id, record.id, socket, key).await;
        drop(slot);
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WsRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<WsPayload>,
    #[serde(default)]
    request_id: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WsPayload {
    session_id: Option<String>,
    events: Option<Vec<String>>,
    last_seq: Option<i64>,
}

struct Subscription {
    events: Vec<String>,
    /// Live events after this sequence number are this subscription's.
    since: i64,
}

impl Subscription {
    fn wants(&self, key: &str, e: &FeedEvent) -> bool {
        (key == "*" || key == e.session_id)
            && e.seq > self.since
            && event_matches(&self.events, e.event.as_str())
    }
}

fn now_iso() -> String {
    wagate_core::iso_ms(wagate_core::now_ms())
}

fn frame(kind: &str, payload: Value, request_id: Option<&Value>) -> Message {
    let mut f = json!({ "type": kind, "payload": payload, "timestamp": now_iso() });
    if let Some(id) = request_id {
        f["requestId"] = id.clone();
    }
    Message::Text(f.to_string().into())
}

fn error_frame(code: &str, message: &str, request_id: Option<&Value>) -> Message {
    frame(
        "error",
        json!({ "code": code, "message": message }),
        request_id,
    )
}

/// The close frame of a stream whose API key no longer works.
fn key_revoked() -> Message {
    Message::Close(Some(axum::extract::ws::CloseFrame {
        code: 4001,
        reason: "the API key was revoked".into(),
    }))
}

fn event_frame(e: &FeedEvent) -> Message {
    frame("event", e.to_json(), None)
}

async fn run_ws(
    state: AppState,
    principal: Principal,
    socket: WebSocket,
    last_seq: Option<i64>,
    key: KeyCheck,
) {
    let tenant = (!principal.is_admin).then(|| principal.tenant_id.clone());
    let Ok(mut feed) = Feed::new(&state, tenant.clone(), None, None).await else {
        return;
    };
    let (mut tx, mut rx) = socket.split();
    let mut subs: HashMap<String, Subscription> = HashMap::new();
    let mut pending_last_seq = last_seq;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut recheck = tokio::time::interval_at(Instant::now() + KEY_RECHECK, KEY_RECHECK);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = recheck.tick() => {
                if !key.still_valid().await {
                    let _ = tx.send(key_revoked()).await;
                    break;
                }
            }
            incoming = rx.next() => {
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => {
                        heard = Instant::now();
                        continue;
                    }
                };
                heard = Instant::now();
                let mut replay = None;
                let out = handle_request(&state, &principal, &mut feed, &mut subs, &mut pending_last_seq, &mut replay, text.as_str()).await;
                let mut failed = false;
                for m in out {
                    if tx.send(m).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if let Some(r) = replay.filter(|_| !failed) {
                    failed = !send_replay(&state, &principal, &subs, r, &mut tx).await;
                }
                if failed {
                    break;
                }
            }
            next = feed.next() => {
                let Ok(e) = next else { break };
                if subs.iter().any(|(key, s)| s.wants(key, &e)) && tx.send(event_frame(&e)).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    break;
                }
                if tx.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = tx.close().await;
}

/// A subscription's replay from the log, `(cursor, upto]`, still to send.
struct Replay {
    key: String,
    probe: Subscription,
    cursor: i64,
    upto: i64,
    request_id: Option<Value>,
}

/// Sends a replay one page of the log at a time (bounded memory however
/// long the backlog). Returns false when the client is gone.
async fn send_replay<S>(
    state: &AppState,
    principal: &Principal,
    subs: &HashMap<String, Subscription>,
    mut replay: Replay,
    tx: &mut S,
) -> bool
where
    S: futures::Sink<Message> + Unpin,
{
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let session = (replay.key != "*").then_some(replay.key.as_str());
    while replay.cursor < replay.upto {
        let page = match read_range(&state.store, tenant, session, replay.cursor, replay.upto).await
        {
            Ok(p) => p,
            Err(_) => {
                let f = error_frame(
                    "INTERNAL_ERROR",
                    "could not read the event log",
                    replay.request_id.as_ref(),
                );
                return tx.send(f).await.is_ok();
            }
        };
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        for e in &page {
            // Skip what another subscription already sent live.
            let sent = subs.iter().any(|(k, s)| k != &replay.key && s.wants(k, e));
            if replay.probe.wants(&replay.key, e) && !sent && tx.send(event_frame(e)).await.is_err()
            {
                return false;
            }
        }
        replay.cursor = last;
    }
    true
}

/// Answers one client frame; a subscribe with `lastSeq` also leaves the
/// replay to send in `replay`.
async fn handle_request(
    state: &AppState,
    principal: &Principal,
    feed: &mut Feed,
    subs: &mut HashMap<String, Subscription>,
    pending_last_seq: &mut Option<i64>,
    replay: &mut Option<Replay>,
    text: &str,
) -> Vec<Message> {
    let req: WsRequest = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            return vec![error_frame(
                "VALIDATION_ERROR",
                &format!(
                    "invalid request: {e}; send {{\"type\": \"subscribe\" | \"unsubscribe\" | \"ping\", \"payload\": {{…}}}}"
                ),
                None,
            )];
        }
    };
    let rid = req.request_id.as_ref();
    let payload = req.payload.unwrap_or_default();
    match req.kind.as_str() {
        "ping" => vec![frame("pong", json!({ "seq": feed.seen() }), rid)],
        "unsubscribe" => {
            let mut key = payload.session_id.unwrap_or_else(|| "*".to_string());
            if !subs.contains_key(&key)
                && key != "*"
                && let Ok((record, _)) = owned_session(state, principal, &key).await
            {
                // Subscribed by the phone number: keyed by the session id.
                key = record.id;
            }
            subs.remove(&key);
            vec![frame("unsubscribed", json!({ "sessionId": key }), rid)]
        }
        "subscribe" => {
            let mut key = payload.session_id.unwrap_or_else(|| "*".to_string());
            if key != "*" {
                // A session id or the phone number it is linked to; either
                // way the subscription is keyed by the session's id.
                match owned_session(state, principal, &key).await {
                    Ok((record, _)) => key = record.id,
                    Err(_) => {
                        return vec![error_frame(
                            "SESSION_NOT_FOUND",
                            &format!("Session {key} not found"),
                            rid,
                        )];
                    }
                }
            }
            let events = payload.events.unwrap_or_else(|| vec!["*".to_string()]);
            if events.is_empty() {
                return vec![error_frame(
                    "VALIDATION_ERROR",
                    "events must name at least one event (or \"*\")",
                    rid,
                )];
            }
            if let Err(e) = check_filter("payload.events", &events) {
                return vec![error_frame("VALIDATION_ERROR", &e.message, rid)];
            }
            if !subs.contains_key(&key) && subs.len() >= WS_MAX_SUBSCRIPTIONS {
                return vec![error_frame(
                    "VALIDATION_ERROR",
                    &format!(
                        "a connection holds at most {WS_MAX_SUBSCRIPTIONS} subscriptions: unsubscribe one first"
                    ),
                    rid,
                )];
            }
            if payload.last_seq.is_some_and(|n| n < 0) {
                return vec![error_frame(
                    "VALIDATION_ERROR",
                    "payload.lastSeq must not be negative",
                    rid,
                )];
            }
            let since = feed.seen();
            let last = payload.last_seq.or_else(|| pending_last_seq.take());
            let out = vec![frame(
                "subscribed",
                json!({ "sessionId": key, "events": events, "seq": since }),
                rid,
            )];
            if let Some(after) = last.filter(|n| *n < since) {
                // Sent page by page by the connection loop, never collected.
                *replay = Some(Replay {
                    key: key.clone(),
                    probe: Subscription {
                        events: events.clone(),
                        since: after,
                    },
                    cursor: after,
                    upto: since,
                    request_id: rid.cloned(),
                });
            }
            subs.insert(key, Subscription { events, since });
            out
        }
        other => vec![error_frame(
            "VALIDATION_ERROR",
            &format!("unknown type '{other}': use subscribe, unsubscribe or ping"),
            rid,
        )],
    }
}

/// seed 000's `incoming_message` frame for a `message.received` event.
pub fn incoming_message(session_id: &str, e: &FeedEvent) -> Value {
    let d = &e.data;
    let text = |k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let from = text("from");
    let from = match from.strip_suffix("@c.us") {
        Some(user) => format!("{user}@s.whatsapp.net"),
        None => from,
    };
    let message_id = text("messageId");
    let (_, _, wa_id) = wagate_core::ids::parse_message_id(&message_id);
    json!({
        "event": "incoming_message",
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "data": {
            "instance_id": session_id,
            "from": from,
            "from_me": d.get("fromMe").and_then(Value::as_bool).unwrap_or(false),
            "message": d.get("body").cloned().unwrap_or(Value::Null),
            "timestamp": d.get("waTimestamp").cloned().unwrap_or(Value::Null),
            "is_group": d.get("isGroup").and_then(Value::as_bool).unwrap_or(false),
            "message_id": wa_id,
            "push_name": d.pointer("/contact/pushName").cloned().unwrap_or(Value::Null),
            "seq": e.seq,
        }
    })
}

async fn run_listen(
    state: AppState,
    tenant: String,
    session: String,
    socket: WebSocket,
    key: KeyCheck,
) {
    let Ok(mut feed) = Feed::new(&state, Some(tenant), Some(session.clone()), None).await else {
        return;
    };
    let (mut tx, mut rx) = socket.split();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut recheck = tokio::time::interval_at(Instant::now() + KEY_RECHECK, KEY_RECHECK);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = recheck.tick() => {
                if !key.still_valid().await {
                    let _ = tx.send(key_revoked()).await;
                    break;
                }
            }
            incoming = rx.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => heard = Instant::now(),
            },
            next = feed.next() => {
                let Ok(e) = next else { break };
                if e.event == EventKind::MessageReceived {
                    let msg = Message::Text(incoming_message(&session, &e).to_string().into());
                    if tx.send(msg).await.is_err() {
                        break;
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT || tx.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = tx.close().await;
}

#[cfg(test)]
mod tests;

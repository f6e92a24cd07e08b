//! Events that are never lost, end to end: webhooks delivered exactly once
//! by idempotency key across a SIGKILL and a receiver outage (signatures
//! checked under both schemes), retries and disabling, the webhook API, and
//! WebSocket and SSE clients that resume from a sequence number without a
//! gap. Receivers are small real HTTP servers in the test. Delays and the
//! disable window are set small through configuration; timeouts here only
//! guard against hangs.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use futures::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const LONG: Duration = Duration::from_secs(120);

// ── a webhook receiver ─────────────────────────────────────────────────

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// 503 to everything.
    Down,
    /// 200 to everything.
    Up,
    /// 500 to the first attempt of each idempotency key, then 200.
    FailOnce,
    /// 410 Gone.
    Gone,
}

#[derive(Clone, Debug)]
struct Hit {
    headers: HashMap<String, String>,
    body: Vec<u8>,
    answered: u16,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    mode: Option<Mode>,
    hits: Vec<Hit>,
    seen_keys: HashMap<String, u32>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            mode: Some(mode),
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
        }
    }

    fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    /// Successful hits, first per (endpoint path, idempotency key), in
    /// arrival order: what a receiver that deduplicates by key processes.
    fn processed(&self) -> Vec<Hit> {
        let mut seen = std::collections::HashSet::new();
        self.hits()
            .into_iter()
            .filter(|h| h.answered == 200)
            .filter(|h| {
                seen.insert((
                    h.header("x-tenant-tag").to_string(),
                    h.header("x-openwa-idempotency-key").to_string(),
                ))
            })
            .collect()
    }
}

async fn receive(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<ReceiverState>>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let mut s = state.lock().unwrap();
    let key = headers
        .get("x-openwa-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let count = {
        let c = s.seen_keys.entry(key).or_default();
        *c += 1;
        *c
    };
    let answered = match s.mode.unwrap_or(Mode::Up) {
        Mode::Down => 503,
        Mode::Up => 200,
        Mode::FailOnce if count == 1 => 500,
        Mode::FailOnce => 200,
        Mode::Gone => 410,
    };
    s.hits.push(Hit {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        body: body.to_vec(),
        answered,
    });
    axum::http::StatusCode::from_u16(answered).unwrap()
}

// ── signatures, checked independently of the gateway's code ────────────

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn verify_signatures(hit: &Hit, secret: &str) {
    let openwa = format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &hit.body)));
    assert_eq!(hit.header("x-openwa-signature"), openwa, "OpenWA signature");
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD.decode(b64).unwrap(),
        None => secret.as_bytes().to_vec(),
    };
    let id = hit.header("webhook-id");
    let ts = hit.header("webhook-timestamp");
    assert_eq!(id, hit.header("x-openwa-idempotency-key"));
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(&hit.body);
    let standard = format!("v1,{}", STANDARD.encode(hmac(&key, &signed)));
    assert_eq!(
        hit.header("webhook-signature"),
        standard,
        "Standard Webhooks signature"
    );
}

// ── helpers ────────────────────────────────────────────────────────────

fn fast_retries() -> String {
    // Many short retries: a receiver that is down for a while is retried
    // until it recovers (the schedule is data; production waits hours).
    let mut s = vec!["50ms".to_string(), "100ms".to_string()];
    s.extend(std::iter::repeat_n("200ms".to_string(), 2000));
    s.join(",")
}

async fn send_text(api: &Api, from: &str, to: &str, text: &str) {
    let (status, body) = api
        .post(
            &format!("/api/sessions/{from}/messages/send-text"),
            json!({ "chatId": to, "text": text }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Reads an SSE stream until `done` says so; returns the events (`id`, data).
async fn read_sse(
    base: &str,
    path: &str,
    last_event_id: Option<i64>,
    mut done: impl FnMut(&[(i64, Value)]) -> bool,
) -> Vec<(i64, Value)> {
    let mut req = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("X-API-Key", ADMIN_KEY);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse::<i64>().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    let v: Value = serde_json::from_str(&data).unwrap();
                    assert_eq!(v["seq"], id, "the SSE id is the event's seq");
                    out.push((id, v));
                    if done(&out) {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(LONG, read)
        .await
        .expect("SSE events arrive");
    out
}

/// Every event of the log so far, up to and including the first for which
/// `last` holds (through SSE replay from the start).
async fn log_until(base: &str, last: impl Fn(&Value) -> bool) -> Vec<(i64, Value)> {
    read_sse(base, "/api/events", Some(0), |evs| {
        evs.last().is_some_and(|(_, v)| last(v))
    })
    .await
}

// ── the crash story ────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_survive_sigkill_and_receiver_outage() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628222000001", "Alice").await;
    let bob = create_phone(&sandbox, "628222000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());

    let receiver = Receiver::start(Mode::Down).await;
    let global_secret = format!(
        "whsec_{}",
        STANDARD.encode(b"a global secret of 32 bytes.....")
    );
    let session_secret = "plain-session-secret";
    let env = vec![
        ("WEBHOOK_URL", format!("{}/global", receiver.url)),
        ("WEBHOOK_SECRET", global_secret.clone()),
        ("WEBHOOK_RETRY_SCHEDULE", fast_retries()),
    ];

    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (status, hook) = api
        .post(
            &format!("/api/sessions/{b}/webhooks"),
            json!({ "url": format!("{}/bob", receiver.url), "events": ["message.received"],
                    "secret": session_secret, "headers": { "X-Tenant-Tag": "bob" } }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    assert!(
        hook["data"].get("secret").is_none(),
        "the secret is never returned"
    );
    assert_eq!(hook["data"]["hasSecret"], true);

    // Messages arrive while the receiver answers 503, and the gateway is
    // killed with SIGKILL in the middle of them.
    for i in 0..4 {
        send_text(&api, &a, "628222000002@c.us", &format!("before crash {i}")).await;
    }
    gw.kill();

    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    api.wait_status(&b, "CONNECTED").await;
    for i in 0..4 {
        send_text(&api, &a, "628222000002@c.us", &format!("after crash {i}")).await;
    }
    eventually(
        "bob to have the texts sent after the crash",
        LONG,
        || async {
            let (_, h) = api
                .get(&format!(
                    "/api/sessions/{b}/chats/628222000001/messages?limit=100"
                ))
                .await;
            let n = h["data"]
                .as_array()?
                .iter()
                .filter(|m| m["body"].as_str().unwrap_or("").starts_with("after crash"))
                .count();
            (n == 4).then_some(())
        },
    )
    .await;

    // The receiver recovers; a marker session closes the story.
    receiver.set_mode(Mode::Up);
    let (status, marker) = api.post("/api/sessions", json!({ "name": "marker" })).await;
    assert_eq!(status, 201);
    let marker = marker["data"]["id"].as_str().unwrap().to_string();
    let log = log_until(&gw.base, |v| v["sessionId"] == marker.as_str()).await;
    let marker_seq = log.last().unwrap().0;

    eventually("the global webhook to reach the marker", LONG, || async {
        receiver
            .processed()
            .iter()
            .any(|h| h.json()["seq"].as_i64() == Some(marker_seq))
            .then_some(())
    })
    .await;
    let bob_expected: Vec<i64> = log
        .iter()
        .filter(|(_, v)| v["sessionId"] == b.as_str() && v["event"] == "message.received")
        .map(|(s, _)| *s)
        .collect();
    assert!(
        bob_expected.len() >= 4,
        "bob received messages: {bob_expected:?}"
    );
    let last_bob = *bob_expected.last().unwrap();
    eventually("bob's webhook to catch up", LONG, || async {
        receiver
            .processed()
            .iter()
            .any(|h| {
                h.header("x-tenant-tag") == "bob" && h.json()["seq"].as_i64() == Some(last_bob)
            })
            .then_some(())
    })
    .await;

    let hits = receiver.hits();
    // Every attempt is signed under both schemes.
    for h in &hits {
        if h.header("x-tenant-tag") == "bob" {
            verify_signatures(h, session_secret);
        } else {
            verify_signatures(h, &global_secret);
        }
    }
    // One idempotency key per (endpoint, event), stable across retries and the crash.
    let mut keys: HashMap<(bool, i64), String> = HashMap::new();
    for h in &hits {
        let seq = h.json()["seq"].as_i64().unwrap();
        let key = h.header("x-openwa-idempotency-key").to_string();
        assert_eq!(h.json()["idempotencyKey"], key.as_str());
        let old = keys
            .entry((h.header("x-tenant-tag") == "bob", seq))
            .or_insert_with(|| key.clone());
        assert_eq!(*old, key, "the key of seq {seq} never changes");
    }
    let processed = receiver.processed();
    let global: Vec<i64> = processed
        .iter()
        .filter(|h| h.header("x-tenant-tag") != "bob")
        .map(|h| h.json()["seq"].as_i64().unwrap())
        .filter(|s| *s <= marker_seq)
        .collect();
    let expected: Vec<i64> = log.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        global, expected,
        "the global webhook got every event exactly once, in order"
    );
    let bob_got: Vec<i64> = processed
        .iter()
        .filter(|h| h.header("x-tenant-tag") == "bob")
        .map(|h| h.json()["seq"].as_i64().unwrap())
        .filter(|s| *s <= last_bob)
        .collect();
    assert_eq!(
        bob_got, bob_expected,
        "bob's webhook got every message.received exactly once, in order"
    );
    // There was an outage: retries happened, and said so.
    assert!(hits.iter().any(|h| h.answered == 503));
    assert!(hits.iter().any(|h| h.header("x-openwa-retry-count") != "0"));
    for (_, v) in &log {
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    gw.stop();
}

// ── retries, disabling, and the webhook API ────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_retries_disabling_and_api() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let env = vec![
        ("WEBHOOK_RETRY_SCHEDULE", fast_retries()),
        ("WEBHOOK_DISABLE_AFTER_SECS", "2".to_string()),
        ("WEBHOOK_MAX_PER_SESSION", "4".to_string()),
    ];
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);

    let flaky = Receiver::start(Mode::FailOnce).await;
    let gone = Receiver::start(Mode::Gone).await;
    let dead = Receiver::start(Mode::Down).await;

    // A webhook given at session creation.
    let (status, created) = api
        .post(
            "/api/sessions",
            json!({ "name": "hooks", "webhook": { "url": flaky.url, "events": ["session.status"], "secret": "s1" } }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let s = created["data"]["id"].as_str().unwrap().to_string();
    let (_, list) = api.get(&format!("/api/sessions/{s}/webhooks")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let flaky_id = list["data"][0]["id"].as_str().unwrap().to_string();
    assert!(list["data"][0].get("secret").is_none());

    // 500 then 200: the retry count goes up, the idempotency key stays.
    eventually("a retried delivery", LONG, || async {
        (flaky.hits().iter().filter(|h| h.answered == 200).count() >= 1).then_some(())
    })
    .await;
    let hits = flaky.hits();
    let first_ok = hits.iter().find(|h| h.answered == 200).unwrap();
    let key = first_ok.header("x-openwa-idempotency-key");
    let tries: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.header("x-openwa-idempotency-key") == key)
        .collect();
    assert_eq!(tries[0].answered, 500);
    assert_eq!(tries[0].header("x-openwa-retry-count"), "0");
    assert_eq!(tries[1].answered, 200);
    assert_eq!(tries[1].header("x-openwa-retry-count"), "1");
    assert_ne!(
        tries[0].header("x-openwa-delivery-id"),
        tries[1].header("x-openwa-delivery-id")
    );
    assert_eq!(tries[1].json()["event"], "session.status");
    assert_eq!(tries[1].json()["sessionId"], s.as_str());
    verify_signatures(tries[1], "s1");

    // The delivery log shows both attempts (the receiver can see the second
    // before the worker has recorded its answer).
    let deliveries = eventually("both attempts in the delivery log", LONG, || async {
        let (status, deliveries) = api
            .get(&format!("/api/sessions/{s}/webhooks/{flaky_id}/deliveries"))
            .await;
        assert_eq!(status, 200, "{deliveries}");
        let n = deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["idempotencyKey"] == key)
            .count();
        (n >= 2).then_some(deliveries)
    })
    .await;
    let attempts: Vec<&Value> = deliveries["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["idempotencyKey"] == key)
        .collect();
    assert_eq!(attempts.len(), 2, "{deliveries}");
    assert!(
        attempts
            .iter()
            .any(|d| d["statusCode"] == 500 && d["outcome"] == "retrying")
    );
    assert!(
        attempts
            .iter()
            .any(|d| d["statusCode"] == 200 && d["outcome"] == "delivered")
    );
    assert!(attempts.iter().all(|d| d["latencyMs"].is_i64()));

    // Redeliver one attempt: the same event and key come again.
    let delivered = attempts
        .iter()
        .find(|d| d["outcome"] == "delivered")
        .unwrap();
    let (status, body) = api
        .post(
            &format!(
                "/api/sessions/{s}/webhooks/{flaky_id}/deliveries/{}/redeliver",
                delivered["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    eventually("the redelivery", LONG, || async {
        (flaky
            .hits()
            .iter()
            .filter(|h| h.header("x-openwa-idempotency-key") == key)
            .count()
            >= 3)
            .then_some(())
    })
    .await;

    // Replay from the event's seq: it comes again, same key.
    let seq = first_ok.json()["seq"].as_i64().unwrap();
    let (status, body) = api
        .post(
            &format!("/api/sessions/{s}/webhooks/{flaky_id}/replay"),
            json!({ "fromSeq": seq }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    eventually("the replay", LONG, || async {
        (flaky
            .hits()
            .iter()
            .filter(|h| h.header("x-openwa-idempotency-key") == key)
            .count()
            >= 4)
            .then_some(())
    })
    .await;

    // The contract's errors.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": "ftp://x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("WEBHOOK_URL_INVALID"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": flaky.url }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("WEBHOOK_DUPLICATE"))
    );
    let (status, body) = api
        .get(&format!("/api/sessions/{s}/webhooks/wh_nope"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("WEBHOOK_NOT_FOUND"))
    );

    // 410 Gone disables at once; failing past the window disables too.
    let (status, g) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": gone.url, "events": ["*"] }),
        )
        .await;
    assert_eq!(status, 201, "{g}");
    let gone_id = g["data"]["id"].as_str().unwrap().to_string();
    let (status, d) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": dead.url, "events": ["*"] }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let dead_id = d["data"]["id"].as_str().unwrap().to_string();
    let (status, x) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": format!("{}/x", dead.url) }),
        )
        .await;
    assert_eq!(status, 201, "{x}");
    let (status, body) = api
        .post(
            &format!("/api/sessions/{s}/webhooks"),
            json!({ "url": format!("{}/y", dead.url) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("WEBHOOK_LIMIT_REACHED"))
    );
    let (status, _) = api
        .delete(&format!(
            "/api/sessions/{s}/webhooks/{}",
            x["data"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);

    // Make events: stop and start the session.
    api.post(&format!("/api/sessions/{s}/stop"), json!({}))
        .await;
    api.post(&format!("/api/sessions/{s}/start"), json!({}))
        .await;

    for (id, why) in [(&gone_id, "410"), (&dead_id, "failing")] {
        let hook = eventually(&format!("webhook {id} to be disabled"), LONG, || async {
            let (_, w) = api.get(&format!("/api/sessions/{s}/webhooks/{id}")).await;
            (w["data"]["active"] == false).then_some(w)
        })
        .await;
        assert!(
            hook["data"]["disabledReason"]
                .as_str()
                .unwrap()
                .contains(why),
            "{hook}"
        );
    }
    assert_eq!(gone.hits().len(), 1, "a 410 is never retried");
    let disabled = read_sse(
        &gw.base,
        &format!("/api/sessions/{s}/events?events=webhook.disabled"),
        Some(0),
        |evs| evs.len() >= 2,
    )
    .await;
    let ids: Vec<&str> = disabled
        .iter()
        .map(|(_, v)| v["data"]["webhookId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&gone_id.as_str()) && ids.contains(&dead_id.as_str()),
        "{ids:?}"
    );

    // Re-enable through PATCH; the secret stays write-only.
    let (status, body) = api
        .patch(
            &format!("/api/sessions/{s}/webhooks/{gone_id}"),
            json!({ "active": true, "secret": "new" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["active"], true);
    assert_eq!(body["data"]["hasSecret"], true);
    assert!(!body.to_string().contains("\"new\""));
    let (status, body) = api
        .patch(
            &format!("/api/sessions/{s}/webhooks/{gone_id}"),
            json!({ "url": "nope" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("WEBHOOK_URL_INVALID"))
    );
    gw.stop();
}

// ── WebSocket and SSE resume ───────────────────────────────────────────

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(base: &str, query: &str) -> Ws {
    let url = format!(
        "{}/ws?apiKey={ADMIN_KEY}{query}",
        base.replace("http://", "ws://")
    );
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    ws
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .unwrap();
}

/// Frames until `done` holds.
async fn ws_until(ws: &mut Ws, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let mut out = Vec::new();
    let read = async {
        while let Some(msg) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg.unwrap() {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert!(
                    v["timestamp"].is_string(),
                    "every frame has a timestamp: {v}"
                );
                out.push(v);
                if done(&out) {
                    return;
                }
            }
        }
    };
    tokio::time::timeout(LONG, read)
        .await
        .expect("WebSocket frames arrive");
    out
}

fn received_texts(frames: &[Value], prefix: &str) -> usize {
    frames
        .iter()
        .filter(|f| f["type"] == "event" && f["payload"]["event"] == "message.received")
        .filter(|f| {
            f["payload"]["data"]["body"]
                .as_str()
                .unwrap_or("")
                .starts_with(prefix)
        })
        .count()
}

fn is_three(v: &Value) -> bool {
    v["event"] == "message.received" && v["data"]["body"] == "three"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websocket_and_sse_resume_without_gaps() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628333000001", "Alice").await;
    let bob = create_phone(&sandbox, "628333000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // The protocol: ping, errors, subscribe.
    let mut ws = ws_connect(&gw.base, "").await;
    ws_send(&mut ws, json!({ "type": "ping", "requestId": "p1" })).await;
    let f = ws_until(&mut ws, |f| !f.is_empty()).await;
    assert_eq!(
        (f[0]["type"].as_str(), f[0]["requestId"].as_str()),
        (Some("pong"), Some("p1"))
    );
    ws_send(
        &mut ws,
        json!({ "type": "subscribe", "payload": { "sessionId": "sess_nope" }, "requestId": "r0" }),
    )
    .await;
    let f = ws_until(&mut ws, |f| !f.is_empty()).await;
    assert_eq!(f[0]["type"], "error");
    assert_eq!(f[0]["payload"]["code"], "SESSION_NOT_FOUND");
    assert_eq!(f[0]["requestId"], "r0");
    ws_send(&mut ws, json!({ "type": "subscribe", "payload": { "sessionId": "*", "events": ["*"] }, "requestId": "r1" })).await;
    let f = ws_until(&mut ws, |f| f.iter().any(|x| x["type"] == "subscribed")).await;
    assert_eq!(f.last().unwrap()["requestId"], "r1");
    let subscribed_at = f.last().unwrap()["payload"]["seq"].as_i64().unwrap();

    // SSE, the first part, from the same point.
    let sse_first = tokio::spawn({
        let base = gw.base.clone();
        async move {
            read_sse(&base, "/api/events", Some(subscribed_at), |evs| {
                evs.iter()
                    .filter(|(_, v)| {
                        v["event"] == "message.received"
                            && v["data"]["body"].as_str().unwrap_or("").starts_with("one")
                    })
                    .count()
                    == 3
            })
            .await
        }
    });
    for i in 0..3 {
        send_text(&api, &a, "628333000002@c.us", &format!("one {i}")).await;
    }
    let first = ws_until(&mut ws, |f| received_texts(f, "one") == 3).await;
    let first_events: Vec<&Value> = first.iter().filter(|f| f["type"] == "event").collect();
    let last_seq = first_events.last().unwrap()["payload"]["seq"]
        .as_i64()
        .unwrap();
    drop(ws);
    let sse_first = sse_first.await.unwrap();
    let sse_last = sse_first.last().unwrap().0;

    // While both are away, more happens.
    for i in 0..3 {
        send_text(&api, &a, "628333000002@c.us", &format!("two {i}")).await;
    }
    eventually("bob to have the second texts", LONG, || async {
        let (_, h) = api
            .get(&format!(
                "/api/sessions/{b}/chats/628333000001/messages?limit=100"
            ))
            .await;
        let n = h["data"]
            .as_array()?
            .iter()
            .filter(|m| m["body"].as_str().unwrap_or("").starts_with("two"))
            .count();
        (n == 3).then_some(())
    })
    .await;

    // Both resume; then one more text arrives live.
    let mut ws = ws_connect(&gw.base, &format!("&lastSeq={last_seq}")).await;
    ws_send(
        &mut ws,
        json!({ "type": "subscribe", "payload": { "sessionId": "*", "events": ["*"] } }),
    )
    .await;
    let sse_second = tokio::spawn({
        let base = gw.base.clone();
        async move {
            read_sse(&base, "/api/events", Some(sse_last), |evs| {
                evs.iter().any(|(_, v)| is_three(v))
            })
            .await
        }
    });
    let resumed_head = ws_until(&mut ws, |f| received_texts(f, "two") == 3).await;
    send_text(&api, &a, "628333000002@c.us", "three").await;
    let resumed_tail = ws_until(&mut ws, |f| received_texts(f, "three") == 1).await;
    let sse_second = sse_second.await.unwrap();

    // The truth: the log, replayed from the start.
    let log = log_until(&gw.base, is_three).await;
    let truth: Vec<i64> = log.iter().map(|(s, _)| *s).collect();

    let ws_seqs: Vec<i64> = first_events
        .iter()
        .map(|f| f["payload"]["seq"].as_i64().unwrap())
        .chain(
            resumed_head
                .iter()
                .chain(resumed_tail.iter())
                .filter(|f| f["type"] == "event")
                .map(|f| f["payload"]["seq"].as_i64().unwrap()),
        )
        .collect();
    let first_ws = ws_seqs[0];
    let expected: Vec<i64> = truth.iter().copied().filter(|s| *s >= first_ws).collect();
    assert_eq!(
        ws_seqs, expected,
        "the WebSocket client missed nothing and saw nothing twice"
    );

    let sse_seqs: Vec<i64> = sse_first
        .iter()
        .chain(sse_second.iter())
        .map(|(s, _)| *s)
        .collect();
    let first_sse = sse_seqs[0];
    let expected: Vec<i64> = truth.iter().copied().filter(|s| *s >= first_sse).collect();
    assert_eq!(
        sse_seqs, expected,
        "the SSE client missed nothing and saw nothing twice"
    );

    // The per-session listener speaks seed 000's incoming_message.
    let listen_url = format!("{}/api/listen/{b}", gw.base.replace("http://", "ws://"));
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(listen_url)
            .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {ADMIN_KEY}").parse().unwrap(),
    );
    let (mut listen, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    // The listener is live from just after the handshake: send until heard.
    let mut frame = None;
    for _ in 0..10 {
        send_text(&api, &a, "628333000002@c.us", "listen").await;
        let heard = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) =
                    listen.next().await
                {
                    break serde_json::from_str::<Value>(&t).unwrap();
                }
            }
        })
        .await;
        if let Ok(f) = heard {
            frame = Some(f);
            break;
        }
    }
    let frame = frame.expect("an incoming_message frame");
    assert_eq!(frame["event"], "incoming_message");
    assert_eq!(frame["data"]["instance_id"], b.as_str());
    assert_eq!(frame["data"]["message"], "listen");
    assert_eq!(frame["data"]["from"], "628333000001@s.whatsapp.net");
    assert_eq!(frame["data"]["from_me"], false);
    gw.stop();
}

// ── the webhook store on both databases ────────────────────────────────

async fn store_story(db: Db) {
    use wagate_store::Store;
    use wagate_store::app::webhooks::{DeliveryRecord, NewWebhook, WebhookPatch};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&db.url(dir.path())).await.unwrap();
    let e1 = store
        .append_event(
            "sess_x",
            "tnt_a",
            wagate_core::EventKind::MessageReceived,
            &json!({"n": 1}),
            1_000,
        )
        .await
        .unwrap();
    let e2 = store
        .append_event(
            "sess_x",
            "tnt_a",
            wagate_core::EventKind::SessionStatus,
            &json!({"n": 2}),
            2_000,
        )
        .await
        .unwrap();
    let new = NewWebhook {
        id: "wh_1".into(),
        session_id: Some("sess_x".into()),
        tenant_id: "tnt_a".into(),
        url: "https://example.com/a".into(),
        events: vec!["message.*".into()],
        secret: Some("top-secret".into()),
        headers: BTreeMap::from([("X-A".to_string(), "1".to_string())]),
        format: Default::default(),
        concurrency: 1,
        last_seq: 0,
    };
    let w = store.insert_webhook(&new).await.unwrap();
    assert!(w.enabled && w.wants("message.received") && !w.wants("session.status"));
    assert!(!format!("{w:?}").contains("top-secret"));
    let dup = store
        .insert_webhook(&NewWebhook {
            id: "wh_2".into(),
            ..new.clone()
        })
        .await;
    assert!(matches!(dup, Err(wagate_store::StoreError::Conflict(_))));
    assert_eq!(store.count_webhooks("sess_x").await.unwrap(), 1);

    // Cursor compare-and-set, and replays that win over in-flight moves.
    assert!(store.advance_webhook_cursor("wh_1", 0, e1).await.unwrap());
    assert!(!store.advance_webhook_cursor("wh_1", 0, e2).await.unwrap());
    assert!(store.request_webhook_replay("wh_1", e1).await.unwrap());
    assert!(!store.advance_webhook_cursor("wh_1", e1, e2).await.unwrap());
    assert_eq!(
        store.take_webhook_replay("wh_1").await.unwrap(),
        Some(e1 - 1)
    );
    assert_eq!(
        store.get_webhook("wh_1").await.unwrap().unwrap().last_seq,
        e1 - 1
    );

    // Failing, disabling, re-enabling.
    let since = store.mark_webhook_failing("wh_1", 5_000).await.unwrap();
    assert_eq!(
        store.mark_webhook_failing("wh_1", 9_000).await.unwrap(),
        since
    );
    assert!(store.disable_webhook("wh_1", "gone").await.unwrap());
    assert!(!store.disable_webhook("wh_1", "gone").await.unwrap());
    assert!(store.list_enabled_webhooks().await.unwrap().is_empty());
    let w = store
        .update_webhook(
            "wh_1",
            &WebhookPatch {
                enabled: Some(true),
                secret: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(w.enabled && w.failing_since.is_none() && w.secret.is_none());

    // Delivery log and redelivery queue.
    store
        .record_delivery(&DeliveryRecord {
            id: "dlv_1".into(),
            webhook_id: "wh_1".into(),
            seq: e1,
            event: "message.received".into(),
            idempotency_key: "k".into(),
            attempt: 0,
            outcome: wagate_core::DeliveryOutcome::Delivered,
            status_code: Some(200),
            latency_ms: 3,
            error: None,
            created_at: 1_500,
        })
        .await
        .unwrap();
    let (list, total) = store.list_deliveries("wh_1", 1, 20).await.unwrap();
    assert_eq!((list.len(), total), (1, 1));
    assert_eq!(
        store
            .get_delivery("wh_1", "dlv_1")
            .await
            .unwrap()
            .unwrap()
            .status_code,
        Some(200)
    );
    store.enqueue_redelivery("wh_1", e1).await.unwrap();
    let (qid, seq) = store.next_redelivery("wh_1").await.unwrap().unwrap();
    assert_eq!(seq, e1);
    store.remove_redelivery(qid).await.unwrap();
    assert!(store.next_redelivery("wh_1").await.unwrap().is_none());

    // Retention never prunes what an enabled webhook has not been given.
    assert_eq!(store.prune_delivered_events(10_000).await.unwrap(), 0);
    assert!(
        store
            .advance_webhook_cursor("wh_1", e1 - 1, e1)
            .await
            .unwrap()
    );
    assert_eq!(store.prune_delivered_events(10_000).await.unwrap(), 1);
    assert!(store.get_event(e1).await.unwrap().is_none());
    assert!(store.get_event(e2).await.unwrap().is_some());

    // The global webhook keeps its cursor when refreshed.
    let g = store
        .upsert_global_webhook(
            "wh_global",
            "tnt_admin",
            "https://g",
            &["*".into()],
            Some("s"),
        )
        .await
        .unwrap();
    assert_eq!(g.last_seq, e2);
    store
        .advance_webhook_cursor("wh_global", e2, e2 + 10)
        .await
        .unwrap();
    let g = store
        .upsert_global_webhook("wh_global", "tnt_admin", "https://g2", &["*".into()], None)
        .await
        .unwrap();
    assert_eq!((g.last_seq, g.url.as_str()), (e2 + 10, "https://g2"));

    // Webhooks of deleted sessions go.
    assert_eq!(store.delete_orphan_webhooks().await.unwrap(), 1);
    assert!(store.get_webhook("wh_1").await.unwrap().is_none());
    assert!(store.delete_webhook("wh_global").await.unwrap());
}

#[tokio::test]
async fn webhook_store_on_sqlite() {
    store_story(Db::sqlite()).await;
}

#[tokio::test]
async fn webhook_store_on_postgres() {
    store_story(Db::postgres().await).await;
}

//! An incoming message survives a crash between its relay and the ack:
//! Alice (on a gateway that stays up) sends Bob bursts of texts, and Bob's
//! gateway is SIGKILLed again and again at different moments after the
//! sandbox relayed them — before, during or after Bob's commit and ack.
//! The sandbox, like WhatsApp, delivers what Bob never acked again at his
//! next login. In the end every text is in Bob's history exactly once,
//! with exactly one `message.received` each, and Bob's webhook got every
//! one of those events. Runs on SQLite and on PostgreSQL.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const LONG: Duration = Duration::from_secs(120);
/// Kill-and-restart rounds per database.
const TRIALS: usize = 10;
/// Texts Alice sends per round.
const BURST: usize = 3;

// ── a webhook receiver that answers 200 and remembers every hit ───────

#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let hits = receiver.hits.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let hits = hits.clone();
                async move {
                    let key = headers
                        .get("x-openwa-idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    hits.lock().unwrap().push((key, body));
                    axum::http::StatusCode::OK
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (receiver, format!("http://{addr}/bob"))
    }

    fn hits(&self) -> Vec<(String, Value)> {
        self.hits.lock().unwrap().clone()
    }
}

// ── what the sandbox saw ───────────────────────────────────────────────

/// Relay-log rows of `kind` from `from` to `to`.
async fn relay_rows(sandbox: &Sandbox, from: &str, to: &str, kind: &str) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/admin/messages?from={from}&to={to}&limit=5000",
            sandbox.http_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let rows: Vec<Value> = resp.json().await.unwrap();
    rows.into_iter().filter(|r| r["kind"] == kind).collect()
}

/// How many stanzas the sandbox still keeps for `phone`'s devices.
async fn kept_for(sandbox: &Sandbox, phone: &str) -> usize {
    let resp = reqwest::get(format!(
        "{}/admin/phones/{phone}/pending",
        sandbox.http_url()
    ))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pending"].as_u64().unwrap() as usize)
        .sum()
}

// ── what Bob's gateway has ─────────────────────────────────────────────

fn bob_env() -> Vec<(&'static str, String)> {
    vec![(
        "WEBHOOK_RETRY_SCHEDULE",
        "50ms,100ms,200ms,200ms,200ms".into(),
    )]
}

/// One database per gateway: Alice's and Bob's.
async fn crash_story(alice_db: Db, bob_db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628555000001", "Alice").await;
    let bob = create_phone(&sandbox, "628555000002", "Bob").await;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // Step 1: Alice on a gateway that stays up, Bob on one that will crash,
    // with a webhook for Bob's incoming messages.
    let gw_a = Gateway::start(a_dir.path(), &alice_db.url(a_dir.path()), &sandbox);
    let api_a = gw_a.api(ADMIN_KEY);
    let b_url = bob_db.url(b_dir.path());
    let mut gw_b = Gateway::start_with_env(b_dir.path(), &b_url, &sandbox, &bob_env());
    let a = create_and_pair(&api_a, "alice", &alice).await;
    let b = create_and_pair(&gw_b.api(ADMIN_KEY), "bob", &bob).await;
    let (receiver, hook_url) = Receiver::start().await;
    let (status, hook) = gw_b
        .api(ADMIN_KEY)
        .post(
            &format!("/api/sessions/{b}/webhooks"),
            json!({ "url": hook_url, "events": ["message.received"] }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");

    // Step 2: rounds of a burst, then SIGKILL at a different moment each
    // time — after the 1st, 2nd or 3rd relay, plus 0-39 ms — and a restart.
    let mut sent = Vec::new();
    for trial in 0..TRIALS {
        let api_b = gw_b.api(ADMIN_KEY);
        api_b.wait_status(&b, "CONNECTED").await;
        eventually("bob acked everything so far", LONG, || async {
            (kept_for(&sandbox, &bob.number).await == 0).then_some(())
        })
        .await;
        let before = relay_rows(&sandbox, &alice.number, &bob.number, "message")
            .await
            .len();
        let texts: Vec<String> = (0..BURST).map(|i| format!("t{trial}-m{i}")).collect();
        sent.extend(texts.iter().cloned());
        let burst = {
            let (base, a, to, texts) = (
                api_a.base.clone(),
                a.clone(),
                bob.number.clone(),
                texts.clone(),
            );
            tokio::spawn(async move {
                let api = Api {
                    base,
                    key: Some(ADMIN_KEY.into()),
                    http: reqwest::Client::new(),
                };
                for text in texts {
                    let (status, body) = api
                        .post(
                            &format!("/api/sessions/{a}/messages/send-text"),
                            json!({ "chatId": to, "text": text }),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                }
            })
        };
        let kill_after = before + trial % BURST + 1;
        eventually("the relay that triggers the kill", LONG, || async {
            let n = relay_rows(&sandbox, &alice.number, &bob.number, "message")
                .await
                .len();
            (n >= kill_after).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis((trial as u64 * 7) % 40)).await;
        gw_b.kill();
        burst.await.unwrap();
        gw_b = Gateway::start_with_env(b_dir.path(), &b_url, &sandbox, &bob_env());
    }

    // Step 3: Bob is back and acked everything; his history has each text once.
    let api_b = gw_b.api(ADMIN_KEY);
    api_b.wait_status(&b, "CONNECTED").await;
    eventually("bob has every text", LONG, || async {
        let got: HashSet<String> = received_texts(&api_b, &b, &alice.number)
            .await
            .into_iter()
            .collect();
        sent.iter().all(|t| got.contains(t)).then_some(())
    })
    .await;
    eventually("bob acked everything", LONG, || async {
        (kept_for(&sandbox, &bob.number).await == 0).then_some(())
    })
    .await;
    let mut in_history: BTreeMap<String, usize> = BTreeMap::new();
    for t in received_texts(&api_b, &b, &alice.number).await {
        *in_history.entry(t).or_default() += 1;
    }
    for t in &sent {
        assert_eq!(in_history.get(t), Some(&1), "{t} is in history once");
    }
    assert_eq!(in_history.len(), sent.len(), "{in_history:?}");
    let redelivered = relay_rows(&sandbox, &alice.number, &bob.number, "redelivered")
        .await
        .len();
    // Whether a kill landed inside the window depends on timing; the
    // exactly-once checks above hold either way, and the store-level and
    // sandbox tests cover the window deterministically.
    if redelivered == 0 {
        eprintln!("no kill fell between a relay and Bob's ack this run");
    }
    eprintln!(
        "{TRIALS} kills, {} texts, {redelivered} redelivered by the sandbox",
        sent.len()
    );

    // Step 4: exactly one message.received per text in the event log.
    let (status, marker) = api_b
        .post("/api/sessions", json!({ "name": "marker" }))
        .await;
    assert_eq!(status, 201, "{marker}");
    let marker = marker["data"]["id"].as_str().unwrap().to_string();
    let log = events_until(&gw_b.base, LONG, |e| e["sessionId"] == marker.as_str()).await;
    let received: Vec<&Value> = log
        .iter()
        .filter(|v| v["sessionId"] == b.as_str() && v["event"] == "message.received")
        .collect();
    let mut per_text: HashMap<&str, usize> = HashMap::new();
    for e in &received {
        *per_text
            .entry(e["data"]["body"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    for t in &sent {
        assert_eq!(
            per_text.get(t.as_str()),
            Some(&1),
            "one message.received for {t}: {per_text:?}"
        );
    }

    // Step 5: the webhook got each of those events (at least once, under
    // one idempotency key per event).
    let expected: HashSet<i64> = received
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    eventually("the webhook got every message.received", LONG, || async {
        let got: HashSet<i64> = receiver
            .hits()
            .iter()
            .filter_map(|(_, body)| body["seq"].as_i64())
            .collect();
        expected.is_subset(&got).then_some(())
    })
    .await;
    let hits = receiver.hits();
    let mut key_of: HashMap<i64, &str> = HashMap::new();
    for (key, body) in &hits {
        let seq = body["seq"].as_i64().unwrap();
        assert_eq!(body["event"], "message.received");
        let first = key_of.entry(seq).or_insert(key.as_str());
        assert_eq!(*first, key.as_str(), "one idempotency key for seq {seq}");
    }
    eprintln!(
        "webhook: {} deliveries for {} events",
        hits.len(),
        expected.len()
    );
    gw_b.stop();
    gw_a.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_between_relay_and_ack_loses_and_repeats_nothing_on_sqlite() {
    crash_story(Db::sqlite(), Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_between_relay_and_ack_loses_and_repeats_nothing_on_postgres() {
    crash_story(Db::postgres().await, Db::postgres().await).await;
}

//! Webhook delivery at volume, end to end: a session's log holds thousands
//! of events (written to the gateway's own database, as a busy session
//! would), and webhooks replay them to a real HTTP receiver in the test.
//!
//! - With the default `concurrency` (1) every event arrives once, in log
//!   order, even when some first attempts fail and are retried; with
//!   `concurrency` 8 every event still arrives exactly once (order
//!   relaxed). The API shows and checks the setting, and the delivery log
//!   holds every attempt.
//! - A SIGKILL in the middle of a large replay loses nothing: after the
//!   restart every event has arrived, a receiver that drops repeated
//!   idempotency keys processes them in order, and the repeats are bounded
//!   by what the documentation promises (the ledger's window plus the
//!   deliveries in flight).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use common::*;
use serde_json::{Value, json};
use wagate_core::EventKind;
use wagate_store::Store;
use wagate_store::app::{ADMIN_TENANT_ID, EventQuery};

const LONG: Duration = Duration::from_secs(300);

// ── a receiver that keeps what it was given ────────────────────────────

#[derive(Clone, Debug)]
struct Hit {
    /// The URL's path: which webhook.
    path: String,
    key: String,
    seq: i64,
    answered: u16,
}

#[derive(Default)]
struct ReceiverState {
    hits: Vec<Hit>,
    /// First attempts of events whose `seq` is a multiple of this answer 500.
    fail_first_every: Option<i64>,
    /// Answers after up to 3 ms, so deliveries in flight together finish
    /// in any order.
    jitter: bool,
    attempts: HashMap<(String, String), u32>,
}

#[derive(Clone)]
struct Receiver {
    base: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(fail_first_every: Option<i64>, jitter: bool) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            fail_first_every,
            jitter,
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, state }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn hits(&self, name: &str) -> Vec<Hit> {
        let path = format!("/{name}");
        let s = self.state.lock().unwrap();
        s.hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Successful hits of one webhook, first per idempotency key, in
    /// arrival order: what a receiver that deduplicates by key processes.
    fn processed(&self, name: &str) -> Vec<i64> {
        let mut seen = HashSet::new();
        self.hits(name)
            .into_iter()
            .filter(|h| h.answered == 200 && seen.insert(h.key.clone()))
            .map(|h| h.seq)
            .collect()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    uri: Uri,
    headers: HeaderMap,
) -> StatusCode {
    let key = headers
        .get("x-openwa-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // The contract's key ends with the event's sequence number.
    let seq: i64 = key.rsplit('_').next().unwrap().parse().unwrap();
    let jitter = state.lock().unwrap().jitter;
    if jitter {
        tokio::time::sleep(Duration::from_micros((seq as u64 * 7919) % 3000)).await;
    }
    let mut s = state.lock().unwrap();
    let path = uri.path().to_string();
    let attempt = {
        let n = s.attempts.entry((path.clone(), key.clone())).or_default();
        *n += 1;
        *n
    };
    let answered = match s.fail_first_every {
        Some(every) if attempt == 1 && seq % every == 0 => 500,
        _ => 200,
    };
    s.hits.push(Hit {
        path,
        key,
        seq,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

// ── helpers ────────────────────────────────────────────────────────────

/// Logs `n` `message.received` events for `session` in the gateway's
/// database; returns their sequence numbers.
async fn log_messages(url: &str, session: &str, n: usize) -> Vec<i64> {
    let store = Store::connect(url).await.unwrap();
    let first = store.last_event_seq().await.unwrap() + 1;
    let mut written = 0;
    while written < n {
        let mut tx = store.begin().await.unwrap();
        for _ in 0..500.min(n - written) {
            let data = json!({
                "messageId": format!("false_628111000001@c.us_FLOOD{written:06}"),
                "from": "628111000001@c.us",
                "body": format!("flood {written}"),
            });
            tx.append(session, ADMIN_TENANT_ID, EventKind::MessageReceived, &data)
                .await
                .unwrap();
            written += 1;
        }
        tx.commit().await.unwrap();
    }
    // The session's own events may sit between them: read them back.
    let mut seqs = Vec::new();
    let mut after = first - 1;
    loop {
        let page = store
            .read_events(&EventQuery {
                after,
                session_id: Some(session.to_string()),
                limit: 5000,
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        seqs.extend(
            page.iter()
                .filter(|e| e.event == EventKind::MessageReceived)
                .map(|e| e.seq),
        );
    }
    assert_eq!(seqs.len(), n);
    seqs
}

async fn create_webhook(api: &Api, session: &str, body: Value) -> String {
    let (status, hook) = api
        .post(&format!("/api/sessions/{session}/webhooks"), body)
        .await;
    assert_eq!(status, 201, "{hook}");
    hook["data"]["id"].as_str().unwrap().to_string()
}

async fn replay(api: &Api, session: &str, hook: &str, from: i64) {
    let (status, body) = api
        .post(
            &format!("/api/sessions/{session}/webhooks/{hook}/replay"),
            json!({ "fromSeq": from }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}

async fn wait_processed(receiver: &Receiver, name: &str, n: usize) {
    eventually(&format!("{name} to have {n} events"), LONG, || async {
        (receiver.processed(name).len() >= n).then_some(())
    })
    .await;
}

fn fast_retries() -> String {
    ["50ms"; 20].join(",")
}

// ── the stories ────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_relaxes_order_and_every_event_arrives_once() {
    // Step 1: a gateway, a session, and a receiver whose first answer to
    // every 97th event is a 500.
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let env = vec![("WEBHOOK_RETRY_SCHEDULE", fast_retries())];
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    let (status, session) = api.post("/api/sessions", json!({ "name": "flood" })).await;
    assert_eq!(status, 201, "{session}");
    let session = session["data"]["id"].as_str().unwrap().to_string();
    let receiver = Receiver::start(Some(97), true).await;

    // Step 2: 1,500 messages are in the session's log.
    let seqs = log_messages(&url, &session, 1500).await;

    // Step 3: one webhook keeps the default order, one takes 8 at once
    // (both start at the log's end).
    let filter = json!([EventKind::MessageReceived]);
    let ordered = create_webhook(
        &api,
        &session,
        json!({ "url": receiver.url("ordered"), "events": filter }),
    )
    .await;
    let parallel = create_webhook(
        &api,
        &session,
        json!({ "url": receiver.url("parallel"), "events": filter, "concurrency": 4 }),
    )
    .await;
    let hook_path = |id: &str| format!("/api/sessions/{session}/webhooks/{id}");
    let (_, got) = api.get(&hook_path(&ordered)).await;
    assert_eq!(got["data"]["concurrency"], 1, "the default is in order");
    let (status, got) = api
        .patch(&hook_path(&parallel), json!({ "concurrency": 8 }))
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["concurrency"], 8);

    // Step 4: settings out of range are refused, the webhook unchanged.
    for bad in [json!(0), json!(65), json!(-1), json!("eight")] {
        let (status, body) = api
            .patch(&hook_path(&parallel), json!({ "concurrency": bad }))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{body}");
    }
    let (status, body) = api
        .post(
            &format!("/api/sessions/{session}/webhooks"),
            json!({ "url": receiver.url("refused"), "concurrency": 1000 }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, got) = api.get(&hook_path(&parallel)).await;
    assert_eq!(got["data"]["concurrency"], 8);

    // Step 5: both replay the 1,500 messages.
    replay(&api, &session, &ordered, seqs[0]).await;
    replay(&api, &session, &parallel, seqs[0]).await;
    wait_processed(&receiver, "ordered", seqs.len()).await;
    wait_processed(&receiver, "parallel", seqs.len()).await;

    // Step 6: in order by default, retried events included.
    assert_eq!(
        receiver.processed("ordered"),
        seqs,
        "the default webhook got every event once, in log order"
    );
    // With concurrency 8: every event, once, in whatever order.
    let mut got = receiver.processed("parallel");
    got.sort_unstable();
    assert_eq!(got, seqs, "the concurrent webhook got every event once");
    for name in ["ordered", "parallel"] {
        let hits = receiver.hits(name);
        let ok = hits.iter().filter(|h| h.answered == 200).count();
        assert_eq!(ok, seqs.len(), "{name}: no event was delivered twice");
        let failed = hits.iter().filter(|h| h.answered == 500).count();
        assert_eq!(failed, seqs.iter().filter(|s| *s % 97 == 0).count());
    }

    // Step 7: the delivery log holds every attempt, failed ones included.
    for (id, name) in [(&ordered, "ordered"), (&parallel, "parallel")] {
        let attempts = receiver.hits(name).len() as u64;
        eventually("the delivery log to hold every attempt", LONG, || async {
            let (_, page) = api
                .get(&format!("{}/deliveries?limit=1", hook_path(id)))
                .await;
            (page["pagination"]["total"].as_u64() == Some(attempts)).then_some(())
        })
        .await;
        // The cursor is past the last message (it follows the log's head).
        let (_, hook) = api.get(&hook_path(id)).await;
        let cursor = hook["data"]["lastDeliveredSeq"].as_i64().unwrap();
        assert!(cursor >= *seqs.last().unwrap(), "cursor {cursor}");
    }
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_mid_replay_loses_nothing() {
    // Step 1: a session with 20,000 messages in its log, and a webhook.
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let (status, session) = api.post("/api/sessions", json!({ "name": "flood" })).await;
    assert_eq!(status, 201, "{session}");
    let session = session["data"]["id"].as_str().unwrap().to_string();
    let receiver = Receiver::start(None, false).await;
    let seqs = log_messages(&url, &session, 20_000).await;
    let hook = create_webhook(
        &api,
        &session,
        json!({ "url": receiver.url("hook"), "events": [EventKind::MessageReceived] }),
    )
    .await;

    // Step 2: the replay runs; the gateway is killed in the middle of it.
    replay(&api, &session, &hook, seqs[0]).await;
    wait_processed(&receiver, "hook", 3_000).await;
    gw.kill();
    let before_restart = receiver.processed("hook").len();
    assert!(before_restart < seqs.len(), "killed before the end");

    // Step 3: after the restart the replay goes on from the stored cursor.
    let gw = Gateway::start(data.path(), &url, &sandbox);
    wait_processed(&receiver, "hook", seqs.len()).await;

    // Step 4: nothing lost; in order once repeats are dropped; repeats
    // no more than the documented window plus the one in flight.
    assert_eq!(receiver.processed("hook"), seqs);
    let hits = receiver.hits("hook");
    let repeats = hits.len() - seqs.len();
    let bound = wagate_events::ledger::WINDOW + 1;
    eprintln!("killed after {before_restart} events; {repeats} delivered again");
    assert!(
        repeats <= bound,
        "{repeats} events were delivered twice; at most {bound} may be"
    );
    gw.stop();
}

//! History on link, through HTTP only: Ann's sandbox phone already holds a
//! chat with Bob and a group chat when her session links; the phone pushes
//! them (WhatsApp's history sync) and the gateway stores them marked
//! `fromHistory`, visible in the chat list and the chat's messages, with
//! one `session.history_synced` event and no `message.received` for any of
//! them — while a message Bob sends afterwards is an ordinary live one. A
//! gateway started with `HISTORY_SYNC=false` keeps none of it, nor does a
//! session that chose `settings.historySync: false` on a gateway that
//! keeps history; the sandbox refuses a bad seed.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);
const ANN: &str = "628555000001";
const BOB: &str = "628555000002";
const GROUP: &str = "120363555000001@g.us";

/// Ann's phone with what it already holds: two messages with Bob, one in
/// a group.
async fn phone_with_history(sandbox: &Sandbox, number: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/admin/phones", sandbox.http_url()))
        .json(&json!({
            "phone": number,
            "pushName": "Ann",
            "history": [
                {"chat": BOB, "name": "Bob", "messages": [
                    {"id": "HIST0001", "text": "are we still on for friday?", "timestamp": 1_760_000_000},
                    {"id": "HIST0002", "text": "yes, 7pm", "fromMe": true, "timestamp": 1_760_000_060},
                ]},
                {"chat": GROUP, "name": "Book club", "messages": [
                    {"id": "HIST0003", "text": "chapter 3 by monday", "sender": BOB, "timestamp": 1_760_000_120},
                ]},
            ],
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_linked_session_keeps_the_phones_history_without_replaying_it() {
    // The sandbox, Ann's phone with history, Bob's phone, the gateway.
    let sandbox = start_sandbox().await;
    let seeded = phone_with_history(&sandbox, ANN).await;
    assert_eq!(seeded.status().as_u16(), 201);
    let ann = Phone {
        sandbox: &sandbox,
        number: ANN.to_string(),
    };
    let bob = create_phone(&sandbox, BOB, "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);

    // Ann links her session: the phone pushes its history, announced once.
    let a = create_and_pair(&api, "ann", &ann).await;
    let synced = event_where(&gw.base, |v| {
        v["event"] == "session.history_synced" && v["sessionId"] == a.as_str()
    })
    .await;
    assert_eq!(synced["data"]["messages"], 3, "{synced}");
    assert_eq!(synced["data"]["chats"], 2, "{synced}");
    assert_eq!(synced["data"]["syncType"], "initial_bootstrap");

    // The chat with Bob holds both messages (newest first), from history.
    let with_bob = history(&api, &a, &format!("{BOB}@c.us")).await;
    let seen: Vec<(String, bool, bool)> = with_bob
        .iter()
        .map(|m| {
            (
                m["body"].as_str().unwrap().to_string(),
                m["fromMe"].as_bool().unwrap(),
                m["fromHistory"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("yes, 7pm".to_string(), true, true),
            ("are we still on for friday?".to_string(), false, true),
        ]
    );
    assert_eq!(with_bob[1]["from"], format!("{BOB}@c.us"));
    assert_eq!(with_bob[1]["waTimestamp"], 1_760_000_000);
    assert_eq!(with_bob[0]["from"], format!("{ANN}@c.us"));
    assert!(with_bob[1]["id"].as_str().unwrap().ends_with("HIST0001"));

    // The group's message names its author; both chats are listed.
    let in_group = history(&api, &a, GROUP).await;
    assert_eq!(in_group.len(), 1, "{in_group:?}");
    assert_eq!(in_group[0]["from"], format!("{BOB}@c.us"));
    assert_eq!(in_group[0]["fromHistory"], true);
    let (status, chats) = api.get(&format!("/api/sessions/{a}/chats")).await;
    assert_eq!(status, 200, "{chats}");
    let ids: Vec<&str> = chats["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&format!("{BOB}@c.us").as_str()), "{ids:?}");
    assert!(ids.contains(&GROUP), "{ids:?}");

    // Bob links and writes to Ann: that one is live, and the only message
    // event Ann's session ever emitted is for it.
    let b = create_and_pair(&api, "bob", &bob).await;
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": format!("{ANN}@c.us"), "text": "see you friday" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let events = events_until(&gw.base, WAIT, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "see you friday"
    })
    .await;
    let message_events: Vec<&Value> = events
        .iter()
        .filter(|v| v["sessionId"] == a.as_str())
        .filter(|v| v["event"] == "message.received" || v["event"] == "message.sent")
        .collect();
    assert_eq!(message_events.len(), 1, "{message_events:?}");
    let live = history(&api, &a, &format!("{BOB}@c.us")).await;
    let last = live.first().unwrap();
    assert_eq!(last["body"], "see you friday");
    assert_eq!(last["fromHistory"], false);
    let synced_events = events
        .iter()
        .filter(|v| v["event"] == "session.history_synced")
        .count();
    assert_eq!(synced_events, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_sync_off_keeps_nothing_and_bad_seeds_are_refused() {
    let sandbox = start_sandbox().await;

    // A bad seed: a chat that is neither a phone nor a group.
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones", sandbox.http_url()))
        .json(&json!({"phone": "628555000009", "history": [{"chat": "bob", "messages": []}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("history"),
        "{body}"
    );

    // A gateway that skips history links Ann's phone and keeps none of it.
    assert_eq!(
        phone_with_history(&sandbox, ANN).await.status().as_u16(),
        201
    );
    let ann = Phone {
        sandbox: &sandbox,
        number: ANN.to_string(),
    };
    let bob = create_phone(&sandbox, BOB, "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[("HISTORY_SYNC", "false".to_string())],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;

    // A live message from Bob arrives; by then the history would have too.
    let b = create_and_pair(&api, "bob", &bob).await;
    let events = only_the_live_message_is_kept(&api, &gw.base, &a, &b, "hello?").await;
    assert!(
        !events
            .iter()
            .any(|v| v["event"] == "session.history_synced"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_that_chose_no_history_keeps_none_on_a_gateway_that_keeps_it() {
    // A gateway with the default HISTORY_SYNC=true; Ann's phone holds history.
    let sandbox = start_sandbox().await;
    assert_eq!(
        phone_with_history(&sandbox, ANN).await.status().as_u16(),
        201
    );
    let ann = Phone {
        sandbox: &sandbox,
        number: ANN.to_string(),
    };
    let bob = create_phone(&sandbox, BOB, "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);

    // Ann's session chooses no history; Bob's follows the default.
    let (status, created) = api
        .post(
            "/api/sessions",
            json!({ "name": "ann", "settings": { "historySync": false } }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["settings"]["historySync"], false);
    let a = created["data"]["id"].as_str().unwrap().to_string();
    let (status, bad) = api
        .patch(
            &format!("/api/sessions/{a}"),
            json!({ "settings": { "historySync": "no" } }),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    pair(&api, &a, &ann).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (_, bob_session) = api.get(&format!("/api/sessions/{b}")).await;
    assert_eq!(bob_session["data"]["settings"]["historySync"], true);

    // A live message from Bob arrives; by then the history would have too.
    let events = only_the_live_message_is_kept(&api, &gw.base, &a, &b, "still there?").await;
    assert!(
        !events
            .iter()
            .any(|v| v["event"] == "session.history_synced" && v["sessionId"] == a.as_str()),
        "{events:?}"
    );
}

/// Bob (session `b`) sends Ann (session `a`) `text`; once it arrives —
/// by then the history would have too — Ann's chat with Bob holds only
/// it and the group chat nothing. The events up to its arrival.
async fn only_the_live_message_is_kept(
    api: &Api,
    base: &str,
    a: &str,
    b: &str,
    text: &str,
) -> Vec<Value> {
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": format!("{ANN}@c.us"), "text": text }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let events = events_until(base, WAIT, |v| {
        v["event"] == "message.received" && v["sessionId"] == a
    })
    .await;
    let with_bob = history(api, a, &format!("{BOB}@c.us")).await;
    let bodies: Vec<&str> = with_bob
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec![text]);
    assert!(history(api, a, GROUP).await.is_empty());
    events
}

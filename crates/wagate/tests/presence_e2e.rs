//! Presence and chat state end to end through HTTP only: B subscribes to
//! A's presence and hears `presence.update` when A goes online and offline;
//! A types, records and pauses in B's chat and B hears `chat.state`; a send
//! with `simulateTyping` shows `composing` and `paused` as well.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_and_chat_state() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628666000001", "Alice").await;
    let bob = create_phone(&sandbox, "628666000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    // No typing pause: the test checks the order of events, not the clock.
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[
            ("TYPING_DELAY_MIN", "0".to_string()),
            ("TYPING_DELAY_MAX", "0".to_string()),
        ],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let a_id = "628666000001@c.us";

    // B subscribes to A; A goes online, then offline.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/presence/subscribe"),
            json!({ "chatId": a_id }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/presence"),
            json!({ "presence": "available" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let online = event_where(&gw.base, |v| {
        v["event"] == "presence.update"
            && v["sessionId"] == b.as_str()
            && v["data"]["id"] == a_id
            && v["data"]["status"] == "available"
    })
    .await;
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/presence"),
            json!({ "presence": "unavailable" }),
        )
        .await;
    assert_eq!(status, 200);
    // A stays connected: going unavailable is its word, not a dropped socket.
    event_where(&gw.base, |v| {
        v["event"] == "presence.update"
            && v["sessionId"] == b.as_str()
            && v["data"]["id"] == a_id
            && v["data"]["status"] == "unavailable"
            && v["seq"].as_i64() > online["seq"].as_i64()
    })
    .await;

    // A types, records, pauses in B's chat.
    let mut before_send = 0;
    for state in ["composing", "recording", "paused"] {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/chats/628666000002/state"),
                json!({ "state": state }),
            )
            .await;
        assert_eq!(status, 200, "{state}: {body}");
        let ev = event_where(&gw.base, |v| {
            v["event"] == "chat.state"
                && v["sessionId"] == b.as_str()
                && v["data"]["state"] == state
        })
        .await;
        assert_eq!(ev["data"]["chatId"], a_id);
        assert_eq!(ev["data"]["from"], a_id);
        before_send = ev["seq"].as_i64().unwrap();
    }

    // A send that simulates typing: composing, paused, then the message.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628666000002", "text": "typed by hand",
                    "options": { "simulateTyping": true } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let message = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == b.as_str()
            && v["data"]["body"] == "typed by hand"
    })
    .await;
    assert_eq!(message["data"]["from"], a_id);
    // B's side records chat states and messages on different paths, so only
    // their arrival is checked here, not their order in B's log (the sender
    // awaits composing, the pause and paused before it sends).
    for state in ["composing", "paused"] {
        event_where(&gw.base, |v| {
            v["event"] == "chat.state"
                && v["sessionId"] == b.as_str()
                && v["data"]["state"] == state
                && v["seq"].as_i64() > Some(before_send)
        })
        .await;
    }

    // Bad input.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/presence"),
            json!({ "presence": "busy" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/chats/628666000002/state"),
            json!({ "state": "dancing" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/chats/nonsense/state"),
            json!({ "state": "paused" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_INVALID_CHAT_ID"))
    );

    gw.stop();
}

/// `alwaysOnline` switched on says "available" at once, switched off says
/// "unavailable", and on again says "available" again; a session without
/// it runs no presence timer (`session/settings.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn always_online_follows_the_setting() {
    let sandbox = start_sandbox().await;
    let carol = create_phone(&sandbox, "628666000011", "Carol").await;
    let dan = create_phone(&sandbox, "628666000012", "Dan").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let c = create_and_pair(&api, "carol", &carol).await;
    let d = create_and_pair(&api, "dan", &dan).await;
    let c_id = "628666000011@c.us";

    // Step 1: Dan listens to Carol's presence.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{d}/presence/subscribe"),
            json!({ "chatId": c_id }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Step 2: Carol's setting goes on, off, on; Dan hears each, in order.
    let mut after = 0;
    for (on, said) in [
        (true, "available"),
        (false, "unavailable"),
        (true, "available"),
    ] {
        let (status, body) = api
            .patch(
                &format!("/api/sessions/{c}"),
                json!({ "settings": { "alwaysOnline": on } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["settings"]["alwaysOnline"], on, "{body}");
        let heard = event_where(&gw.base, |v| {
            v["event"] == "presence.update"
                && v["sessionId"] == d.as_str()
                && v["data"]["id"] == c_id
                && v["data"]["status"] == said
                && v["seq"].as_i64() > Some(after)
        })
        .await;
        after = heard["seq"].as_i64().unwrap();
    }
    gw.stop();
}

//! Acks reach `read`: B marks A's message read through the API, and A's
//! history (and B's) say so.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn marking_a_chat_read_turns_the_senders_ticks_blue() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628333000001", "Alice").await;
    let bob = create_phone(&sandbox, "628333000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": bob.number, "text": "read me" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let history = |session: String, chat: String| {
        let api = &api;
        async move {
            let (_, h) = api
                .get(&format!("/api/sessions/{session}/chats/{chat}/messages"))
                .await;
            h["data"][0].clone()
        }
    };
    eventually("bob has the message", Duration::from_secs(30), || async {
        let m = history(b.clone(), alice.number.clone()).await;
        (m["body"] == "read me" && m["status"] == "received").then_some(())
    })
    .await;

    // A malformed body is a validation error; an empty one means "all unread".
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/sessions/{b}/chats/{}/read",
            api.base, alice.number
        ))
        .header("X-API-Key", ADMIN_KEY)
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let (status, marked) = api
        .post(
            &format!("/api/sessions/{b}/chats/{}/read", alice.number),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(marked["data"]["marked"], 1);
    assert_eq!(
        history(b.clone(), alice.number.clone()).await["status"],
        "read"
    );

    eventually("alice sees it read", Duration::from_secs(30), || async {
        let m = history(a.clone(), bob.number.clone()).await;
        (m["body"] == "read me" && m["status"] == "read").then_some(())
    })
    .await;

    // Nothing left unread.
    let (_, again) = api
        .post(
            &format!("/api/sessions/{b}/chats/{}/read", alice.number),
            json!({}),
        )
        .await;
    assert_eq!(again["data"]["marked"], 0);
    gw.stop();
}

//! Received locations and contact cards keep their details, on SQLite and
//! PostgreSQL: Alice sends Bob a location and a contact; Bob's history and
//! `message.received` events carry `location` (latitude, longitude, name)
//! and `vcard` (displayName, vcard), and so do Alice's own copies.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn in_history(api: &Api, session: &str, chat: &str, kind: &str) -> Value {
    eventually(
        &format!("a {kind} in {session}'s history"),
        Duration::from_secs(60),
        || async {
            let (status, h) = api
                .get(&format!("/api/sessions/{session}/chats/{chat}/messages"))
                .await;
            assert_eq!(status, 200, "{h}");
            h["data"]
                .as_array()?
                .iter()
                .find(|m| m["type"] == kind)
                .cloned()
        },
    )
    .await
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628555100001", "Alice").await;
    let bob = create_phone(&sandbox, "628555100002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-location"),
            json!({ "chatId": "628555100002@c.us", "latitude": -6.2088,
                    "longitude": 106.8456, "description": "Jakarta, Indonesia" }),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-contact"),
            json!({ "chatId": "628555100002@c.us",
                    "contact": { "name": "John Doe", "phone": "628987654321" } }),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");

    for (session, chat) in [(&b, "628555100001"), (&a, "628555100002")] {
        let loc = in_history(&api, session, chat, "location").await;
        assert_eq!(loc["body"], "Jakarta, Indonesia");
        assert_eq!(loc["location"]["latitude"], -6.2088, "{loc}");
        assert_eq!(loc["location"]["longitude"], 106.8456, "{loc}");
        assert_eq!(loc["location"]["name"], "Jakarta, Indonesia");
        let card = in_history(&api, session, chat, "vcard").await;
        assert_eq!(card["vcard"]["displayName"], "John Doe", "{card}");
        let vcard = card["vcard"]["vcard"].as_str().unwrap();
        assert!(vcard.contains("BEGIN:VCARD"), "{vcard}");
        assert!(vcard.contains("628987654321"), "{vcard}");
    }
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.received" && v["data"]["type"] == "location"
    })
    .await;
    assert_eq!(ev["data"]["location"]["latitude"], -6.2088, "{ev}");
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.received" && v["data"]["type"] == "vcard"
    })
    .await;
    assert_eq!(ev["data"]["vcard"]["displayName"], "John Doe", "{ev}");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locations_and_cards_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locations_and_cards_postgres() {
    story(Db::postgres().await).await;
}

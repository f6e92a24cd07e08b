//! Blocking, end to end through HTTP against the sandbox: Alice blocks Bob
//! (`POST …/contacts/{contactId}/block`), the blocklist shows him (ours and
//! the sandbox's), his messages stop reaching her while the block holds
//! (the sandbox drops them, as WhatsApp does) and arrive again after
//! `…/unblock`; the contact list flags him; `CONTACT_BLOCKED`,
//! `CONTACT_NOT_BLOCKED`, `CONTACT_NOT_FOUND` and a group id refused.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn send_text(api: &Api, session: &str, to: &str, text: &str) -> String {
    let (status, body) = api
        .post(
            &format!("/api/sessions/{session}/messages/send-text"),
            json!({ "chatId": to, "text": text }),
        )
        .await;
    assert!((200..300).contains(&status), "send {text:?}: {body}");
    body["data"]["messageId"]
        .as_str()
        .or_else(|| body["data"]["id"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn received(api: &Api, session: &str, chat: &str, text: &str) {
    eventually(
        &format!("{text:?} in the history"),
        Duration::from_secs(60),
        || async {
            history(api, session, chat)
                .await
                .iter()
                .any(|m| m["body"] == text && m["fromMe"] == false)
                .then_some(())
        },
    )
    .await
}

async fn sandbox_json(sandbox: &wagate_sandbox::Sandbox, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sandbox.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn block_and_unblock_a_contact() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628777000001", "Alice").await;
    let bob = create_phone(&sandbox, "628777000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (alice_id, bob_id) = ("628777000001@c.us", "628777000002@c.us");
    let blocked = |s: &str| format!("/api/sessions/{s}/contacts/blocked");

    // Nobody is blocked; Bob writes and Alice hears him.
    let (status, body) = api.get(&blocked(&a)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!([]));
    send_text(&api, &b, alice_id, "before the block").await;
    received(&api, &a, bob_id, "before the block").await;

    // Alice blocks Bob (by any spelling of his number).
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/628777000002/block"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({ "id": bob_id, "isBlocked": true }));
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/{bob_id}/block"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("CONTACT_BLOCKED")),
        "{body}"
    );
    let (_, body) = api.get(&blocked(&a)).await;
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["id"], bob_id);
    assert!(rows[0]["blockedAt"].as_i64().is_some(), "{body}");
    // The block is WhatsApp's (the sandbox's), not only the gateway's.
    let list = sandbox_json(&sandbox, "/admin/phones/628777000001/blocklist").await;
    assert_eq!(list[0]["phone"], "628777000002", "{list}");
    // Blocking is one-way: Bob's list is empty.
    let (_, body) = api.get(&blocked(&b)).await;
    assert_eq!(body["data"], json!([]));
    // The contact list flags him.
    let (status, body) = api.get(&format!("/api/sessions/{a}/contacts")).await;
    assert_eq!(status, 200, "{body}");
    let row = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == bob_id)
        .cloned()
        .unwrap_or_else(|| panic!("Bob is in Alice's contacts: {body}"));
    assert_eq!(row["isBlocked"], true);
    assert_eq!(row["pushName"], "Bob");

    // Alice cannot write to him while he is blocked.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": bob_id, "text": "are you there?" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("MESSAGE_BLOCKED_CONTACT")),
        "{body}"
    );

    // Bob writes while blocked: the server takes it (his send succeeds)
    // and never hands it to Alice.
    send_text(&api, &b, alice_id, "while blocked").await;
    eventually(
        "the sandbox to drop the blocked message",
        Duration::from_secs(60),
        || async {
            let log = sandbox_json(
                &sandbox,
                "/admin/messages?from=628777000002&to=628777000001",
            )
            .await;
            log.as_array()?
                .iter()
                .any(|e| e["kind"] == "blocked")
                .then_some(())
        },
    )
    .await;

    // Errors: a number not on WhatsApp, a group, unblocking someone who
    // is not blocked.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/628777999999/block"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("CONTACT_NOT_FOUND")),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/1203630-1700000000@g.us/block"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_INVALID_CHAT_ID")),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/contacts/{alice_id}/unblock"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("CONTACT_NOT_BLOCKED")),
        "{body}"
    );

    // Unblocked, Bob is heard again; what he sent meanwhile never arrives
    // (it would have come before this one).
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/{bob_id}/unblock"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({ "id": bob_id, "isBlocked": false }));
    let (_, body) = api.get(&blocked(&a)).await;
    assert_eq!(body["data"], json!([]));
    send_text(&api, &a, bob_id, "unblocked you").await;
    send_text(&api, &b, alice_id, "after the unblock").await;
    received(&api, &a, bob_id, "after the unblock").await;
    let bodies: Vec<Value> = history(&api, &a, bob_id)
        .await
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert!(
        !bodies.contains(&json!("while blocked")),
        "a blocked contact's message reached the blocker: {bodies:?}"
    );
    let (_, body) = api.get(&format!("/api/sessions/{a}/contacts")).await;
    let row = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == bob_id)
        .cloned()
        .unwrap();
    assert_eq!(row["isBlocked"], false);
    gw.stop();
}

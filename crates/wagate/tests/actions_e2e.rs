//! Locations, contacts, reactions, replies, edits and deletes for everyone,
//! end to end through HTTP only: two sessions paired in the sandbox send
//! each other every kind, and the receiving side's history and events show
//! the right `type`, `quotedMessageId`, `message.edited` and
//! `message.revoked`.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn find(api: &Api, session: &str, chat: &str, pick: impl Fn(&Value) -> bool) -> Value {
    eventually("a message in the history", WAIT, || async {
        history(api, session, chat)
            .await
            .into_iter()
            .find(|m| pick(m))
    })
    .await
}

/// The WhatsApp id at the end of a contract message id.
fn wa(id: &Value) -> String {
    id.as_str().unwrap().rsplit('_').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locations_contacts_reactions_edits_and_revokes() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628333000001", "Alice").await;
    let bob = create_phone(&sandbox, "628333000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (a_num, b_num) = ("628333000001", "628333000002");

    // A says hi; B sees it.
    let (status, hi) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": b_num, "text": "hi bob" }),
        )
        .await;
    assert_eq!(status, 200, "{hi}");
    let hi_wa = wa(&hi["data"]["messageId"]);
    let hi_at_b = find(&api, &b, a_num, |m| m["body"] == "hi bob").await;

    // B answers with a location that quotes it.
    let (status, loc) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-location"),
            json!({ "chatId": a_num, "latitude": -6.2088, "longitude": 106.8456,
                    "description": "Jakarta, Indonesia",
                    "options": { "quotedMessageId": hi_at_b["id"] } }),
        )
        .await;
    assert_eq!(status, 200, "{loc}");
    let got = find(&api, &a, b_num, |m| m["type"] == "location").await;
    assert_eq!(got["body"], "Jakarta, Indonesia");
    assert_eq!(got["quotedMessageId"], hi_wa.as_str());
    assert_eq!(got["fromMe"], false);

    // A sends a contact card that quotes the location.
    let (status, card) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-contact"),
            json!({ "chatId": b_num, "contact": { "name": "John Doe", "phone": "+62 898-7654-321" },
                    "options": { "quotedMessageId": got["id"] } }),
        )
        .await;
    assert_eq!(status, 200, "{card}");
    let got = find(&api, &b, a_num, |m| m["type"] == "vcard").await;
    assert_eq!(got["body"], "John Doe");
    assert_eq!(
        got["quotedMessageId"],
        wa(&loc["data"]["messageId"]).as_str()
    );

    // A reply on media too: an image quoting B's location.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(std::iter::repeat_n(5u8, 500));
    let (status, img) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-image"),
            json!({ "chatId": b_num, "caption": "look",
                    "image": { "base64": base64::engine::general_purpose::STANDARD.encode(&jpeg) },
                    "options": { "quotedMessageId": wa(&loc["data"]["messageId"]) } }),
        )
        .await;
    assert_eq!(status, 200, "{img}");
    let got = find(&api, &b, a_num, |m| m["body"] == "look").await;
    assert_eq!(
        got["quotedMessageId"],
        wa(&loc["data"]["messageId"]).as_str()
    );

    // B reacts to A's hi.
    let (status, r) = api
        .post(
            &format!("/api/sessions/{b}/messages/react"),
            json!({ "messageId": hi_at_b["id"], "emoji": "👍" }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let got = find(&api, &a, b_num, |m| m["type"] == "reaction").await;
    assert_eq!(got["body"], "👍");
    assert_eq!(got["quotedMessageId"], hi_wa.as_str());

    // A edits its hi: B's history shows the new text, with message.edited.
    let (status, e) = api
        .post(
            &format!("/api/sessions/{a}/messages/edit"),
            json!({ "messageId": hi["data"]["messageId"], "text": "hi bob (edited)" }),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["data"]["status"], "edited");
    find(&api, &b, a_num, |m| m["body"] == "hi bob (edited)").await;
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.edited" && v["sessionId"] == b.as_str()
    })
    .await;
    assert_eq!(ev["data"]["body"], "hi bob (edited)");
    assert_eq!(ev["data"]["previousBody"], "hi bob");

    // Not allowed: editing or deleting someone else's message (1:1),
    // editing a location, unknown messages, bad coordinates.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/messages/edit"),
            json!({ "messageId": hi_at_b["id"], "text": "mine now" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/messages/revoke"),
            json!({ "messageId": hi_at_b["id"] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/messages/edit"),
            json!({ "messageId": loc["data"]["messageId"], "text": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = api
        .delete(&format!(
            "/api/sessions/{a}/messages/true_{b_num}@c.us_3EB0NOPE"
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("MESSAGE_NOT_FOUND"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-location"),
            json!({ "chatId": b_num, "latitude": 91.0, "longitude": 0.0 }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-contact"),
            json!({ "chatId": b_num, "contact": { "name": "X", "phone": "abc" } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    // A deletes its hi for everyone (DELETE form): both histories say
    // revoked, and B gets message.revoked.
    let (status, d) = api
        .delete(&format!(
            "/api/sessions/{a}/messages/{}",
            hi["data"]["messageId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["data"]["status"], "revoked");
    let gone = find(&api, &b, a_num, |m| {
        m["id"] == hi_at_b["id"] && m["type"] == "revoked"
    })
    .await;
    assert!(gone["body"].is_null());
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.revoked" && v["sessionId"] == b.as_str()
    })
    .await;
    assert_eq!(ev["data"]["messageId"], hi_at_b["id"]);
    assert_eq!(ev["data"]["revokedBy"], format!("{a_num}@c.us").as_str());
    let mine = history(&api, &a, b_num).await;
    assert!(
        mine.iter()
            .any(|m| m["id"] == hi["data"]["messageId"] && m["type"] == "revoked")
    );
    // And the POST form for the contact card.
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/messages/revoke"),
            json!({ "messageId": card["data"]["messageId"] }),
        )
        .await;
    assert_eq!(status, 200);
    find(&api, &b, a_num, |m| {
        m["type"] == "revoked" && m["id"] != hi_at_b["id"]
    })
    .await;

    gw.stop();
}

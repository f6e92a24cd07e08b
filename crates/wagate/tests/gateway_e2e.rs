//! The walking skeleton, end to end, driving only HTTP: sessions paired in
//! the sandbox through the API, a text from A to B, a gateway restart that
//! brings both back without a QR, logout and pairing again, and the
//! contract's error codes. The same story runs on SQLite and PostgreSQL.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_story_on_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_story_on_postgres() {
    story(Db::postgres().await).await;
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628111000001", "Alice").await;
    let bob = create_phone(&sandbox, "628111000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());

    // Two sessions, paired by QR through the API and the sandbox's phone.
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (_, got) = api.get(&format!("/api/sessions/{a}")).await;
    assert_eq!(got["data"]["phoneNumber"], "628111000001");
    assert!(got["data"]["connectedAt"].is_string());

    // A sends a text to B's number; B's history shows it.
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628111000002@c.us", "text": "hello bob" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let message_id = sent["data"]["messageId"].as_str().unwrap().to_string();
    assert!(
        message_id.starts_with("true_628111000002@c.us_"),
        "{message_id}"
    );
    eventually("bob sees alice's text", Duration::from_secs(30), || async {
        let (_, h) = api
            .get(&format!("/api/sessions/{b}/chats/628111000001/messages"))
            .await;
        let found = h["data"].as_array()?.iter().any(|m| {
            m["body"] == "hello bob" && m["fromMe"] == false && m["from"] == "628111000001@c.us"
        });
        found.then_some(())
    })
    .await;
    let (_, h) = api
        .get(&format!(
            "/api/sessions/{a}/chats/628111000002@s.whatsapp.net/messages"
        ))
        .await;
    assert_eq!(h["data"][0]["body"], "hello bob");
    assert_eq!(h["data"][0]["fromMe"], true);

    // Restart the gateway process: both come back CONNECTED with no QR.
    gw.stop();
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    api.wait_status(&b, "CONNECTED").await;

    // Logout A: DISCONNECTED, then pair again with a new QR.
    let (status, _) = api
        .post(&format!("/api/sessions/{a}/logout"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.session_status(&a).await, "DISCONNECTED");
    pair(&api, &a, &alice).await;

    error_cases(&api, &b).await;
    gw.stop();
}

async fn error_cases(api: &Api, connected: &str) {
    // No key.
    let (status, body) = api.without_key().get("/api/sessions").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    assert_eq!(body["success"], false);

    // Another tenant's session is a 404.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = Api {
        base: api.base.clone(),
        key: Some(t["data"]["apiKey"].as_str().unwrap().to_string()),
        http: reqwest::Client::new(),
    };
    let (status, body) = other.get(&format!("/api/sessions/{connected}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "SESSION_NOT_FOUND");
    let (_, list) = other.get("/api/sessions").await;
    assert_eq!(list["pagination"]["total"], 0);

    // A bad chatId.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{connected}/messages/send-text"),
            json!({ "chatId": "not-a-number", "text": "x" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "MESSAGE_INVALID_CHAT_ID");

    // A session that is not connected.
    let (status, created) = other
        .post("/api/sessions", json!({ "name": "unpaired" }))
        .await;
    assert_eq!(status, 201);
    let unpaired = created["data"]["id"].as_str().unwrap();
    let (status, body) = other
        .post(
            &format!("/api/sessions/{unpaired}/messages/send-text"),
            json!({ "chatId": "628111000001", "text": "x" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "SESSION_NOT_READY");

    // A duplicate name.
    let (status, body) = other
        .post("/api/sessions", json!({ "name": "unpaired" }))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "SESSION_ALREADY_EXISTS");

    // Malformed JSON answers in the envelope.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/sessions", api.base))
        .header("X-API-Key", api.key.as_deref().unwrap())
        .header("Content-Type", "application/json")
        .header("X-Request-ID", "req_42")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(body["meta"]["requestId"], "req_42");
}

//! Pairing by phone number, and a banned number ending its retry loop with
//! a status that says so.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pairing_code_links_a_session() {
    let sandbox = start_sandbox().await;
    let carol = create_phone(&sandbox, "628111000003", "Carol").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);

    let (status, created) = api.post("/api/sessions", json!({ "name": "carol" })).await;
    assert_eq!(status, 201);
    let id = created["data"]["id"].as_str().unwrap().to_string();

    // A malformed number is a validation error.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{id}/pair-code"),
            json!({ "phoneNumber": "abc" }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");

    let (status, body) = api
        .post(
            &format!("/api/sessions/{id}/pair-code"),
            json!({ "phoneNumber": "+62 811-1000-003" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let code = body["data"]["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8, "{code}");

    // The phone enters the code.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/admin/phones/{}/pair-code",
            sandbox.http_url(),
            carol.number
        ))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    api.wait_status(&id, "CONNECTED").await;
    let (_, got) = api.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(got["data"]["phoneNumber"], "628111000003");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_banned_number_stops_retrying_and_says_so() {
    let sandbox = start_sandbox().await;
    let dave = create_phone(&sandbox, "628111000004", "Dave").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let id = create_and_pair(&api, "dave", &dave).await;

    let resp = reqwest::Client::new()
        .post(format!(
            "{}/admin/phones/{}/ban",
            sandbox.http_url(),
            dave.number
        ))
        .json(&json!({ "seconds": 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    api.wait_status(&id, "FAILED").await;
    let (_, got) = api.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(got["data"]["statusReason"], "banned");

    // It stays FAILED: no retry loop brings it back to CONNECTING.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(api.session_status(&id).await, "FAILED");

    // Sending answers with the contract's code.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{id}/messages/send-text"),
            json!({ "chatId": "628111000001", "text": "x" }),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "SESSION_BANNED");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_regenerated_qr_replaces_the_old_one_and_pairs() {
    // Step 1: a session shows a QR.
    let sandbox = start_sandbox().await;
    let phone = create_phone(&sandbox, "628561000001", "Fresh").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let (status, created) = api.post("/api/sessions", json!({ "name": "fresh" })).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let first = eventually("a first QR", Duration::from_secs(60), || async {
        let (status, body) = api.get(&format!("/api/sessions/{id}/qr")).await;
        (status == 200).then(|| body["data"]["code"].as_str().unwrap().to_string())
    })
    .await;

    // Step 2: regenerating starts the flow over with a new code.
    let (status, again) = api
        .post(&format!("/api/sessions/{id}/qr/regenerate"), json!({}))
        .await;
    assert_eq!(status, 200, "{again}");
    let second = again["data"]["code"].as_str().unwrap().to_string();
    assert_ne!(first, second, "a new code");
    assert!(
        again["data"]["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );

    // Step 3: the new code pairs; a connected session has none to regenerate.
    phone.scan(&second).await;
    api.wait_status(&id, "CONNECTED").await;
    let (status, refused) = api
        .post(&format!("/api/sessions/{id}/qr/regenerate"), json!({}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "SESSION_QR_EXPIRED");
    gw.stop();
}

//! Number checks and recipient validation, end to end through HTTP only:
//! `GET …/contacts/check/{phone}`, the batch `POST …/contacts/check`, sends
//! to numbers that are not on WhatsApp refused with
//! `MESSAGE_NUMBER_NOT_ON_WHATSAPP`, and `VALIDATE_RECIPIENTS=false`
//! turning that off.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn number_checks_and_recipient_validation() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000001", "Alice").await;
    let bob = create_phone(&sandbox, "628444000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    create_and_pair(&api, "bob", &bob).await;
    let nobody = "628444999999";

    // One number.
    let (status, body) = api
        .get(&format!("/api/sessions/{a}/contacts/check/628444000002"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["exists"], true);
    assert_eq!(body["data"]["chatId"], "628444000002@c.us");
    let (status, body) = api
        .get(&format!("/api/sessions/{a}/contacts/check/{nobody}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["exists"], false);
    assert!(body["data"]["chatId"].is_null());
    let (status, body) = api
        .get(&format!("/api/sessions/{a}/contacts/check/not-a-phone"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    // A batch, answered in order, duplicates and formatting included.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/check"),
            json!({ "phones": ["628444000002", nobody, "+62 844-4000-002"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["phone"], "628444000002");
    assert_eq!(rows[0]["exists"], true);
    assert_eq!(rows[1]["exists"], false);
    assert_eq!(rows[2]["phone"], "+62 844-4000-002");
    assert_eq!(rows[2]["chatId"], "628444000002@c.us");
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/contacts/check"),
            json!({ "phones": [] }),
        )
        .await;
    assert_eq!(status, 400);

    // Sends to a number that is not on WhatsApp are refused, for every kind.
    for (path, body) in [
        ("send-text", json!({ "chatId": nobody, "text": "hello?" })),
        (
            "send-location",
            json!({ "chatId": format!("{nobody}@c.us"), "latitude": 1.0, "longitude": 2.0 }),
        ),
        (
            "send-contact",
            json!({ "chatId": nobody, "contact": { "name": "Me", "phone": "628444000001" } }),
        ),
        (
            "send-image",
            json!({ "chatId": nobody, "image": { "base64": "data:image/png;base64,iVBORw0KGgoAAAAA" } }),
        ),
    ] {
        let (status, res) = api
            .post(&format!("/api/sessions/{a}/messages/{path}"), body)
            .await;
        assert_eq!(
            (status, res["error"]["code"].as_str()),
            (400, Some("MESSAGE_NUMBER_NOT_ON_WHATSAPP")),
            "{path}: {res}"
        );
    }
    // A registered number still goes through.
    let (status, res) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628444000002", "text": "hi" }),
        )
        .await;
    assert_eq!(status, 200, "{res}");

    // With VALIDATE_RECIPIENTS=false the check is not made.
    gw.stop();
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[("VALIDATE_RECIPIENTS", "false".to_string())],
    );
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    let (_, res) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": nobody, "text": "hello?" }),
        )
        .await;
    assert_ne!(
        res["error"]["code"].as_str(),
        Some("MESSAGE_NUMBER_NOT_ON_WHATSAPP"),
        "{res}"
    );
    gw.stop();
}

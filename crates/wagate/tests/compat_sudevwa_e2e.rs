//! Seed 000's webhook setting, unchanged: a SUDEVWA client calls
//! `POST /api/instances/{id}/webhook-setconfig` with its Bearer token, gets
//! the generated secret once, and its receiver gets `incoming_message`
//! pushes whose `X-SUDEVWA-Signature` is the HMAC-SHA256 of the raw body.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sudevwa_receiver_gets_signed_incoming_messages() {
    // Step 1: an instance (a paired session) and someone who writes to it.
    let sandbox = start_sandbox().await;
    let inst_phone = create_phone(&sandbox, "628562000001", "Instance").await;
    let writer_phone = create_phone(&sandbox, "628562000002", "John Doe").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let instance = create_and_pair(&api, "instance123", &inst_phone).await;
    let writer = create_and_pair(&api, "writer", &writer_phone).await;

    // Step 2: SUDEVWA's client sets the webhook with its Bearer token and no
    // secret: one is generated and shown.
    let receiver = Receiver::start("/wa-webhook").await;
    let url = receiver.url.clone();
    let http = reqwest::Client::new();
    let set = |body: Value| {
        let http = http.clone();
        let base = gw.base.clone();
        let instance = instance.clone();
        async move {
            let r = http
                .post(format!("{base}/api/instances/{instance}/webhook-setconfig"))
                .bearer_auth(ADMIN_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, answer) = set(json!({ "url": url })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["instanceId"], instance.as_str());
    assert_eq!(answer["webhookUrl"], url.as_str());
    let generated = answer["secret"].as_str().unwrap().to_string();
    assert_eq!(generated.len(), 64, "{answer}");
    assert!(generated.chars().all(|c| c.is_ascii_hexdigit()));

    // Step 3: called again with its own secret, it replaces the first.
    let secret = "5513de0882c755985f4bb358e5cf027cb10e48a23a377cf77888e310b74aef21";
    let (status, answer) = set(json!({ "url": url, "secret": secret })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["secret"], secret);
    let (_, hooks) = api.get(&format!("/api/sessions/{instance}/webhooks")).await;
    assert_eq!(hooks["data"].as_array().unwrap().len(), 1, "{hooks}");
    assert_eq!(hooks["data"][0]["format"], "sudevwa");
    assert!(!hooks.to_string().contains(secret), "never shown again");

    // Step 4: a message arrives; the receiver gets SUDEVWA's payload, signed.
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{writer}/messages/send-text"),
            json!({ "chatId": "628562000001@c.us", "text": "Hello World" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let push = receiver.first("the push", |_| true).await;
    let sig = Receiver::header(&push, "x-sudevwa-signature");
    let body = push.0;
    assert_eq!(sig, hmac_hex(secret, &body), "signed with the secret");
    let push: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(push["event"], "incoming_message");
    let d = &push["data"];
    assert_eq!(d["instance_id"], instance.as_str());
    assert_eq!(d["from"], "628562000002@s.whatsapp.net");
    assert_eq!(d["from_me"], false);
    assert_eq!(d["message"], "Hello World");
    assert_eq!(d["is_group"], false);
    assert!(d["timestamp"].as_i64().unwrap() > 1_700_000_000);
    assert!(!d["message_id"].as_str().unwrap().contains('_'), "{d}");
    assert_eq!(d["push_name"], "John Doe");

    // Step 5: another tenant's key cannot set it.
    let (_, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    let other = t["data"]["apiKey"].as_str().unwrap().to_string();
    let r = http
        .post(format!(
            "{}/api/instances/{instance}/webhook-setconfig",
            gw.base
        ))
        .bearer_auth(&other)
        .json(&json!({ "url": url }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    gw.stop();
}

//! Seed 003's client story, unchanged, against `/compat/microservice`: a
//! SaaS backend creates a session with its own id, shows the QR, sends
//! text and an image, reads the history and the live SSE stream, pulls its
//! statistics, and its webhook receiver gets the microservice's events
//! with its headers and signature.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The microservice's client: `X-Api-Key`, its base URL.
struct Client {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Api-Key", &self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seed_003_client_works_unchanged_against_compat_microservice() {
    // Step 1: a gateway, a tenant (the SaaS), its number and a customer.
    let sandbox = start_sandbox().await;
    let support_phone = create_phone(&sandbox, "628563000001", "Support").await;
    let customer_phone = create_phone(&sandbox, "628563000002", "Customer").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let admin = gw.api(ADMIN_KEY);
    let (_, t) = admin
        .post("/api/tenants", json!({ "name": "mysaas" }))
        .await;
    let key = t["data"]["apiKey"].as_str().unwrap().to_string();
    let ms = Client {
        base: format!("{}/compat/microservice", gw.base),
        key: key.clone(),
        http: reqwest::Client::new(),
    };
    let customer = create_and_pair(&admin, "customer", &customer_phone).await;

    // Step 2: it creates its session with its own id, and shows the QR.
    let (status, created) = ms
        .post(
            "/tenant/sessions",
            json!({ "session_id": "main", "name": "Main WhatsApp Number",
                    "description": "Primary customer support line" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["session"]["session_id"], "main");
    assert_eq!(
        created["session"]["description"],
        "Primary customer support line"
    );
    let (status, dup) = ms
        .post("/tenant/sessions", json!({ "session_id": "main" }))
        .await;
    assert_eq!(status, 409, "{dup}");
    let qr = eventually("a QR", Duration::from_secs(60), || async {
        let (status, body) = ms.get("/session/main/qr").await;
        (status == 200).then_some(body)
    })
    .await;
    assert!(
        qr["qr_image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png")
    );
    support_phone.scan(qr["qr"].as_str().unwrap()).await;
    eventually("connected", Duration::from_secs(60), || async {
        let (_, s) = ms.get("/session/main/status").await;
        (s["status"] == "connected").then_some(())
    })
    .await;
    let (_, s) = ms.get("/session/main/status").await;
    assert_eq!(s["phone_number"], "628563000001");

    // Step 3: its webhook receiver (the microservice format) and its SSE
    // stream listen.
    let receiver = Receiver::start("/webhooks/whatsapp").await;
    let hook_url = receiver.url.clone();
    let (_, listed) = gw.api(&key).get("/api/sessions").await;
    let native = listed["data"][0]["id"].as_str().unwrap().to_string();
    let secret = "ms-webhook-secret";
    let (status, hook) = gw
        .api(&key)
        .post(
            &format!("/api/sessions/{native}/webhooks"),
            json!({ "url": hook_url, "secret": secret, "format": "microservice" }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let stream_text: Arc<Mutex<String>> = Arc::default();
    let sink = stream_text.clone();
    let sse = reqwest::Client::new()
        .get(format!("{}/session/main/messages/stream", ms.base))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status().as_u16(), 200);
    tokio::spawn(async move {
        let mut body = sse.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    });

    // Step 4: it sends a text and an image; the customer gets both.
    let (status, sent) = ms
        .post(
            "/session/main/send",
            json!({ "to": "628563000002", "message": "Your ticket #1234 has been resolved." }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["success"], true);
    assert!(!sent["message_id"].as_str().unwrap().contains('@'));
    use base64::Engine as _;
    let image = base64::engine::general_purpose::STANDARD.encode(jpeg(4096, 7));
    let (status, sent) = ms
        .post(
            "/session/main/send-image",
            json!({ "to": "628563000002", "image": image, "caption": "Show this QR at pickup point" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let (status, missing) = ms
        .post("/session/main/send-image", json!({ "to": "628563000002" }))
        .await;
    assert_eq!(status, 400, "{missing}");
    let texts = received_at_least(&admin, &customer, "628563000001@c.us", 2).await;
    assert!(
        texts.contains(&"Your ticket #1234 has been resolved.".to_string()),
        "{texts:?}"
    );

    // Step 5: the customer answers; history, tenant messages and the SSE
    // stream have it, under the client's own session id.
    let (status, _) = admin
        .post(
            &format!("/api/sessions/{customer}/messages/send-text"),
            json!({ "chatId": "628563000001@c.us", "text": "thanks!" }),
        )
        .await;
    assert_eq!(status, 200);
    let history = eventually(
        "the answer in the history",
        Duration::from_secs(30),
        || async {
            let (_, h) = ms.get("/session/main/messages?limit=50").await;
            let list = h["messages"].as_array().cloned().unwrap_or_default();
            list.iter()
                .any(|m| m["message"] == "thanks!")
                .then_some(list)
        },
    )
    .await;
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().all(|m| m["session_id"] == "main"));
    let image_item = history.iter().find(|m| m["type"] == "image").unwrap();
    let media_url = image_item["media_url"].as_str().unwrap().to_string();
    let last = history.last().unwrap()["seq"].as_i64().unwrap();
    let (_, after) = ms
        .get(&format!("/session/main/messages?after={last}"))
        .await;
    assert_eq!(after["messages"], json!([]));
    let (_, all) = ms.get("/tenant/messages").await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 3);
    eventually(
        "the SSE stream carries it",
        Duration::from_secs(30),
        || async {
            stream_text
                .lock()
                .unwrap()
                .contains("thanks!")
                .then_some(())
        },
    )
    .await;
    let file = reqwest::Client::new()
        .get(format!("{}{}", gw.base, media_url))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 200, "{media_url}");
    let bytes = file.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "the JPEG it sent");

    // Step 6: its statistics count the calls, messages and sessions.
    let (status, stats) = ms.get("/tenant/stats").await;
    assert_eq!(status, 200, "{stats}");
    let st = &stats["stats"];
    assert!(st["apiCalls"].as_i64().unwrap() > 5, "{st}");
    assert_eq!(st["messagesOut"], 2);
    assert_eq!(st["messagesIn"], 1);
    assert_eq!(st["sessions"]["CONNECTED"], 1);

    // Step 7: the receiver got the microservice's events, signed.
    let received = receiver
        .first("message.received", |(_, h)| {
            h["x-webhook-event"] == "message.received"
        })
        .await;
    let (body, headers) = received;
    assert_eq!(headers["x-webhook-source"], "wagate");
    assert_eq!(headers["x-webhook-attempt"], "1");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-webhook-signature"], expected.as_str());
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "message.received");
    assert_eq!(event["session_id"], "main");
    assert_eq!(event["data"]["message"], "thanks!");
    assert_eq!(event["data"]["from"], "628563000002@c.us");
    assert!(
        receiver
            .hits()
            .iter()
            .any(|(_, h)| h["x-webhook-event"] == "message.sent"),
        "message.sent delivered too"
    );

    // Step 8: it deletes the session; it is gone.
    let (status, gone) = ms
        .call(reqwest::Method::DELETE, "/session/main", None)
        .await;
    assert_eq!(status, 200, "{gone}");
    let (status, _) = ms.get("/session/main/status").await;
    assert_eq!(status, 404);
    gw.stop();
}

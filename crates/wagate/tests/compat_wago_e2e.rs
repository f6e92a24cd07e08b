//! Seed 002's client flow, unchanged, against `/compat/wago`: a WAGO user
//! points its OTP client and its webhook receiver at wagate and nothing
//! else changes.
//!
//! Story: a tenant with one paired number (the OTP sender) adds a webhook
//! in `wago` format. Its client checks `/health`, sends a text and an OTP
//! with a `%s` template (`X-API-Key`), the customer's phone gets both; the
//! customer answers; the client pulls `/messages?after=` in WAGO's item
//! shape, and the receiver gets WAGO's push, whose `X-Wago-Signature`
//! verifies with seed 002's own Node.js snippet.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Seed 002's verification snippet, run by node on a captured delivery.
const SEED_002_VERIFY: &str = r#"
import crypto from "node:crypto";
import fs from "node:fs";
function isValid(req, secret) {
  const sig = req.headers["x-wago-signature"];
  const body = JSON.stringify(req.body);
  const h = crypto.createHmac("sha256", secret).update(body).digest("hex");
  return crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(h));
}
const raw = fs.readFileSync(process.argv[2], "utf8");
const req = { headers: { "x-wago-signature": process.argv[3] }, body: JSON.parse(raw) };
process.exit(isValid(req, process.argv[4]) ? 0 : 1);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wago_client_and_receiver_work_unchanged_against_compat_wago() {
    // Step 1: the OTP number (a tenant's only session) and a customer.
    let sandbox = start_sandbox().await;
    let shop_phone = create_phone(&sandbox, "628559000001", "Shop").await;
    let customer_phone = create_phone(&sandbox, "628559000002", "Customer").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let admin = gw.api(ADMIN_KEY);
    let (status, t) = admin.post("/api/tenants", json!({ "name": "shop" })).await;
    assert_eq!(status, 201, "{t}");
    let key = t["data"]["apiKey"].as_str().unwrap().to_string();
    let shop = gw.api(&key);
    let otp = create_and_pair(&shop, "otp", &shop_phone).await;
    let customer = create_and_pair(&admin, "customer", &customer_phone).await;

    // Step 2: the tenant's webhook speaks WAGO.
    let receiver = Receiver::start("/hook").await;
    let hook_url = receiver.url.clone();
    let secret = "whsec_123abc";
    let (status, hook) = shop
        .post(
            &format!("/api/sessions/{otp}/webhooks"),
            json!({ "url": hook_url, "secret": secret, "format": "wago" }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    assert_eq!(hook["data"]["format"], "wago");

    // Step 3: the WAGO client, base URL changed, nothing else.
    let wago = format!("{}/compat/wago", gw.base);
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{wago}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({ "ok": true }));
    let sent = http
        .post(format!("{wago}/send-text"))
        .header("X-API-Key", &key)
        .json(&json!({ "to": "628559000002", "text": "Halo dari API 🎯" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let sent: Value = sent.json().await.unwrap();
    let message_id = sent["message_id"].as_str().unwrap();
    assert!(
        !message_id.is_empty() && !message_id.contains('@'),
        "{sent}"
    );
    let otp_sent = http
        .post(format!("{wago}/send-otp"))
        .header("X-API-Key", &key)
        .json(&json!({ "to": "628559000002", "code": "654321", "template": "[MyApp] OTP: %s (5 menit)" }))
        .send()
        .await
        .unwrap();
    assert_eq!(otp_sent.status().as_u16(), 200);
    let texts = received_at_least(&admin, &customer, "628559000001@c.us", 2).await;
    assert!(texts.contains(&"Halo dari API 🎯".to_string()), "{texts:?}");
    assert!(
        texts.contains(&"[MyApp] OTP: 654321 (5 menit)".to_string()),
        "{texts:?}"
    );
    let refused = http
        .post(format!("{wago}/send-text"))
        .header("X-API-Key", "not-a-key")
        .json(&json!({ "to": "628559000002", "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    // Step 4: the customer answers; the client pulls it in WAGO's shape.
    let (status, reply) = admin
        .post(
            &format!("/api/sessions/{customer}/messages/send-text"),
            json!({ "chatId": "628559000001@c.us", "text": "halo" }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let pull = |query: String| {
        let http = http.clone();
        let key = key.clone();
        let wago = wago.clone();
        async move {
            let resp = http
                .get(format!("{wago}/messages{query}"))
                .header("X-API-Key", &key)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.json::<Vec<Value>>().await.unwrap()
        }
    };
    let items = eventually(
        "the answer is in /messages",
        Duration::from_secs(30),
        || async move {
            let items = pull(String::new()).await;
            (!items.is_empty()).then_some(items)
        },
    )
    .await;
    assert_eq!(items.len(), 1, "only incoming messages: {items:?}");
    let item = &items[0];
    assert_eq!(item["chat_id"], "628559000002@s.whatsapp.net");
    assert_eq!(item["sender_id"], "628559000002@s.whatsapp.net");
    assert_eq!(item["text"], "halo");
    assert_eq!(item["kind"], "conversation");
    assert!(item["timestamp"].as_str().unwrap().ends_with('Z'), "{item}");
    let id = item["id"].as_i64().unwrap();
    assert!(pull(format!("?after={id}&limit=50")).await.is_empty());
    assert_eq!(
        pull("?chat=628559000002@s.whatsapp.net".to_string())
            .await
            .len(),
        1
    );
    assert!(
        pull("?chat=628559000099@s.whatsapp.net".to_string())
            .await
            .is_empty()
    );

    // Step 5: the receiver got WAGO's push, and seed 002's snippet trusts it.
    let push = receiver.first("the wago push", |_| true).await;
    let sig = Receiver::header(&push, "x-wago-signature");
    let body = push.0;
    let push: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(push["text"], "halo");
    assert_eq!(push["chat_id"], "628559000002@s.whatsapp.net");
    assert_eq!(push["kind"], "conversation");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("verify.mjs");
    let raw = dir.path().join("body.json");
    std::fs::write(&script, SEED_002_VERIFY).unwrap();
    std::fs::write(&raw, &body).unwrap();
    let verdict = std::process::Command::new("node")
        .arg(&script)
        .arg(&raw)
        .arg(&sig)
        .arg(secret)
        .status()
        .expect("node runs");
    assert!(
        verdict.success(),
        "seed 002's snippet rejects the signature"
    );
    let forged = std::process::Command::new("node")
        .arg(&script)
        .arg(&raw)
        .arg(&sig)
        .arg("another-secret")
        .status()
        .unwrap();
    assert!(!forged.success());
    // Only incoming messages are pushed: the two sends were not.
    assert_eq!(receiver.hits().len(), 1);
    gw.stop();
}

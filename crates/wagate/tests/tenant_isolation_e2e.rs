//! The tenant matrix, through the real binary: tenant A has paired sessions
//! with messages, a file, a webhook, queued messages, a batch, an outbox
//! worker configuration and a circle; tenant B tries every route of the
//! OpenAPI document, the WebSocket, SSE, files and replay on them, by id
//! and by phone number, and gets 404/403, never data. Then the streams
//! addressed by phone number (which used to stay silent) deliver.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const A1_PHONE: &str = "628555000001";
const A2_PHONE: &str = "628555000002";

async fn new_tenant(api: &Api, name: &str) -> (String, String) {
    let (status, t) = api.post("/api/tenants", json!({ "name": name })).await;
    assert_eq!(status, 201, "{t}");
    (
        t["data"]["tenant"]["id"].as_str().unwrap().to_string(),
        t["data"]["apiKey"].as_str().unwrap().to_string(),
    )
}

/// A body that passes the validation of every route, so that only the
/// ownership check can refuse it.
fn valid_body() -> Value {
    json!({
        "chatId": format!("{A2_PHONE}@c.us"),
        "text": "hi",
        "invite": "https://chat.whatsapp.com/AbCdEfGhIjK",
        "name": "n",
        "subject": "s",
        "description": "d",
        "emoji": "👍",
        "messageId": format!("true_{A2_PHONE}@c.us_3EB0ABCDEF"),
        "latitude": 1.0,
        "longitude": 1.0,
        "contact": { "fullName": "x", "phoneNumber": A2_PHONE },
        "contactName": "x",
        "contactNumber": A2_PHONE,
        "phoneNumber": A2_PHONE,
        "phoneNumbers": [A2_PHONE],
        "phones": [A2_PHONE],
        "participants": [A2_PHONE],
        "image": { "url": "https://example.com/a.jpg" },
        "video": { "url": "https://example.com/a.mp4" },
        "audio": { "url": "https://example.com/a.ogg" },
        "document": { "url": "https://example.com/a.pdf" },
        "sticker": { "url": "https://example.com/a.webp" },
        "messages": [{ "chatId": A2_PHONE, "type": "text", "content": { "text": "x" } }],
        "code": "123456",
        "url": "https://example.com/hook",
        "events": ["*"],
        "fromSeq": 1,
        "presence": "available",
        "state": "composing",
        "inviteCode": "AbCdEfGhIjK",
        "used": true,
        "application": "*",
    })
}

#[tokio::test]
async fn tenant_b_gets_nothing_of_tenant_a() {
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let gw = Gateway::start_with_env(
        dir.path(),
        &url,
        &sandbox,
        &[("RATE_LIMIT_ENABLED", "false".into())],
    );
    let admin = gw.api(ADMIN_KEY);

    // Step 1: tenants A and B; A pairs two sessions and makes resources.
    let (a_tenant, a_key) = new_tenant(&admin, "tenant-a").await;
    let (_b_tenant, b_key) = new_tenant(&admin, "tenant-b").await;
    let a = gw.api(&a_key);
    let b = gw.api(&b_key);
    let p1 = create_phone(&sandbox, A1_PHONE, "A one").await;
    let p2 = create_phone(&sandbox, A2_PHONE, "A two").await;
    let a1 = create_and_pair(&a, "a1", &p1).await;
    let a2 = create_and_pair(&a, "a2", &p2).await;
    let (status, b1) = b.post("/api/sessions", json!({ "name": "b1" })).await;
    assert_eq!(status, 201, "{b1}");
    let b1 = b1["data"]["id"].as_str().unwrap().to_string();

    let jpeg: Vec<u8> = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ]
    .into_iter()
    .chain((0..2000u32).map(|i| (i * 31 % 251) as u8))
    .collect();
    let (status, sent) = a
        .post(
            &format!("/api/sessions/{a1}/messages/send-image"),
            json!({ "chatId": A2_PHONE, "caption": "secret photo", "image": {
                "base64": format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(&jpeg)) } }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let message_id = sent["data"]["messageId"].as_str().unwrap().to_string();
    let (_, history) = a
        .get(&format!("/api/sessions/{a1}/chats/{A2_PHONE}/messages"))
        .await;
    let file_url = history["data"][0]["media"]["url"]
        .as_str()
        .expect("A's sent image has a file")
        .to_string();
    let file_id = file_url.rsplit('/').next().unwrap().to_string();
    let (status, hook) = a
        .post(
            &format!("/api/sessions/{a1}/webhooks"),
            json!({ "url": "https://example.com/a-hook", "events": ["*"] }),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let webhook_id = hook["data"]["id"].as_str().unwrap().to_string();
    let (status, pacing) = a
        .call(
            "PUT",
            &format!("/api/sessions/{a1}/pacing"),
            Some(&json!({ "quietHours": { "start": "00:00", "end": "23:59" } })),
        )
        .await;
    assert_eq!(status, 200, "{pacing}");
    let (status, queued) = a
        .post(
            &format!("/api/sessions/{a1}/messages/send-text?async=true"),
            json!({ "chatId": A2_PHONE, "text": "queued secret" }),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let queue_id = queued["data"]["queueId"].as_str().unwrap().to_string();
    let (status, batch) = a
        .post(
            &format!("/api/sessions/{a1}/messages/send-bulk"),
            json!({ "messages": [{ "chatId": A2_PHONE, "type": "text", "content": { "text": "bulk secret" } }] }),
        )
        .await;
    assert_eq!(status, 202, "{batch}");
    let batch_id = batch["data"]["batchId"].as_str().unwrap().to_string();
    let (status, worker) = a
        .post(
            "/api/outbox/workers",
            json!({ "name": "a-worker", "application": "*" }),
        )
        .await;
    assert_eq!(status, 201, "{worker}");
    let worker_id = worker["data"]["id"].as_i64().unwrap().to_string();
    assert_eq!(worker["data"]["tenantId"], a_tenant.as_str());
    let (status, _) = a
        .call(
            "PATCH",
            &format!("/api/sessions/{a1}"),
            Some(&json!({ "circle": "alpha" })),
        )
        .await;
    assert_eq!(status, 200);

    let (status, room) = a
        .post(
            "/api/warming/rooms",
            json!({
                "name": "a-room",
                "actors": [
                    { "id": "A", "name": "One", "sessionId": a1 },
                    { "id": "B", "name": "Two", "sessionId": a2 },
                ],
                "lines": [{ "actor": "A", "text": "secret line" }],
            }),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["data"]["id"].as_str().unwrap().to_string();
    let (_, lines) = a.get(&format!("/api/warming/rooms/{room_id}/lines")).await;
    let line_id = lines["data"][0]["id"].as_str().unwrap().to_string();

    // What must never show up in an answer to B.
    let secrets = [
        a1.as_str(),
        a2.as_str(),
        A1_PHONE,
        A2_PHONE,
        "secret",
        webhook_id.as_str(),
        queue_id.as_str(),
        batch_id.as_str(),
        file_id.as_str(),
        "a-worker",
        "alpha",
        "a-room",
        room_id.as_str(),
        line_id.as_str(),
    ];
    let refused = |what: &str, status: u16, body: &Value, asked: &str| {
        // Ownership is checked before a body is read: never a 400 that
        // would tell B whether its body suits A's resource.
        assert!(
            status == 403 || status == 404,
            "{what}: B is refused (403/404), got {status}: {body}"
        );
        assert!(body.get("data").is_none(), "{what}: no data: {body}");
        // The error may repeat what B asked for, nothing else of A's.
        let mut text = body.to_string().replace(asked, "");
        for part in asked.split(['/', '?', '&', '=']).filter(|p| p.len() > 2) {
            text = text.replace(part, "");
        }
        for s in secrets {
            assert!(!text.contains(s), "{what}: leaks {s}: {body}");
        }
    };

    // Step 2: every route of the OpenAPI document, with A's ids, as B.
    let (_, doc) = admin.get("/api/docs-json").await;
    let paths = doc["paths"]
        .as_object()
        .expect("the OpenAPI document")
        .clone();
    let params: HashMap<&str, String> = [
        ("webhookId", webhook_id.clone()),
        ("queueId", queue_id.clone()),
        ("batchId", batch_id.clone()),
        ("file_id", file_id.clone()),
        ("chat_id", format!("{A2_PHONE}@c.us")),
        ("group_id", "120363000000000001@g.us".to_string()),
        ("contactId", A2_PHONE.to_string()),
        ("deliveryId", "1".to_string()),
        ("message_id", message_id.clone()),
        ("action", "add".to_string()),
        ("phone", A2_PHONE.to_string()),
        ("name", "alpha".to_string()),
        ("key_id", "key_x".to_string()),
        ("room_id", room_id.clone()),
        ("line_id", line_id.clone()),
    ]
    .into();
    let body = valid_body();
    let mut tried = 0;
    for (template, ops) in &paths {
        if !template.contains('{') {
            continue;
        }
        let ids: Vec<String> =
            if template.contains("/sessions/{id}") || template.starts_with("/api/instances/{id}") {
                vec![a1.clone(), A1_PHONE.to_string(), format!("+{A1_PHONE}")]
            } else if template.starts_with("/compat/microservice/") {
                // The drop-in addresses a session by its name.
                vec!["a1".to_string(), a1.clone()]
            } else if template.starts_with("/api/outbox/workers/{id}") {
                vec![worker_id.clone()]
            } else if template.starts_with("/api/tenants/{id}") {
                vec![a_tenant.clone()]
            } else {
                vec![String::new()]
            };
        for id in &ids {
            let mut path = template.replace("{id}", id);
            for (k, v) in &params {
                path = path.replace(&format!("{{{k}}}"), v);
            }
            for method in ops.as_object().unwrap().keys() {
                let m = method.to_uppercase();
                let with_body = matches!(m.as_str(), "POST" | "PUT" | "PATCH");
                let (status, answer) = b.call(&m, &path, with_body.then_some(&body)).await;
                refused(&format!("{m} {path}"), status, &answer, &path);
                tried += 1;
            }
        }
    }
    assert!(tried > 100, "the matrix covered the API ({tried} calls)");

    // Step 3: B's own session with A's sub-resources.
    for (m, path) in [
        ("GET", format!("/api/sessions/{b1}/webhooks/{webhook_id}")),
        ("PATCH", format!("/api/sessions/{b1}/webhooks/{webhook_id}")),
        (
            "DELETE",
            format!("/api/sessions/{b1}/webhooks/{webhook_id}"),
        ),
        (
            "GET",
            format!("/api/sessions/{b1}/webhooks/{webhook_id}/deliveries"),
        ),
        (
            "POST",
            format!("/api/sessions/{b1}/webhooks/{webhook_id}/replay"),
        ),
        ("GET", format!("/api/sessions/{b1}/queue/{queue_id}")),
        ("DELETE", format!("/api/sessions/{b1}/queue/{queue_id}")),
        (
            "GET",
            format!("/api/sessions/{b1}/messages/batch/{batch_id}"),
        ),
        (
            "POST",
            format!("/api/sessions/{b1}/messages/batch/{batch_id}/cancel"),
        ),
        ("GET", format!("/api/sessions/{b1}/files/{file_id}")),
        (
            "GET",
            format!("/api/sessions/{b1}/chats/{A2_PHONE}/messages"),
        ),
    ] {
        let with_body = matches!(m, "POST" | "PUT" | "PATCH");
        let (status, answer) = b
            .call(
                m,
                &path,
                with_body.then_some(&json!({ "fromSeq": 1, "url": "https://example.com/x" })),
            )
            .await;
        if path.ends_with("/messages") {
            // B's own chat history: allowed, and empty of A's messages.
            assert_eq!(status, 200, "{answer}");
            assert!(!answer.to_string().contains("secret"), "{answer}");
            continue;
        }
        refused(&format!("{m} {path} (B's session)"), status, &answer, &path);
    }

    // Step 4: lists, circles, health, tenants: only B's own.
    let (_, list) = b.get("/api/sessions").await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    let (status, list) = b.get(&format!("/api/sessions?tenantId={a_tenant}")).await;
    refused("GET /api/sessions?tenantId=A", status, &list, &a_tenant);
    let (_, workers) = b.get("/api/outbox/workers").await;
    assert_eq!(workers["data"], json!([]));
    let (_, circles) = b.get("/api/circles").await;
    assert_eq!(circles["data"], json!([]));
    let (_, health) = b.get("/health/detailed").await;
    assert_eq!(health["checks"]["sessions"]["total"], 1, "{health}");
    let (_, health) = admin.get("/health/detailed").await;
    assert_eq!(health["checks"]["sessions"]["total"], 3, "{health}");
    // Circles are per tenant for the admin too.
    let (status, answer) = admin
        .call(
            "PUT",
            "/api/circles/alpha",
            Some(&json!({ "name": "beta" })),
        )
        .await;
    assert_eq!(
        status, 404,
        "the admin's own tenant has no circle alpha: {answer}"
    );
    let (status, answer) = admin
        .call(
            "PUT",
            &format!("/api/circles/alpha?tenantId={a_tenant}"),
            Some(&json!({ "name": "alpha" })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // B naming A with the admin's act-as header changes nothing.
    let (_, list) = send_with(&b, "/api/sessions", ("X-Act-As-Tenant", &a_tenant)).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    // The admin acting as B sees exactly B.
    let (_, list) = send_with(&admin, "/api/sessions", ("X-Act-As-Tenant", &_b_tenant)).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    let (status, _) = send_with(
        &admin,
        &format!("/api/sessions/{A1_PHONE}"),
        ("X-Act-As-Tenant", &_b_tenant),
    )
    .await;
    assert_eq!(status, 404);

    // Step 5: streams. SSE of A's session, by id and number: 404.
    for id in [a1.as_str(), A1_PHONE] {
        let (status, answer) = b.get(&format!("/api/sessions/{id}/events")).await;
        refused("SSE of A's session", status, &answer, id);
    }
    // B's tenant stream, replayed from the start, holds no event of A's.
    let replay = sse_collect(&gw.base, "/api/events", &b_key, "0", Duration::from_secs(3)).await;
    assert!(!replay.is_empty(), "B sees its own session's events");
    for e in &replay {
        assert_eq!(e["sessionId"], b1.as_str(), "only B's events: {e}");
    }
    // The WebSocket: A's session by id or number is not found; "*" with a
    // replay from 0 brings only B's.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ws_request(&gw.base, "/ws?lastSeq=0", &b_key))
            .await
            .unwrap();
    for id in [a1.as_str(), A1_PHONE] {
        ws_send(
            &mut ws,
            json!({ "type": "subscribe", "payload": { "sessionId": id } }),
        )
        .await;
        let f = ws_frame(&mut ws).await;
        assert_eq!(f["type"], "error", "{f}");
        assert_eq!(f["payload"]["code"], "SESSION_NOT_FOUND");
    }
    ws_send(
        &mut ws,
        json!({ "type": "subscribe", "payload": { "sessionId": "*" } }),
    )
    .await;
    let f = ws_frame(&mut ws).await;
    assert_eq!(f["type"], "subscribed", "{f}");
    let replayed = ws_frames_for(&mut ws, Duration::from_secs(3)).await;
    assert!(!replayed.is_empty(), "B's own events are replayed");
    for f in &replayed {
        assert_eq!(f["payload"]["sessionId"], b1.as_str(), "only B's: {f}");
    }
    // /api/listen of A's session: refused before the upgrade.
    for id in [a1.as_str(), A1_PHONE] {
        match tokio_tungstenite::connect_async(ws_request(
            &gw.base,
            &format!("/api/listen/{id}"),
            &b_key,
        ))
        .await
        {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), 404)
            }
            other => panic!("B cannot listen to A's session: {:?}", other.map(|_| ())),
        }
    }

    // Step 6: A's streams addressed by phone number deliver (they used to
    // stay silent). SSE by number, replayed: a2's own events.
    let by_number = sse_collect(
        &gw.base,
        &format!("/api/sessions/{A2_PHONE}/events"),
        &a_key,
        "0",
        Duration::from_secs(3),
    )
    .await;
    assert!(
        !by_number.is_empty(),
        "the stream by phone number replays a2's events"
    );
    assert!(by_number.iter().all(|e| e["sessionId"] == a2.as_str()));
    // /api/listen by number hears a message to a2.
    let (mut listen, _) = tokio_tungstenite::connect_async(ws_request(
        &gw.base,
        &format!("/api/listen/{A2_PHONE}"),
        &a_key,
    ))
    .await
    .unwrap();
    let mut heard = None;
    for _ in 0..10 {
        // a1, addressed by its number, writes to a2.
        let (status, answer) = a
            .post(
                &format!("/api/sessions/{A1_PHONE}/messages/send-text"),
                json!({ "chatId": A2_PHONE, "text": "to a2 by number" }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        if let Ok(f) = tokio::time::timeout(Duration::from_secs(10), ws_frame(&mut listen)).await {
            heard = Some(f);
            break;
        }
    }
    let frame = heard.expect("the listener by phone number hears a2's messages");
    assert_eq!(frame["event"], "incoming_message");
    assert_eq!(frame["data"]["instance_id"], a2.as_str());
    // The WebSocket subscribes by number, keyed by the session id.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&gw.base, "/ws", &a_key))
        .await
        .unwrap();
    ws_send(
        &mut ws,
        json!({ "type": "subscribe", "payload": { "sessionId": A2_PHONE } }),
    )
    .await;
    let f = ws_frame(&mut ws).await;
    assert_eq!(f["type"], "subscribed", "{f}");
    assert_eq!(f["payload"]["sessionId"], a2.as_str());
    gw.stop();
}

async fn send_with(api: &Api, path: &str, header: (&str, &str)) -> (u16, Value) {
    let resp = api
        .http
        .get(format!("{}{path}", api.base))
        .header("X-API-Key", api.key.clone().unwrap())
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ws_request(
    base: &str,
    path: &str,
    key: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("{}{path}", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("X-API-Key", key.parse().unwrap());
    req
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text frame.
async fn ws_frame(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.expect("the socket stays open").unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => continue,
        }
    }
}

/// Every event frame that arrives within `window`.
async fn ws_frames_for(ws: &mut Ws, window: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(window, async {
        loop {
            let f = ws_frame(ws).await;
            if f["type"] == "event" {
                out.push(f);
            }
        }
    })
    .await;
    out
}

/// The events an SSE stream delivers within `window`, resumed after `from`.
async fn sse_collect(
    base: &str,
    path: &str,
    key: &str,
    from: &str,
    window: Duration,
) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("X-API-Key", key)
        .header("Last-Event-ID", from)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let _ = tokio::time::timeout(window, async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

//! Bounded work per request, through the real binary: a bulk template that
//! would expand to megabytes is refused at the text limit; every numeric
//! field, fuzzed with huge and negative values, answers 400
//! `VALIDATION_ERROR` naming the field; a tenant's session quota answers
//! 403 `SESSION_LIMIT_REACHED`; open streams and their filters are capped
//! per tenant; a deleted key's streams close; a client that never finishes
//! its headers is dropped, and past `HTTP_MAX_CONNECTIONS` new connections
//! wait.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A gateway with rate limits off (these tests send many requests).
async fn gateway(env: &[(&str, String)]) -> (wagate_sandbox::Sandbox, tempfile::TempDir, Gateway) {
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let mut env = env.to_vec();
    env.push(("RATE_LIMIT_ENABLED", "false".into()));
    let gw = Gateway::start_with_env(dir.path(), &url, &sandbox, &env);
    (sandbox, dir, gw)
}

/// A raw JSON body (numbers JSON values cannot hold, such as 2^64).
async fn send_raw(api: &Api, method: &str, path: &str, body: Option<String>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = api
        .http
        .request(method, format!("{}{path}", api.base))
        .header("X-API-Key", api.key.clone().unwrap());
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn new_tenant(api: &Api, name: &str) -> (String, String) {
    let (status, t) = api.post("/api/tenants", json!({ "name": name })).await;
    assert_eq!(status, 201, "{t}");
    (
        t["data"]["tenant"]["id"].as_str().unwrap().to_string(),
        t["data"]["apiKey"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn templates_are_bounded_and_every_number_is_range_checked() {
    let (_sandbox, _dir, gw) = gateway(&[]).await;
    let admin = gw.api(ADMIN_KEY);
    let (tenant, _) = new_tenant(&admin, "fuzz").await;
    let (status, s) = admin.post("/api/sessions", json!({ "name": "s" })).await;
    assert_eq!(status, 201, "{s}");
    let sid = s["data"]["id"].as_str().unwrap().to_string();

    // Step 1: 100 placeholders, each a 4 KB variable: 400 KB of text per
    // message, refused at the text limit instead of built.
    let template = "{x}".repeat(100);
    let message = json!({
        "chatId": "628111000001",
        "type": "text",
        "content": { "text": template },
        "variables": { "x": "y".repeat(4096) },
    });
    let (status, body) = admin
        .post(
            &format!("/api/sessions/{sid}/messages/send-bulk"),
            json!({ "messages": vec![message; 100] }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "MESSAGE_TEXT_TOO_LONG");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages[0]"),
        "{body}"
    );

    // Step 2: base64 media in a bulk message is held to the media limit
    // (the limit used to be u64::MAX, and `limit + 3` overflowed: a panic
    // in a debug build, every image refused in a release one).
    let jpeg: Vec<u8> = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ]
    .into_iter()
    .chain((0..2000u32).map(|i| (i * 31 % 251) as u8))
    .collect();
    let image = |b64: String| {
        json!({ "messages": [{
            "chatId": "628111000001",
            "type": "image",
            "content": { "image": { "base64": b64 } },
        }]})
    };
    let (status, body) = admin
        .post(
            &format!("/api/sessions/{sid}/messages/send-bulk"),
            image(base64::engine::general_purpose::STANDARD.encode(&jpeg)),
        )
        .await;
    assert_eq!(status, 202, "a small image is accepted: {body}");
    let (status, body) = admin
        .post(
            &format!("/api/sessions/{sid}/messages/send-bulk"),
            image("A".repeat(8 * 1024 * 1024)),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "MESSAGE_MEDIA_TOO_LARGE");

    // Step 3: every numeric field, fuzzed. `{N}` is replaced by each value.
    let huge = [
        "18446744073709551616",
        "9223372036854775807",
        "1e30",
        "-1",
        "-9223372036854775809",
    ];
    let fields: Vec<(&str, String, &str, &str)> = vec![
        (
            "POST",
            format!("/api/sessions/{sid}/messages/send-bulk"),
            r#"{"messages":[{"chatId":"628111000001","type":"text","content":{"text":"hi"}}],"options":{"delayBetweenMessages":{N}}}"#,
            "delayBetweenMessages",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"minIntervalMs":{N}}"#,
            "minIntervalMs",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"jitterMs":{N}}"#,
            "jitterMs",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"maxPerMinute":{N}}"#,
            "maxPerMinute",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"maxPerHour":{N}}"#,
            "maxPerHour",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"maxPerDay":{N}}"#,
            "maxPerDay",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"dripPerMinute":{N}}"#,
            "dripPerMinute",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"typingMinMs":{N}}"#,
            "typingMinMs",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"typingMaxMs":{N}}"#,
            "typingMaxMs",
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/pacing"),
            r#"{"quietHours":{"start":"22:00","end":"07:00","utcOffsetMinutes":{N}}}"#,
            "utcOffsetMinutes",
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/messages/send-location"),
            r#"{"chatId":"628111000001","latitude":{N},"longitude":0}"#,
            "latitude",
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/messages/send-location"),
            r#"{"chatId":"628111000001","latitude":0,"longitude":{N}}"#,
            "longitude",
        ),
        (
            "POST",
            "/api/outbox/workers".to_string(),
            r#"{"name":"w","application":"*","intervalSeconds":{N}}"#,
            "intervalSeconds",
        ),
        (
            "POST",
            "/api/outbox/workers".to_string(),
            r#"{"name":"w","application":"*","intervalSeconds":1,"intervalMaxSeconds":{N}}"#,
            "intervalMaxSeconds",
        ),
        (
            "PUT",
            format!("/api/tenants/{tenant}/rate-limits"),
            r#"{"send":{N}}"#,
            "send",
        ),
        (
            "PUT",
            format!("/api/tenants/{tenant}/rate-limits"),
            r#"{"session":{N}}"#,
            "session",
        ),
        (
            "PUT",
            format!("/api/tenants/{tenant}/session-limit"),
            r#"{"maxSessions":{N}}"#,
            "maxSessions",
        ),
    ];
    let queries: Vec<(String, &str)> = vec![
        ("/api/sessions?page={N}".to_string(), "page"),
        ("/api/sessions?limit={N}".to_string(), "limit"),
        (
            format!("/api/sessions/{sid}/chats/628111000001@c.us/messages?limit={{N}}"),
            "limit",
        ),
        ("/api/events?lastEventId={N}".to_string(), "lastEventId"),
        (
            format!("/api/sessions/{sid}/events?lastEventId={{N}}"),
            "lastEventId",
        ),
    ];
    for value in huge {
        for (method, path, template, field) in &fields {
            let negative_ok = ["utcOffsetMinutes", "latitude", "longitude"].contains(field);
            if negative_ok && value == "-1" {
                // A legitimate value there (UTC-00:01, 1° south or west).
                continue;
            }
            let body = template.replace("{N}", value);
            let (status, answer) = send_raw(&admin, method, path, Some(body.clone())).await;
            assert_eq!(status, 400, "{method} {path} {body}: {answer}");
            assert_eq!(
                answer["error"]["code"], "VALIDATION_ERROR",
                "{body}: {answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(field),
                "{method} {path} {body}: the error names {field}: {message}"
            );
        }
        for (path, field) in &queries {
            let path = path.replace("{N}", value);
            let (status, answer) = send_raw(&admin, "GET", &path, None).await;
            assert_eq!(status, 400, "GET {path}: {answer}");
            assert_eq!(
                answer["error"]["code"], "VALIDATION_ERROR",
                "{path}: {answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.to_lowercase().contains(&field.to_lowercase()),
                "GET {path}: the error names {field}: {message}"
            );
        }
    }

    // Step 4: the operator's caps are ceilings a session cannot lift.
    let (status, _) = send_raw(
        &admin,
        "PUT",
        &format!("/api/sessions/{sid}/pacing"),
        Some(r#"{"maxPerMinute":0,"minIntervalMs":0}"#.into()),
    )
    .await;
    assert_eq!(status, 200);
    gw.stop();
}

#[tokio::test]
async fn operator_pacing_caps_are_ceilings() {
    let (_sandbox, _dir, gw) = gateway(&[
        ("SEND_MAX_PER_MINUTE", "5".into()),
        ("SEND_MIN_INTERVAL_MS", "1000".into()),
    ])
    .await;
    let api = gw.api(ADMIN_KEY);
    let (_, key) = new_tenant(&api, "pacer").await;
    let tenant = gw.api(&key);
    let (_, s) = tenant.post("/api/sessions", json!({ "name": "p" })).await;
    let sid = s["data"]["id"].as_str().unwrap().to_string();

    // Lifting the caps is ignored; tightening them works.
    let (status, p) = send_raw(
        &tenant,
        "PUT",
        &format!("/api/sessions/{sid}/pacing"),
        Some(r#"{"maxPerMinute":1000,"minIntervalMs":0}"#.into()),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["data"]["effective"]["maxPerMinute"], 5, "{p}");
    assert_eq!(p["data"]["effective"]["minIntervalMs"], 1000, "{p}");
    let (_, p) = send_raw(
        &tenant,
        "PUT",
        &format!("/api/sessions/{sid}/pacing"),
        Some(r#"{"maxPerMinute":2,"minIntervalMs":3000}"#.into()),
    )
    .await;
    assert_eq!(p["data"]["effective"]["maxPerMinute"], 2, "{p}");
    assert_eq!(p["data"]["effective"]["minIntervalMs"], 3000, "{p}");
    gw.stop();
}

#[tokio::test]
async fn a_tenant_session_quota_answers_session_limit_reached() {
    let (_sandbox, _dir, gw) = gateway(&[("MAX_SESSIONS_PER_TENANT", "2".into())]).await;
    let admin = gw.api(ADMIN_KEY);
    let (tenant_id, key) = new_tenant(&admin, "quota").await;
    let tenant = gw.api(&key);

    // Step 1: the server's quota.
    for name in ["one", "two"] {
        let (status, body) = tenant.post("/api/sessions", json!({ "name": name })).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = tenant
        .post("/api/sessions", json!({ "name": "three" }))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "SESSION_LIMIT_REACHED");

    // Step 2: the tenant's own quota wins.
    let limit_path = format!("/api/tenants/{tenant_id}/session-limit");
    let (status, body) = send_raw(
        &admin,
        "PUT",
        &limit_path,
        Some(r#"{"maxSessions":3}"#.into()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["effective"], 3);
    assert_eq!(body["data"]["sessions"], 2);
    let (status, _) = tenant
        .post("/api/sessions", json!({ "name": "three" }))
        .await;
    assert_eq!(status, 201);
    let (status, body) = tenant
        .post("/api/sessions", json!({ "name": "four" }))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "SESSION_LIMIT_REACHED");

    // Step 3: a tenant may not set its own quota; clearing it falls back.
    let (status, _) = send_raw(
        &tenant,
        "PUT",
        &limit_path,
        Some(r#"{"maxSessions":100}"#.into()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = send_raw(
        &admin,
        "PUT",
        &limit_path,
        Some(r#"{"maxSessions":null}"#.into()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["effective"], 2);

    // Step 4: deleting a session frees a place.
    let (_, list) = tenant.get("/api/sessions").await;
    let victim = list["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = tenant.delete(&format!("/api/sessions/{victim}")).await;
    assert_eq!(status, 200);
    let (_, list) = tenant.get("/api/sessions").await;
    assert_eq!(list["pagination"]["total"], 2);
    let (status, _) = tenant
        .post("/api/sessions", json!({ "name": "five" }))
        .await;
    assert_eq!(status, 403, "still at the server's quota of 2");
    gw.stop();
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

/// An open SSE stream (its response, kept alive by holding it).
async fn sse(base: &str, path: &str, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn streams_and_filters_are_capped_and_deleted_keys_close_them() {
    let (_sandbox, _dir, gw) = gateway(&[("STREAMS_MAX_PER_TENANT", "2".into())]).await;
    let admin = gw.api(ADMIN_KEY);
    let (tenant_id, key) = new_tenant(&admin, "streams").await;

    // Step 1: two streams per tenant; the third is refused.
    let first = sse(&gw.base, "/api/events", &key).await;
    assert_eq!(first.status().as_u16(), 200);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&gw.base, "/ws", &key))
        .await
        .expect("the second stream opens");
    let third = sse(&gw.base, "/api/events", &key).await;
    assert_eq!(third.status().as_u16(), 429);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    match tokio_tungstenite::connect_async(ws_request(&gw.base, "/ws", &key)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429)
        }
        other => panic!("a third WebSocket is refused: {:?}", other.map(|_| ())),
    }
    // Another tenant has its own budget.
    let other = sse(&gw.base, "/api/events", ADMIN_KEY).await;
    assert_eq!(other.status().as_u16(), 200);
    drop(other);

    // Step 2: filters are bounded.
    let many: Vec<String> = (0..65).map(|i| format!("e{i}")).collect();
    let (status, body) = gw
        .api(ADMIN_KEY)
        .get(&format!("/api/events?events={}", many.join(",")))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    ws.send(Message::Text(
        json!({ "type": "subscribe", "payload": { "events": many } })
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let frame = loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => break serde_json::from_str::<Value>(&t).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["payload"]["code"], "VALIDATION_ERROR");

    // Step 3: a deleted key closes its open streams (within a minute).
    let (_, keys) = admin.get(&format!("/api/tenants/{tenant_id}/keys")).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = admin
        .delete(&format!("/api/tenants/{tenant_id}/keys/{key_id}"))
        .await;
    assert_eq!(status, 200);
    let closed = tokio::time::timeout(Duration::from_secs(70), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the WebSocket closed after its key was deleted"
    );
    let mut body = first.bytes_stream();
    let ended = tokio::time::timeout(Duration::from_secs(70), async {
        while let Some(Ok(_)) = body.next().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the SSE stream ended after its key was deleted"
    );
    gw.stop();
}

#[tokio::test]
async fn slow_clients_are_dropped_and_connections_are_capped() {
    let (_sandbox, _dir, gw) = gateway(&[
        ("HTTP_HEADER_TIMEOUT_SECS", "2".into()),
        ("HTTP_MAX_CONNECTIONS", "3".into()),
    ])
    .await;
    let addr = gw.base.trim_start_matches("http://").to_string();

    // Step 1: a client that never finishes its headers is cut off.
    let mut loris = tokio::net::TcpStream::connect(&addr).await.unwrap();
    loris
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), loris.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the slow connection");

    // Step 2: with every slot held, a new request waits; it goes through
    // once a slot frees up.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // A request whose body is slow to come keeps its slot (until
        // HTTP_IDLE_TIMEOUT_SECS).
        let head = format!(
            "POST /api/sessions HTTP/1.1\r\nHost: x\r\nX-API-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        c.write_all(head.as_bytes()).await.unwrap();
        held.push(c);
    }
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    assert!(
        quick
            .get(format!("{}/health", gw.base))
            .send()
            .await
            .is_err(),
        "no slot: the request waits"
    );
    drop(held);
    let health = eventually("a free slot", Duration::from_secs(30), || async {
        quick
            .get(format!("{}/health", gw.base))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    })
    .await;
    assert_eq!(health, 200);
    gw.stop();
}

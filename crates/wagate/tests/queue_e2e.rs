//! The send queue end to end: a crash with 200 messages queued loses and
//! repeats nothing; an Idempotency-Key makes a retried send reach the
//! recipient once; a bulk batch keeps its delays (measured where the
//! messages arrive) and stops when cancelled; pacing holds messages back
//! visibly; a send that cannot succeed ends in `message.failed`.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

async fn sigkill_with_200_queued(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000001", "Alice").await;
    let bob = create_phone(&sandbox, "628444000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    // Drip lane at 2 a second: most of the 200 are still queued at the kill.
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[("SEND_DRIP_PER_MINUTE", "120".into())],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    for i in 0..200 {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/messages/send-text?async=true"),
                json!({ "chatId": bob.number, "text": format!("m-{i}") }),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["data"]["status"], "queued");
        assert!(
            body["data"]["messageId"]
                .as_str()
                .unwrap()
                .starts_with("true_")
        );
    }
    eventually(
        "some messages went out",
        Duration::from_secs(60),
        || async {
            (relay_log(&sandbox, &alice.number, &bob.number).await.len() >= 3).then_some(())
        },
    )
    .await;
    let (_, q) = api.get(&format!("/api/sessions/{a}/queue")).await;
    assert!(
        q["data"]["depth"]["drip"].as_i64().unwrap() > 0,
        "messages are still queued at the kill: {q}"
    );
    gw.kill();

    // Back up without the drip pace: the rest goes out.
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[("SEND_DRIP_PER_MINUTE", "0".into())],
    );
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    eventually(
        "bob has all 200 messages",
        Duration::from_secs(120),
        || async {
            let texts = received_texts(&api, &b, &alice.number).await;
            (texts.len() >= 200).then_some(())
        },
    )
    .await;
    let (_, q) = api.get(&format!("/api/sessions/{a}/queue")).await;
    assert_eq!(q["data"]["depth"]["total"], 0, "{q}");

    // Exactly once, at both ends: bob's history and the server's relay.
    let texts = received_texts(&api, &b, &alice.number).await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &texts {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    for i in 0..200 {
        assert_eq!(counts.get(format!("m-{i}").as_str()), Some(&1), "m-{i}");
    }
    assert_eq!(texts.len(), 200);
    let relayed_ids: Vec<Value> = relay_log(&sandbox, &alice.number, &bob.number)
        .await
        .into_iter()
        .filter(|r| r["kind"] == "message")
        .collect();
    assert_eq!(relayed_ids.len(), 200, "each message relayed once");
    gw.stop();
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_with_200_queued_delivers_each_once_on_sqlite() {
    sigkill_with_200_queued(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_with_200_queued_delivers_each_once_on_postgres() {
    sigkill_with_200_queued(Db::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_sends_once() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000011", "Alice").await;
    let bob = create_phone(&sandbox, "628444000012", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    let send = |key: &'static str, text: &'static str, path: &'static str| {
        let api = &api;
        let a = a.clone();
        let to = bob.number.clone();
        async move {
            let resp = api
                .http
                .post(format!("{}/api/sessions/{a}/messages/{path}", api.base))
                .header("X-API-Key", ADMIN_KEY)
                .header("Idempotency-Key", key)
                .json(&json!({ "chatId": to, "text": text }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (s1, first) = send("order-42", "your order shipped", "send-text").await;
    assert_eq!(s1, 200, "{first}");
    let (s2, second) = send("order-42", "your order shipped", "send-text").await;
    assert_eq!(s2, 200, "{second}");
    assert_eq!(first["data"]["messageId"], second["data"]["messageId"]);
    assert_eq!(first["data"]["queueId"], second["data"]["queueId"]);

    // The same key with another request is refused, and nothing is sent.
    let (s3, third) = send("order-42", "something else", "send-text").await;
    assert_eq!(s3, 422, "{third}");
    assert_eq!(third["error"]["code"], "IDEMPOTENCY_KEY_REUSED");

    // An async send retried synchronously returns the first one's result.
    let (s4, queued) = send(
        "order-43",
        "second note",
        "send-text?async=true&urgent=true",
    )
    .await;
    assert_eq!(s4, 202, "{queued}");
    let (s5, waited) = send("order-43", "second note", "send-text").await;
    assert_eq!(s5, 200, "{waited}");
    assert_eq!(queued["data"]["messageId"], waited["data"]["messageId"]);

    eventually("bob has both", Duration::from_secs(30), || async {
        (received_texts(&api, &b, &alice.number).await.len() >= 2).then_some(())
    })
    .await;
    // A bad key is a validation error.
    let (s6, bad) = send("  ", "x", "send-text").await;
    assert_eq!(s6, 400, "{bad}");
    assert_eq!(
        received_texts(&api, &b, &alice.number).await,
        vec!["your order shipped", "second note"]
    );
    let relays = relay_log(&sandbox, &alice.number, &bob.number).await;
    assert_eq!(relays.len(), 2, "{relays:?}");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_keeps_its_delays_and_cancel_stops_it() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000021", "Alice").await;
    let bob = create_phone(&sandbox, "628444000022", "Bob").await;
    let carol = create_phone(&sandbox, "628444000023", "Carol").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // 20 messages to bob, 1.2 s apart, with a template.
    let messages: Vec<Value> = (0..20)
        .map(|i| {
            json!({
                "chatId": bob.number,
                "type": "text",
                "content": { "text": "Hello {name}, item {n}" },
                "variables": { "name": "Bob", "n": i },
            })
        })
        .collect();
    let (status, accepted) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-bulk"),
            json!({
                "batchId": "promo-1",
                "messages": messages,
                "options": { "delayBetweenMessages": 1200, "randomizeDelay": false },
            }),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["data"]["batchId"], "promo-1");
    assert_eq!(accepted["data"]["totalMessages"], 20);
    let status_url = accepted["data"]["statusUrl"].as_str().unwrap().to_string();

    let done = eventually("the batch completes", Duration::from_secs(120), || async {
        let (_, b) = api.get(&status_url).await;
        (b["data"]["status"] == "completed").then_some(b)
    })
    .await;
    assert_eq!(done["data"]["progress"]["sent"], 20, "{done}");
    assert_eq!(done["data"]["results"].as_array().unwrap().len(), 20);
    assert!(done["data"]["results"][0]["messageId"].is_string());

    // At the receiving end: in order, filled in, and never closer than the delay.
    // The batch is "completed" once the sender's last send returned; the
    // receiver stores that message a relay later, so wait for it there.
    let wanted: Vec<String> = (0..20).map(|i| format!("Hello Bob, item {i}")).collect();
    let texts = eventually("bob has all 20", Duration::from_secs(30), || async {
        let texts = received_texts(&api, &b, &alice.number).await;
        (texts.len() >= 20).then_some(texts)
    })
    .await;
    assert_eq!(texts, wanted);
    let times: Vec<i64> = relay_log(&sandbox, &alice.number, &bob.number)
        .await
        .iter()
        .map(|r| r["timestamp"].as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), 20);
    for pair in times.windows(2) {
        // The next message is released a delay after the previous one's
        // send returned; allow 100 ms for the relay's own bookkeeping.
        assert!(pair[1] - pair[0] >= 1_100, "gap {} ms", pair[1] - pair[0]);
    }

    // The same batch id again is a conflict.
    let (status, again) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-bulk"),
            json!({ "batchId": "promo-1", "messages": [
                { "chatId": bob.number, "type": "text", "content": { "text": "x" } } ] }),
        )
        .await;
    assert_eq!(status, 409, "{again}");

    // A second batch to carol, cancelled after a few.
    let messages: Vec<Value> = (0..20)
        .map(|i| json!({ "chatId": carol.number, "type": "text", "content": { "text": format!("c-{i}") } }))
        .collect();
    let (status, accepted) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-bulk"),
            json!({ "messages": messages, "options": { "delayBetweenMessages": 1000 } }),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let batch = accepted["data"]["batchId"].as_str().unwrap().to_string();
    eventually("a few went out", Duration::from_secs(60), || async {
        let (_, b) = api
            .get(&format!("/api/sessions/{a}/messages/batch/{batch}"))
            .await;
        (b["data"]["progress"]["sent"].as_i64().unwrap() >= 2).then_some(())
    })
    .await;
    let (status, cancelled) = api
        .post(
            &format!("/api/sessions/{a}/messages/batch/{batch}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["status"], "cancelled");
    let finished = eventually("the batch settles", Duration::from_secs(30), || async {
        let (_, b) = api
            .get(&format!("/api/sessions/{a}/messages/batch/{batch}"))
            .await;
        (b["data"]["progress"]["pending"] == 0).then_some(b)
    })
    .await;
    let p = &finished["data"]["progress"];
    let sent = p["sent"].as_i64().unwrap();
    assert!(sent < 20, "{finished}");
    assert_eq!(sent + p["cancelled"].as_i64().unwrap(), 20, "{finished}");
    assert_eq!(finished["data"]["status"], "cancelled");
    // Nothing more reaches carol than what the batch says it sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        relay_log(&sandbox, &alice.number, &carol.number)
            .await
            .len() as i64,
        sent
    );
    let progress = event_where(&gw.base, |e| {
        e["event"] == "batch.cancelled" && e["data"]["batchId"] == batch.as_str()
    })
    .await;
    assert_eq!(progress["data"]["progress"]["sent"], sent);
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pacing_holds_messages_visibly_and_failures_are_told() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000031", "Alice").await;
    let bob = create_phone(&sandbox, "628444000032", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[("SEND_SYNC_TIMEOUT_SECS", "2".into())],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;

    // Two a minute at most: the third waits, and says when it will go.
    let resp = api
        .http
        .put(format!("{}/api/sessions/{a}/pacing", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "maxPerMinute": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pacing: Value = resp.json().await.unwrap();
    assert_eq!(pacing["data"]["effective"]["maxPerMinute"], 2);
    assert_eq!(pacing["data"]["effective"]["dripPerMinute"], 3);
    let resp = api
        .http
        .put(format!("{}/api/sessions/{a}/pacing", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "maxPerMinutes": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "unknown fields are refused");
    let resp = api
        .http
        .put(format!("{}/api/sessions/{a}/pacing", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "typingMinMs": 500, "typingMaxMs": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "typing bounds must be in order"
    );
    let resp = api
        .http
        .put(format!("{}/api/sessions/{a}/pacing", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "maxPerMinute": 2, "typingMinMs": 100, "typingMaxMs": 200 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pacing: Value = resp.json().await.unwrap();
    assert_eq!(pacing["data"]["effective"]["typingMaxMs"], 200, "{pacing}");
    assert_eq!(pacing["data"]["overrides"]["maxPerMinute"], 2, "{pacing}");

    let mut last = Value::Null;
    for i in 0..3 {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/messages/send-text?async=true&urgent=true"),
                json!({ "chatId": bob.number, "text": format!("p-{i}") }),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        last = body;
    }
    let q = eventually("two sent, one held", Duration::from_secs(30), || async {
        let (_, q) = api.get(&format!("/api/sessions/{a}/queue")).await;
        (q["data"]["sentLastMinute"] == 2 && q["data"]["depth"]["direct"] == 1).then_some(q)
    })
    .await;
    assert!(q["data"]["nextSendAt"].is_string(), "{q}");
    let queue_id = last["data"]["queueId"].as_str().unwrap();
    let (_, item) = api
        .get(&format!("/api/sessions/{a}/queue/{queue_id}"))
        .await;
    assert_eq!(item["data"]["status"], "queued", "{item}");
    let (status, cancelled) = api
        .delete(&format!("/api/sessions/{a}/queue/{queue_id}"))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["status"], "cancelled");

    // A sync send that cannot go within the limit answers 202, still queued.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": bob.number, "text": "later" }),
        )
        .await;
    assert!(status == 202 || status == 200, "{status} {body}");
    let resp = api
        .http
        .delete(format!("{}/api/sessions/{a}/pacing", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // A number that is not on WhatsApp fails at once, without retries.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text?async=true&urgent=true"),
            json!({ "chatId": "628444999999", "text": "hello?" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let failed = event_where(&gw.base, |e| e["event"] == "message.failed").await;
    assert_eq!(
        failed["data"]["error"]["code"], "MESSAGE_NUMBER_NOT_ON_WHATSAPP",
        "{failed}"
    );
    assert_eq!(failed["data"]["attempts"], 1);
    assert_eq!(failed["data"]["queueId"], body["data"]["queueId"]);
    // The same, synchronously, is the contract's error.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628444999999", "text": "hello?" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "MESSAGE_NUMBER_NOT_ON_WHATSAPP");

    // An OTP goes out at once with its template.
    let (status, otp) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-otp"),
            json!({ "to": bob.number, "code": "654321", "template": "[MyApp] OTP: %s (5 menit)" }),
        )
        .await;
    assert_eq!(status, 200, "{otp}");
    let (_, history) = api
        .get(&format!("/api/sessions/{a}/chats/{}/messages", bob.number))
        .await;
    assert_eq!(history["data"][0]["body"], "[MyApp] OTP: 654321 (5 menit)");
    let (status, bad) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-otp"),
            json!({ "to": bob.number, "code": "65" }),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    gw.stop();
}

/// A media host that fails the first `failures` requests for `/flaky.jpg`
/// and always fails `/down.jpg`.
async fn flaky_media_host(failures: usize) -> String {
    use axum::http::{StatusCode, header};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    jpeg.extend((0..2048u32).map(|i| (i % 251) as u8));
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/flaky.jpg",
            axum::routing::get(move || {
                let calls = calls.clone();
                let jpeg = jpeg.clone();
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < failures {
                        Err((StatusCode::SERVICE_UNAVAILABLE, "try later"))
                    } else {
                        Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg))
                    }
                }
            }),
        )
        .route(
            "/down.jpg",
            axum::routing::get(|| async { (StatusCode::BAD_GATEWAY, "down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_failures_are_retried_then_reported() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000041", "Alice").await;
    let bob = create_phone(&sandbox, "628444000042", "Bob").await;
    let host = flaky_media_host(2).await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[("SEND_RETRY_SCHEDULE", "1s,1s,1s".into())],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // A bulk's media is fetched when its message goes: the flaky host
    // fails twice, the third attempt sends; the dead host fails all four.
    let (status, accepted) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-bulk"),
            json!({
                "messages": [
                    { "chatId": bob.number, "type": "image",
                      "content": { "image": { "url": format!("{host}/flaky.jpg") }, "caption": "third time lucky" } },
                    { "chatId": bob.number, "type": "image",
                      "content": { "image": { "url": format!("{host}/down.jpg") }, "caption": "never" } },
                ],
                "options": { "delayBetweenMessages": 1000, "randomizeDelay": false },
            }),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let url = accepted["data"]["statusUrl"].as_str().unwrap().to_string();
    let done = eventually("the batch ends", Duration::from_secs(60), || async {
        let (_, b) = api.get(&url).await;
        (b["data"]["progress"]["pending"] == 0).then_some(b)
    })
    .await;
    let results = done["data"]["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "sent", "{done}");
    assert_eq!(results[1]["status"], "failed", "{done}");
    assert_eq!(
        results[1]["error"]["code"], "MESSAGE_MEDIA_DOWNLOAD_FAILED",
        "{done}"
    );
    let (_, first) = api
        .get(&format!(
            "/api/sessions/{a}/queue/{}",
            results[0]["queueId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(first["data"]["attempts"], 3, "{first}");
    let failed = event_where(&gw.base, |e| e["event"] == "message.failed").await;
    assert_eq!(failed["data"]["attempts"], 4, "{failed}");
    assert_eq!(failed["data"]["queueId"], results[1]["queueId"]);
    assert!(
        failed["data"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("502"),
        "the reason is told: {failed}"
    );
    eventually("bob has the image", Duration::from_secs(30), || async {
        (received_texts(&api, &b, &alice.number).await == vec!["third time lucky"]).then_some(())
    })
    .await;
    gw.stop();
}

/// The crash window itself: the message went out but the process died
/// before it was marked sent. At the next start it is sent again under the
/// same id, and the recipient still has it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_send_interrupted_after_it_left_is_not_received_twice() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628444000051", "Alice").await;
    let bob = create_phone(&sandbox, "628444000052", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::postgres().await;
    let url = db.url(data.path());
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": bob.number, "text": "only once" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let queue_id = sent["data"]["queueId"].as_str().unwrap().to_string();
    eventually("bob has it", Duration::from_secs(30), || async {
        (received_texts(&api, &b, &alice.number).await.len() == 1).then_some(())
    })
    .await;
    gw.kill();

    // As if the process had died between the send and its bookkeeping.
    let status = std::process::Command::new("psql")
        .arg(&url)
        .args([
            "-q",
            "-c",
            &format!(
                "UPDATE send_queue SET status = 'sending', sent_at = NULL WHERE id = '{queue_id}'"
            ),
        ])
        .status()
        .unwrap();
    assert!(status.success());

    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    eventually("sent again", Duration::from_secs(60), || async {
        let (_, q) = api
            .get(&format!("/api/sessions/{a}/queue/{queue_id}"))
            .await;
        (q["data"]["status"] == "sent").then_some(())
    })
    .await;
    // What Alice's device sent: the message, then the same id again (the
    // server drops it as a duplicate). A `redelivered` row is the server
    // handing Bob's device a stanza Bob had not acked before the kill —
    // the server's own retry, not a second send — so it is left out.
    let log: Vec<Value> = relay_log(&sandbox, &alice.number, &bob.number)
        .await
        .into_iter()
        .filter(|r| r["kind"] != "redelivered")
        .collect();
    let kinds: Vec<&str> = log.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["message", "duplicate"], "{log:?}");
    assert_eq!(log[0]["id"], log[1]["id"]);
    assert_eq!(
        received_texts(&api, &b, &alice.number).await,
        vec!["only once"]
    );
    gw.stop();
    drop(db);
}

//! Status updates (stories) end to end, through HTTP only: Ann posts a
//! text status (background colour and font) to her contacts — the people
//! she wrote to — then an image and a video status. Ben and Dan, whose
//! sessions asked for statuses (`settings.ignore.status: false`), receive
//! each as `status.received` with its look, and the image and video as
//! files they can download. Cat's session kept the default and hears
//! nothing, although the sandbox relayed every status to her too. A status
//! to a given list reaches only those people; Ann revokes her first status
//! and Ben hears `status.revoked`. Bad input is a 400 in the contract's
//! envelope, another tenant's key finds no session (404), and statuses are
//! not listed among the chats.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);

const ANN: &str = "628944000001";
const BEN: &str = "628944000002";
const CAT: &str = "628944000003";
const DAN: &str = "628944000004";

fn mp4(len: usize) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    b.extend((b.len()..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]));
    b
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn is_status(v: &Value, kind: &str, session: &str, message_id: &str) -> bool {
    v["event"] == kind && v["sessionId"] == session && v["data"]["messageId"] == message_id
}

/// The `status.received` of the status `wa_id` in `session`.
async fn received(gw: &Gateway, session: &str, wa_id: &str) -> Value {
    let id = format!("false_status@broadcast_{wa_id}");
    event_where(&gw.base, |v| is_status(v, "status.received", session, &id)).await
}

/// Downloads a received status's file once its `message.media` says stored.
async fn file_of(gw: &Gateway, api: &Api, session: &str, event: &Value) -> Vec<u8> {
    let id = event["data"]["messageId"].as_str().unwrap().to_string();
    let stored = event_where(&gw.base, |v| is_status(v, "message.media", session, &id)).await;
    assert_eq!(stored["data"]["status"], "stored", "{stored}");
    let url = event["data"]["media"]["url"].as_str().unwrap();
    assert_eq!(stored["data"]["media"]["url"], url);
    let resp = api
        .http
        .get(format!("{}{url}", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.bytes().await.unwrap().to_vec()
}

/// The statuses the sandbox relayed for `phone`: `{id → recipients}`.
async fn relayed(sandbox: &Sandbox, phone: &str) -> Vec<Value> {
    let body: Value = reqwest::get(format!(
        "{}/admin/phones/{phone}/statuses",
        sandbox.http_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    body["statuses"].as_array().unwrap().clone()
}

fn recipients_of(statuses: &[Value], wa_id: &str) -> Vec<String> {
    let s = statuses
        .iter()
        .find(|s| s["id"] == wa_id)
        .unwrap_or_else(|| panic!("status {wa_id} relayed: {statuses:?}"));
    let mut r: Vec<String> = s["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

fn sorted(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn c_us(phone: &str) -> String {
    format!("{phone}@c.us")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statuses_are_posted_heard_by_those_who_asked_and_revoked() {
    // Given four people on one gateway; Ben and Dan want statuses, Cat
    // keeps the default. Their phones are LID-addressed: a status goes out
    // addressed by LID, so its audience is people whose LID WhatsApp reveals.
    let sandbox = start_sandbox().await;
    let ann = create_lid_phone(&sandbox, ANN, "Ann").await;
    let ben = create_lid_phone(&sandbox, BEN, "Ben").await;
    let cat = create_lid_phone(&sandbox, CAT, "Cat").await;
    let dan = create_lid_phone(&sandbox, DAN, "Dan").await;
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_env(
        data.path(),
        &format!("sqlite://{}/wagate.db", data.path().display()),
        &sandbox,
        &[
            ("RATE_LIMIT_ENABLED", "false".to_string()),
            ("SEND_MIN_INTERVAL_MS", "0".to_string()),
            ("SEND_JITTER_MS", "0".to_string()),
        ],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let c = create_and_pair(&api, "cat", &cat).await;
    let d = create_and_pair(&api, "dan", &dan).await;
    for s in [&b, &d] {
        let (status, body) = api
            .patch(
                &format!("/api/sessions/{s}"),
                json!({ "settings": { "ignore": { "status": false } } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, got) = api.get(&format!("/api/sessions/{c}")).await;
    assert_eq!(got["data"]["settings"]["ignore"]["status"], true, "{got}");

    // Ann writes to the three: they are her contacts.
    for phone in [BEN, CAT, DAN] {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/messages/send-text"),
                json!({ "chatId": c_us(phone), "text": "hello" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let status_path = |kind: &str| format!("/api/sessions/{a}/status/{kind}");

    // Step 1: a text status to her contacts, orange, in the script font.
    let (status, posted) = api
        .post(
            &status_path("text"),
            json!({ "text": "Open until 6 pm", "backgroundColor": "#FF8800", "font": 2 }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    let text_id = posted["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        posted["data"]["messageId"],
        format!("true_status@broadcast_{text_id}")
    );
    assert_eq!(
        sorted(&posted["data"]["recipients"]),
        vec![c_us(BEN), c_us(CAT), c_us(DAN)]
    );
    for s in [&b, &d] {
        let ev = received(&gw, s, &text_id).await;
        let data = &ev["data"];
        assert_eq!(data["from"], c_us(ANN), "{ev}");
        assert_eq!(data["fromPn"], c_us(ANN), "{ev}");
        assert_eq!(data["type"], "chat", "{ev}");
        assert_eq!(data["text"], "Open until 6 pm", "{ev}");
        assert_eq!(data["backgroundColor"], "#FF8800", "{ev}");
        assert_eq!(data["font"], 2, "{ev}");
        assert_eq!(data["hasMedia"], false, "{ev}");
    }
    // The sandbox relayed it to all three, Cat included.
    assert_eq!(
        recipients_of(&relayed(&sandbox, ANN).await, &text_id),
        vec![BEN.to_string(), CAT.to_string(), DAN.to_string()]
    );

    // Step 2: an image status; Ben downloads the picture.
    let photo = jpeg(20_000, 5);
    let (status, posted) = api
        .post(
            &status_path("image"),
            json!({ "image": { "base64": data_url("image/jpeg", &photo) }, "caption": "New in store" }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    let image_id = posted["data"]["id"].as_str().unwrap().to_string();
    let ev = received(&gw, &b, &image_id).await;
    assert_eq!(ev["data"]["type"], "image", "{ev}");
    assert_eq!(ev["data"]["caption"], "New in store", "{ev}");
    assert_eq!(ev["data"]["hasMedia"], true, "{ev}");
    assert_eq!(ev["data"]["media"]["mimetype"], "image/jpeg", "{ev}");
    assert_eq!(file_of(&gw, &api, &b, &ev).await, photo);

    // Step 3: a video status, to Ben only.
    let clip = mp4(60_000);
    let (status, posted) = api
        .post(
            &status_path("video"),
            json!({ "video": { "base64": data_url("video/mp4", &clip) }, "caption": "A tour", "contacts": [c_us(BEN)] }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["data"]["recipients"], json!([c_us(BEN)]));
    let video_id = posted["data"]["id"].as_str().unwrap().to_string();
    let ev = received(&gw, &b, &video_id).await;
    assert_eq!(ev["data"]["type"], "video", "{ev}");
    assert_eq!(ev["data"]["caption"], "A tour", "{ev}");
    assert_eq!(file_of(&gw, &api, &b, &ev).await, clip);

    // Step 4: a list reaches only those on it. Dan, who wants statuses,
    // gets the next status to him but never the one to Ben alone.
    let (status, posted) = api
        .post(
            &status_path("text"),
            json!({ "text": "For Ben", "contacts": [c_us(BEN)] }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    let ben_only = posted["data"]["id"].as_str().unwrap().to_string();
    let ev = received(&gw, &b, &ben_only).await;
    assert_eq!(
        ev["data"]["backgroundColor"], "#1E6E4F",
        "the default: {ev}"
    );
    assert_eq!(ev["data"]["font"], 0, "{ev}");
    let (status, posted) = api
        .post(
            &status_path("text"),
            json!({ "text": "For Dan", "contacts": [c_us(DAN)] }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    let dan_only = posted["data"]["id"].as_str().unwrap().to_string();
    let dan_id = format!("false_status@broadcast_{dan_only}");
    let ben_only_id = format!("false_status@broadcast_{ben_only}");
    let dans = events_until(&gw.base, WAIT, |v| {
        is_status(v, "status.received", &d, &dan_id)
    })
    .await;
    assert!(
        !dans
            .iter()
            .any(|v| is_status(v, "status.received", &d, &ben_only_id)),
        "Dan heard the status for Ben"
    );
    let statuses = relayed(&sandbox, ANN).await;
    assert_eq!(recipients_of(&statuses, &ben_only), vec![BEN.to_string()]);
    assert_eq!(recipients_of(&statuses, &dan_only), vec![DAN.to_string()]);

    // Step 5: Ann revokes her first status; Ben hears it.
    let (status, body) = api
        .delete(&format!(
            "/api/sessions/{a}/status/true_status@broadcast_{text_id}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let first = format!("false_status@broadcast_{text_id}");
    let revoked = event_where(&gw.base, |v| is_status(v, "status.revoked", &b, &first)).await;
    assert_eq!(revoked["data"]["from"], c_us(ANN), "{revoked}");
    let (status, body) = api
        .delete(&format!("/api/sessions/{a}/status/3EB0NOSUCHSTATUS"))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND", "{body}");

    // Step 6: Cat, with statuses off, heard none of them; nobody's chat
    // list shows the status broadcast.
    let everything = events_until(&gw.base, WAIT, |v| {
        is_status(v, "status.revoked", &b, &first)
    })
    .await;
    assert!(
        !everything
            .iter()
            .any(|v| v["event"] == "status.received" && v["sessionId"] == c.as_str()),
        "Cat's session heard a status although it ignores them"
    );
    for s in [&a, &b, &c] {
        let (status, chats) = api.get(&format!("/api/sessions/{s}/chats")).await;
        assert_eq!(status, 200, "{chats}");
        assert!(!chats.to_string().contains("status@broadcast"), "{chats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_statuses_are_refused_and_other_tenants_find_nothing() {
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628944000011", "Ann").await;
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_env(
        data.path(),
        &format!("sqlite://{}/wagate.db", data.path().display()),
        &sandbox,
        &[("RATE_LIMIT_ENABLED", "false".to_string())],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let text = format!("/api/sessions/{a}/status/text");
    let image = format!("/api/sessions/{a}/status/image");

    // Bad input: 400 in the contract's envelope, with the code that says why.
    let many: Vec<String> = (0..1001).map(|i| format!("62811{i:07}@c.us")).collect();
    for (path, body, code) in [
        (&text, json!({ "text": "" }), "VALIDATION_ERROR"),
        (&text, json!({ "text": "   " }), "VALIDATION_ERROR"),
        (
            &text,
            json!({ "text": "x".repeat(701) }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "backgroundColor": "red" }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "backgroundColor": "#12345" }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "font": 3 }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "font": "bold" }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "contacts": many }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "contacts": [] }),
            "VALIDATION_ERROR",
        ),
        (
            &text,
            json!({ "text": "hi", "contacts": ["not a number"] }),
            "MESSAGE_INVALID_CHAT_ID",
        ),
        (
            &text,
            json!({ "text": "hi", "contacts": ["120363000000000001@g.us"] }),
            "MESSAGE_INVALID_CHAT_ID",
        ),
        (&text, json!({ "noText": true }), "VALIDATION_ERROR"),
        (&image, json!({ "caption": "no file" }), "VALIDATION_ERROR"),
        (
            &image,
            json!({ "image": { "base64": "%%%" } }),
            "VALIDATION_ERROR",
        ),
        (
            &image,
            json!({ "image": { "base64": data_url("image/jpeg", b"not an image") } }),
            "MESSAGE_MEDIA_INVALID_FORMAT",
        ),
        (
            &image,
            json!({ "image": { "base64": data_url("image/jpeg", &jpeg(100, 5)) }, "caption": "x".repeat(1025) }),
            "MESSAGE_TEXT_TOO_LONG",
        ),
    ] {
        let (status, answer) = api.post(path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["success"], false, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    // Nobody to post to yet: the session has no contacts.
    let (status, answer) = api.post(&text, json!({ "text": "hi" })).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{answer}");

    // Another tenant's key: the session does not exist for it.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = gw.api(t["data"]["apiKey"].as_str().unwrap());
    let (status, answer) = other
        .post(
            &text,
            json!({ "text": "hi", "contacts": ["628944000012@c.us"] }),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "SESSION_NOT_FOUND", "{answer}");
    let (status, answer) = other
        .delete(&format!("/api/sessions/{a}/status/3EB0ABC"))
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "SESSION_NOT_FOUND", "{answer}");
}

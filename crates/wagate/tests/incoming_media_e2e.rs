//! Received media end to end (issue 11): any WhatsApp user can send a
//! session a file, so receiving one must not hurt the session.
//!
//! Alice (on a sending gateway) sends Bob (on a receiving gateway started
//! as in production, `INCOMING_MEDIA_MAX_MB=48`) an image, an HTML page, a
//! 40 MB video and a 56 MB one. Bob's messages and `message.received`
//! events are stored at once; the files follow off the ack path and each
//! ends in a `message.media` event. The 40 MB video is streamed to disk: the
//! receiving process's resident memory does not grow by the file's size.
//! The 56 MB one is refused (`reason: too_large`), the message stays in the
//! history without media, and the session stays CONNECTED and keeps
//! receiving. The files endpoint serves the image inline and the HTML as a
//! sandboxed, never-sniffed attachment.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(180);
const MB: usize = 1024 * 1024;

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend((0..len as u32).map(|i| ((i * 31 + 5) % 251) as u8));
    b
}

/// An MP4-looking file of `len` bytes.
fn mp4(len: usize, seed: u8) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    b.extend(
        (b.len()..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed),
    );
    b
}

/// Serves the two videos to the sending gateway.
async fn video_server(small: Vec<u8>, large: Vec<u8>) -> String {
    let app = Router::new()
        .route(
            "/small.mp4",
            get(move || {
                let v = small.clone();
                async move { ([(header::CONTENT_TYPE, "video/mp4")], v) }
            }),
        )
        .route(
            "/large.mp4",
            get(move || {
                let v = large.clone();
                async move { ([(header::CONTENT_TYPE, "video/mp4")], v) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Resident and peak resident memory of a process, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// Bob's message from Alice whose body or type `pick` matches.
async fn message(api: &Api, session: &str, pick: impl Fn(&Value) -> bool) -> Value {
    eventually("the message in Bob's history", WAIT, || async {
        let (_, h) = api
            .get(&format!(
                "/api/sessions/{session}/chats/628933000001/messages?limit=100"
            ))
            .await;
        h["data"].as_array()?.iter().find(|m| pick(m)).cloned()
    })
    .await
}

/// The `message.media` event of a message.
async fn media_event(gw: &Gateway, message_id: &str) -> Value {
    let id = message_id.to_string();
    event_where(&gw.base, move |v| {
        v["event"] == "message.media" && v["data"]["messageId"] == id.as_str()
    })
    .await
}

async fn fetch(api: &Api, url: &str) -> reqwest::Response {
    api.http
        .get(format!("{}{url}", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn received_media_is_bounded_streamed_and_served_safely() {
    // Given Alice on a sending gateway and Bob on a receiving one that
    // keeps received files up to 48 MB.
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628933000001", "Alice").await;
    let bob = create_phone(&sandbox, "628933000002", "Bob").await;
    let sender_dir = tempfile::tempdir().unwrap();
    let sender = Gateway::start_with_env(
        sender_dir.path(),
        &format!("sqlite://{}/wagate.db", sender_dir.path().display()),
        &sandbox,
        &[
            ("MAX_FILE_SIZE_VIDEO_MB", "64".to_string()),
            ("RATE_LIMIT_ENABLED", "false".to_string()),
            ("SEND_MIN_INTERVAL_MS", "0".to_string()),
            ("SEND_JITTER_MS", "0".to_string()),
        ],
    );
    let receiver_dir = tempfile::tempdir().unwrap();
    let receiver = Gateway::start_guarded(
        receiver_dir.path(),
        &format!("sqlite://{}/wagate.db", receiver_dir.path().display()),
        &sandbox,
        &[
            ("INCOMING_MEDIA_MAX_MB", "48".to_string()),
            ("RATE_LIMIT_ENABLED", "false".to_string()),
        ],
    );
    let out = sender.api(ADMIN_KEY);
    let api = receiver.api(ADMIN_KEY);
    let a = create_and_pair(&out, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let send = |kind: &str| format!("/api/sessions/{a}/messages/send-{kind}");
    let to_bob = "628933000002";

    // Step 1: a normal image arrives and is served inline, sandboxed.
    let photo = jpeg(30_000);
    let data_url = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&photo)
    );
    let (status, body) = out
        .post(
            &send("image"),
            json!({ "chatId": to_bob, "image": { "base64": data_url }, "caption": "a photo" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = message(&api, &b, |m| m["body"] == "a photo").await;
    let stored = media_event(&receiver, got["id"].as_str().unwrap()).await;
    assert_eq!(stored["data"]["status"], "stored", "{stored}");
    assert_eq!(stored["data"]["media"]["url"], got["media"]["url"]);
    let resp = fetch(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), photo);

    // Step 2: an HTML page is served as a sandboxed attachment, also to a
    // browser that authenticates with ?apiKey=.
    let page = b"<html><script>fetch('/api/sessions?apiKey='+location.search)</script></html>";
    let data_url = format!(
        "data:text/html;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(page)
    );
    let (status, body) = out
        .post(
            &send("document"),
            json!({ "chatId": to_bob, "document": { "base64": data_url, "mimetype": "text/html" }, "filename": "page.html", "caption": "a page" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = message(&api, &b, |m| m["body"] == "a page").await;
    assert_eq!(
        media_event(&receiver, got["id"].as_str().unwrap()).await["data"]["status"],
        "stored"
    );
    let url = got["media"]["url"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}{url}?apiKey={ADMIN_KEY}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    assert_eq!(h["content-type"], "text/html");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"page.html\""
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");

    // Step 3: a 40 MB video (under the cap) is streamed to storage: Bob's
    // process does not hold it in memory, and Bob keeps receiving while
    // it downloads.
    let small = mp4(40 * MB, 1);
    let large = mp4(56 * MB, 2);
    let videos = video_server(small.clone(), large.clone()).await;
    let (rss_before, _) = memory(receiver.pid());
    let (status, body) = out
        .post(
            &send("video"),
            json!({ "chatId": to_bob, "video": { "url": format!("{videos}/small.mp4") }, "caption": "small video" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = out
        .post(
            &send("text"),
            json!({ "chatId": to_bob, "text": "still here" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let video = message(&api, &b, |m| m["body"] == "small video").await;
    assert_eq!(video["hasMedia"], true);
    message(&api, &b, |m| m["body"] == "still here").await;
    let stored = media_event(&receiver, video["id"].as_str().unwrap()).await;
    assert_eq!(stored["data"]["status"], "stored", "{stored}");
    assert_eq!(stored["data"]["media"]["size"], small.len());
    let (_, peak_after) = memory(receiver.pid());
    let growth = peak_after.saturating_sub(rss_before);
    println!(
        "receiver memory: RSS before {} MB, peak after the 40 MB video {} MB",
        rss_before / MB as u64,
        peak_after / MB as u64
    );
    assert!(
        growth < (small.len() / 2) as u64,
        "the 40 MB video cost {} MB of peak memory",
        growth / MB as u64
    );
    let resp = fetch(&api, stored["data"]["media"]["url"].as_str().unwrap()).await;
    assert_eq!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("inline")
    );
    assert!(
        resp.bytes().await.unwrap().to_vec() == small,
        "the video survives the round trip"
    );

    // Step 4: a 56 MB video (over the cap) is refused; the message stays,
    // without media; the session stays CONNECTED and keeps receiving.
    let (status, body) = out
        .post(
            &send("video"),
            json!({ "chatId": to_bob, "video": { "url": format!("{videos}/large.mp4") }, "caption": "large video" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let video = message(&api, &b, |m| m["body"] == "large video").await;
    let received = event_where(&receiver.base, |v| {
        v["event"] == "message.received" && v["data"]["body"] == "large video"
    })
    .await;
    let refused = media_event(&receiver, video["id"].as_str().unwrap()).await;
    assert!(
        received["seq"].as_i64().unwrap() < refused["seq"].as_i64().unwrap(),
        "the message is announced before its file is settled"
    );
    assert_eq!(refused["data"]["status"], "failed", "{refused}");
    assert_eq!(refused["data"]["reason"], "too_large", "{refused}");
    assert_eq!(refused["data"]["media"], Value::Null);
    let after = message(&api, &b, |m| m["body"] == "large video").await;
    assert_eq!(after["media"], Value::Null, "no file for a refused video");
    assert_eq!(after["type"], "video");
    assert_eq!(api.session_status(&b).await, "CONNECTED");
    let (status, body) = out
        .post(
            &send("text"),
            json!({ "chatId": to_bob, "text": "after the refusal" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    message(&api, &b, |m| m["body"] == "after the refusal").await;
    let (_, peak_end) = memory(receiver.pid());
    assert!(
        peak_end.saturating_sub(rss_before) < (small.len() / 2) as u64,
        "refusing the 56 MB video cost {} MB",
        peak_end.saturating_sub(rss_before) / MB as u64
    );
}

//! Media end to end, through HTTP only: two sessions paired in the sandbox;
//! A sends an image (by URL from a small HTTP server in the test, and as a
//! base64 data URL), a document and an image as multipart uploads, a voice
//! note, a video and a sticker; B's history and `message.received` events
//! carry `media`, and B downloads the very same bytes through the files
//! endpoint. Then the error codes: too large (URL, base64, multipart),
//! unsupported format, download failures, caption too long, and files that
//! are not the caller's.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A tiny file server: `/photo.jpg`, `/big.jpg` (over the 1 MB image limit
/// the gateway runs with), `/text.txt`, and 404 for anything else.
async fn file_server(photo: Vec<u8>) -> String {
    let big = jpeg(1024 * 1024 + 10, 7);
    let app = Router::new()
        .route(
            "/photo.jpg",
            get(move || {
                let photo = photo.clone();
                async move { ([(header::CONTENT_TYPE, "image/jpeg")], photo) }
            }),
        )
        .route(
            "/big.jpg",
            get(move || {
                let big = big.clone();
                async move { ([(header::CONTENT_TYPE, "image/jpeg")], big) }
            }),
        )
        .route(
            "/text.txt",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/jpeg")],
                    "not an image at all",
                )
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A `multipart/form-data` body built by hand: text fields, then one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "wagate-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (name, mime, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    api: &Api,
    path: &str,
    content_type: String,
    body: Vec<u8>,
) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}{path}", api.base))
        .header("X-API-Key", api.key.as_deref().unwrap())
        .header(header::CONTENT_TYPE.as_str(), content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn download(api: &Api, url: &str) -> (u16, String, Vec<u8>) {
    let resp = api
        .http
        .get(format!("{}{url}", api.base))
        .header("X-API-Key", api.key.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// Waits until B's history with A holds a message whose body or type
/// matches, and returns it.
async fn received(api: &Api, session: &str, from: &str, pick: impl Fn(&Value) -> bool) -> Value {
    eventually("the message in B's history", WAIT, || async {
        let (_, h) = api
            .get(&format!(
                "/api/sessions/{session}/chats/{from}/messages?limit=100"
            ))
            .await;
        let m = h["data"].as_array()?.iter().find(|m| pick(m)).cloned()?;
        // A received file is downloaded after the message is stored: wait
        // until its URL answers.
        if let Some(url) = m["media"]["url"].as_str()
            && download(api, url).await.0 != 200
        {
            return None;
        }
        Some(m)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_story_on_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_story_on_postgres() {
    story(Db::postgres().await).await;
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628222000001", "Alice").await;
    let bob = create_phone(&sandbox, "628222000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    let media_dir = data.path().join("files-elsewhere");
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[
            ("MAX_FILE_SIZE_IMAGE_MB", "1".to_string()),
            ("MEDIA_DIR", media_dir.display().to_string()),
            // Media routes are bounded by the media limits, not this.
            ("MAX_BODY_MB", "1".to_string()),
        ],
    );
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let photo = jpeg(50_000, 1);
    let files = file_server(photo.clone()).await;
    let send = |kind: &str| format!("/api/sessions/{a}/messages/send-{kind}");

    // An image by URL, with a caption.
    let (status, sent) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002@c.us", "image": { "url": format!("{files}/photo.jpg") }, "caption": "a photo" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert!(
        sent["data"]["messageId"]
            .as_str()
            .unwrap()
            .starts_with("true_628222000002@c.us_")
    );
    let got = received(&api, &b, "628222000001", |m| m["body"] == "a photo").await;
    assert_eq!(got["type"], "image");
    assert_eq!(got["hasMedia"], true);
    assert_eq!(got["media"]["mimetype"], "image/jpeg");
    assert_eq!(got["media"]["size"], photo.len());
    let file_url = got["media"]["url"].as_str().unwrap().to_string();
    assert!(file_url.starts_with(&format!("/api/sessions/{b}/files/")));
    let (status, ct, bytes) = download(&api, &file_url).await;
    assert_eq!(status, 200);
    assert_eq!(ct, "image/jpeg");
    assert_eq!(bytes, photo, "the image bytes survive the round trip");
    assert!(
        std::fs::read_dir(media_dir.join(&b)).unwrap().count() >= 1,
        "files live under MEDIA_DIR/<session>"
    );
    // The received event carries the same media object.
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.received" && v["data"]["body"] == "a photo"
    })
    .await;
    assert_eq!(ev["data"]["media"]["url"], file_url.as_str());
    assert_eq!(ev["data"]["type"], "image");
    // The sender's history has its own copy.
    let (_, h) = api
        .get(&format!("/api/sessions/{a}/chats/628222000002/messages"))
        .await;
    let mine = &h["data"][0];
    assert_eq!(mine["body"], "a photo");
    let (status, _, bytes) = download(&api, mine["media"]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (200, photo.clone()));

    // An image as a base64 data URL.
    let small = jpeg(3_000, 2);
    let data_url = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&small)
    );
    let (status, sent) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "image": { "base64": data_url }, "caption": "inline" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["body"] == "inline").await;
    let (_, _, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!(bytes, small);

    // A document as a multipart upload: unknown bytes keep the declared type
    // and the file name.
    let notes = b"meeting notes\nline two\n".to_vec();
    let (ct, body) = multipart(
        &[("chatId", "628222000002@c.us"), ("caption", "the notes")],
        ("notes.txt", "text/plain", &notes),
    );
    let (status, sent) = post_multipart(&api, &send("document"), ct, body).await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["body"] == "the notes").await;
    assert_eq!(got["type"], "document");
    assert_eq!(got["media"]["filename"], "notes.txt");
    assert_eq!(got["media"]["mimetype"], "text/plain");
    let (status, ct, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str(), bytes), (200, "text/plain", notes));

    // A document larger than MAX_BODY_MB, as multipart and as base64 JSON:
    // media routes answer to the per-type limits.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..1_500_000u32).map(|i| (i % 253) as u8));
    let (ct, body) = multipart(
        &[("chatId", "628222000002"), ("caption", "big pdf")],
        ("big.pdf", "application/pdf", &pdf),
    );
    let (status, sent) = post_multipart(&api, &send("document"), ct, body).await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["body"] == "big pdf").await;
    assert_eq!(got["media"]["mimetype"], "application/pdf");
    assert_eq!(got["media"]["filename"], "big.pdf");
    let (_, _, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!(bytes, pdf);
    let (status, sent) = api
        .post(
            &send("document"),
            json!({ "chatId": "628222000002", "caption": "big pdf again", "filename": "again.pdf",
                    "document": { "base64": base64::engine::general_purpose::STANDARD.encode(&pdf) } }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    // Other routes keep MAX_BODY_MB.
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628222000002", "text": "x".repeat(1_200_000) }),
        )
        .await;
    assert_eq!(status, 413);

    // A voice note, a video and a sticker.
    let mut ogg = b"OggS\0\x02".to_vec();
    ogg.extend(std::iter::repeat_n(7u8, 4000));
    let (status, sent) = api
        .post(
            &send("audio"),
            json!({ "chatId": "628222000002", "audio": { "base64": base64::engine::general_purpose::STANDARD.encode(&ogg) }, "ptt": true }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["type"] == "ptt").await;
    let (_, _, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!(bytes, ogg);

    let mut mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0".to_vec();
    mp4.extend(std::iter::repeat_n(3u8, 6000));
    let (ct, body) = multipart(
        &[("chatId", "628222000002"), ("caption", "a clip")],
        ("clip.mp4", "video/mp4", &mp4),
    );
    let (status, sent) = post_multipart(&api, &send("video"), ct, body).await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["body"] == "a clip").await;
    assert_eq!(got["type"], "video");
    assert_eq!(got["media"]["mimetype"], "video/mp4");

    let mut webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
    webp.extend(std::iter::repeat_n(9u8, 2000));
    let (status, sent) = api
        .post(
            &send("sticker"),
            json!({ "chatId": "628222000002", "sticker": { "base64": format!("data:image/webp;base64,{}", base64::engine::general_purpose::STANDARD.encode(&webp)) } }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received(&api, &b, "628222000001", |m| m["type"] == "sticker").await;
    let (_, _, bytes) = download(&api, got["media"]["url"].as_str().unwrap()).await;
    assert_eq!(bytes, webp);

    // Too large: by URL (the 1 MB image limit), as base64, as multipart.
    let (status, body) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "image": { "url": format!("{files}/big.jpg") } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("MESSAGE_MEDIA_TOO_LARGE")),
        "{body}"
    );
    let big = jpeg(1024 * 1024 + 10, 3);
    let (status, body) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "image": { "base64": base64::engine::general_purpose::STANDARD.encode(&big) } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("MESSAGE_MEDIA_TOO_LARGE")),
        "{body}"
    );
    let (ct, body) = multipart(
        &[("chatId", "628222000002")],
        ("big.jpg", "image/jpeg", &big),
    );
    let (status, body) = post_multipart(&api, &send("image"), ct, body).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("MESSAGE_MEDIA_TOO_LARGE")),
        "{body}"
    );
    // A sticker over 500 KB.
    let mut big_webp = webp.clone();
    big_webp.extend(std::iter::repeat_n(1u8, 600 * 1024));
    let (ct, body) = multipart(
        &[("chatId", "628222000002")],
        ("s.webp", "image/webp", &big_webp),
    );
    let (status, body) = post_multipart(&api, &send("sticker"), ct, body).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("MESSAGE_MEDIA_TOO_LARGE")),
        "{body}"
    );

    // Unsupported formats: text served as image/jpeg, a PNG as a sticker.
    let (status, body) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "image": { "url": format!("{files}/text.txt") } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_MEDIA_INVALID_FORMAT")),
        "{body}"
    );
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let (status, body) = api
        .post(
            &send("sticker"),
            json!({ "chatId": "628222000002", "sticker": { "base64": base64::engine::general_purpose::STANDARD.encode(&png) } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_MEDIA_INVALID_FORMAT")),
        "{body}"
    );

    // Download failures: a 404, a refused connection, a non-http scheme.
    for bad in [
        format!("{files}/missing.jpg"),
        "http://127.0.0.1:9/x.jpg".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        let (status, body) = api
            .post(
                &send("image"),
                json!({ "chatId": "628222000002", "image": { "url": bad } }),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("MESSAGE_MEDIA_DOWNLOAD_FAILED")),
            "{bad}: {body}"
        );
    }

    // Caption too long; no file; bad base64.
    let (status, body) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "image": { "url": format!("{files}/photo.jpg") }, "caption": "x".repeat(1025) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_TEXT_TOO_LONG"))
    );
    let (status, body) = api
        .post(
            &send("image"),
            json!({ "chatId": "628222000002", "caption": "no file" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = api
        .post(&send("image"), json!({ "chatId": "628222000002", "image": { "base64": "data:image/jpeg;base64,@@@" } }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    // Files are the session's: unknown ids, traversal attempts, another
    // session's id and another tenant all answer 404.
    let file_id = file_url.rsplit('/').next().unwrap();
    for path in [
        format!("/api/sessions/{b}/files/f00000000000000000000000000000000"),
        format!("/api/sessions/{b}/files/..%2F..%2Fwagate.db"),
        format!("/api/sessions/{a}/files/{file_id}"),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = Api {
        base: api.base.clone(),
        key: Some(t["data"]["apiKey"].as_str().unwrap().to_string()),
        http: reqwest::Client::new(),
    };
    let (status, _, _) = download(&other, &file_url).await;
    assert_eq!(status, 404);
    let (status, _, _) = download(&api.without_key_with_marker(), &file_url).await;
    assert_eq!(status, 401);

    gw.stop();
}

trait NoKey {
    fn without_key_with_marker(&self) -> Api;
}

impl NoKey for Api {
    /// A client with a wrong key (download() always sends one).
    fn without_key_with_marker(&self) -> Api {
        Api {
            base: self.base.clone(),
            key: Some("wrong-key-wrong-key".into()),
            http: self.http.clone(),
        }
    }
}

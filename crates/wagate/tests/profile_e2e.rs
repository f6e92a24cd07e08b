//! Profile pictures end to end through HTTP against the sandbox: a phone
//! sets its picture (sandbox admin API) and another session reads its URL
//! (`GET …/contacts/{contactId}/profile-picture`) and downloads the same
//! bytes; a session sets, reads and removes its own picture
//! (`PUT/GET/DELETE …/profile-picture`); a contact who blocked the asker
//! hides it; a number not on WhatsApp is `CONTACT_NOT_FOUND`; a PNG is
//! `MESSAGE_MEDIA_INVALID_FORMAT`.

mod common;

use common::*;
use serde_json::{Value, json};

/// A JPEG as far as anyone checks (the SOI marker and an APP0 header).
fn jpeg(tag: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend(std::iter::repeat_n(tag, 300));
    b.extend([0xFF, 0xD9]);
    b
}

async fn picture_url(api: &Api, session: &str, contact: &str) -> (u16, Value) {
    let (status, body) = api
        .get(&format!(
            "/api/sessions/{session}/contacts/{contact}/profile-picture"
        ))
        .await;
    (status, body)
}

async fn download(url: &str) -> Vec<u8> {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.bytes().await.unwrap().to_vec()
}

async fn put_own(api: &Api, session: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = api
        .http
        .put(format!(
            "{}/api/sessions/{session}/profile-picture",
            api.base
        ))
        .header("X-API-Key", ADMIN_KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn profile_pictures() {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628888000001", "Alice").await;
    let bob = create_phone(&sandbox, "628888000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let alice_id = "628888000001@c.us";
    let http = reqwest::Client::new();

    // No picture yet.
    let (status, body) = picture_url(&api, &b, alice_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({ "url": null }));

    // Alice's phone sets one; Bob sees its URL and downloads the same bytes.
    let first = jpeg(1);
    let resp = http
        .put(format!(
            "{}/admin/phones/628888000001/picture",
            sandbox.http_url()
        ))
        .header("content-type", "image/jpeg")
        .body(first.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let set: Value = resp.json().await.unwrap();
    let (status, body) = picture_url(&api, &b, "628888000001").await;
    assert_eq!(status, 200, "{body}");
    let url = body["data"]["url"].as_str().expect("a URL").to_string();
    assert_eq!(url, set["url"].as_str().unwrap());
    assert_eq!(download(&url).await, first);

    // Alice sets her own through the gateway (raw JPEG body).
    let second = jpeg(2);
    let (status, body) = put_own(&api, &a, "image/jpeg", second.clone()).await;
    assert_eq!(status, 200, "{body}");
    let new_id = body["data"]["id"].as_str().unwrap().to_string();
    assert!(!new_id.is_empty());
    let (_, body) = api.get(&format!("/api/sessions/{a}/profile-picture")).await;
    let own_url = body["data"]["url"].as_str().expect("own URL").to_string();
    assert!(own_url.contains(&new_id), "{own_url}");
    let (_, body) = picture_url(&api, &b, alice_id).await;
    let url = body["data"]["url"].as_str().unwrap().to_string();
    assert_eq!(url, own_url);
    assert_eq!(download(&url).await, second);
    // …or as base64 JSON.
    let third = jpeg(3);
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&third)
    };
    let (status, body) = put_own(
        &api,
        &a,
        "application/json",
        serde_json::to_vec(
            &json!({ "image": { "base64": format!("data:image/jpeg;base64,{b64}") } }),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = picture_url(&api, &b, alice_id).await;
    assert_eq!(download(body["data"]["url"].as_str().unwrap()).await, third);

    // Not a JPEG.
    let (status, body) = put_own(&api, &a, "image/png", b"\x89PNG\r\n\x1a\nxxxx".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_MEDIA_INVALID_FORMAT")),
        "{body}"
    );

    // Alice blocks Bob: her picture is hidden from him, not from herself.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/628888000002/block"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = picture_url(&api, &b, alice_id).await;
    assert_eq!(body["data"]["url"], Value::Null, "{body}");
    let (_, body) = api.get(&format!("/api/sessions/{a}/profile-picture")).await;
    assert!(body["data"]["url"].is_string(), "{body}");
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/contacts/628888000002/unblock"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = picture_url(&api, &b, alice_id).await;
    assert!(body["data"]["url"].is_string(), "{body}");

    // Removed.
    let (status, body) = api
        .delete(&format!("/api/sessions/{a}/profile-picture"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = picture_url(&api, &b, alice_id).await;
    assert_eq!(body["data"]["url"], Value::Null, "{body}");
    let (_, body) = api.get(&format!("/api/sessions/{a}/profile-picture")).await;
    assert_eq!(body["data"]["url"], Value::Null, "{body}");

    // Someone not on WhatsApp; a malformed id.
    let (status, body) = picture_url(&api, &b, "628888999999").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("CONTACT_NOT_FOUND")),
        "{body}"
    );
    let (status, body) = picture_url(&api, &b, "not-a-number").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_INVALID_CHAT_ID")),
        "{body}"
    );
    gw.stop();
}

//! The outbound guard end to end (issue 11, SSRF): a gateway started as in
//! production (no `OUTBOUND_ALLOW_PRIVATE`) refuses every tenant-chosen URL
//! that points inward — a media URL, a webhook URL, an outbox worker's
//! status webhook, an outbox row's `file` — at 127.0.0.1, 10.0.0.1,
//! 169.254.169.254, `[::1]`, a host name resolving to loopback, and an
//! allowed host that redirects to loopback; each with its documented code
//! and `details.reason: forbidden_address`, and without a byte reaching the
//! internal receiver. The very same receiver works once allowed
//! (`OUTBOUND_ALLOW_HOSTS=127.0.0.2`: it listens on every loopback address,
//! so `127.0.0.2` stands for an on-prem receiver the operator allowed).
//! The engine's own traffic to the sandbox (on loopback) is not affected:
//! sessions pair and send as usual.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Redirect;
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};
use wagate_outbox::sqlx::{self, Row};
use wagate_outbox::{NewRow, OutboxDb};

const WAIT: Duration = Duration::from_secs(90);

/// Requests the receiver saw: (path, Host header).
#[derive(Clone, Default)]
struct Hits(Arc<Mutex<Vec<(String, String)>>>);

impl Hits {
    fn record(&self, path: &str, headers: &HeaderMap) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        self.0.lock().unwrap().push((path.to_string(), host));
    }

    fn hosts_of(&self, path: &str) -> Vec<String> {
        let got = self.0.lock().unwrap();
        got.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.split(':').next().unwrap_or_default().to_string())
            .collect()
    }
}

fn jpeg() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.extend((0..2000u32).map(|i| (i % 251) as u8));
    b
}

/// The "internal" service a tenant would like to reach, listening on every
/// address: `/photo.jpg`, `/hop` (a redirect to loopback), `/hook` and
/// `/hook-hop` (a webhook receiver, and one that redirects to loopback).
async fn receiver() -> (u16, Hits) {
    let hits = Hits::default();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (h1, h2, h3, h4) = (hits.clone(), hits.clone(), hits.clone(), hits.clone());
    let app = Router::new()
        .route(
            "/photo.jpg",
            get(move |headers: HeaderMap| async move {
                h1.record("/photo.jpg", &headers);
                ([(header::CONTENT_TYPE, "image/jpeg")], jpeg())
            }),
        )
        .route(
            "/hop",
            get(move |headers: HeaderMap| async move {
                h2.record("/hop", &headers);
                Redirect::temporary(&format!("http://127.0.0.1:{port}/photo.jpg"))
            }),
        )
        .route(
            "/hook",
            post(move |headers: HeaderMap| async move {
                h3.record("/hook", &headers);
                "ok"
            }),
        )
        .route(
            "/hook-hop",
            post(move |headers: HeaderMap| async move {
                h4.record("/hook-hop", &headers);
                Redirect::temporary(&format!("http://127.0.0.1:{port}/hook"))
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "no") });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, hits)
}

/// The inward URLs of the issue, for a path on the receiver.
fn inward(port: u16, path: &str) -> Vec<String> {
    vec![
        format!("http://127.0.0.1:{port}{path}"),
        format!("http://10.0.0.1{path}"),
        format!("http://169.254.169.254/latest/meta-data/iam/security-credentials{path}"),
        format!("http://[::1]:{port}{path}"),
        format!("http://localhost:{port}{path}"),
    ]
}

fn assert_refused(status: u16, body: &Value, code: &str, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert_eq!(
        body["error"]["details"]["reason"], "forbidden_address",
        "{what}: {body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("refused") && !message.contains("error sending"),
        "{what}: no socket text: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenant_urls_never_reach_internal_addresses() {
    // Given a gateway started without OUTBOUND_ALLOW_PRIVATE, one on-prem
    // address allowed, and a paired session in the circle "blast".
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628911000001", "Alice").await;
    create_phone(&sandbox, "628911000002", "Bob").await;
    let (port, hits) = receiver().await;
    let data = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/wagate.db", data.path().display());
    let gw = Gateway::start_guarded(
        data.path(),
        &db_url,
        &sandbox,
        &[
            ("OUTBOUND_ALLOW_HOSTS", "127.0.0.2".to_string()),
            ("RATE_LIMIT_ENABLED", "false".to_string()),
            ("SEND_MIN_INTERVAL_MS", "0".to_string()),
            ("SEND_JITTER_MS", "0".to_string()),
        ],
    );
    let api = gw.api(ADMIN_KEY);
    let (status, body) = api
        .post(
            "/api/sessions",
            json!({ "name": "alice", "circle": "blast" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let a = body["data"]["id"].as_str().unwrap().to_string();
    pair(&api, &a, &alice).await;

    // Step 1: media URLs pointing inward are refused, by class, for images
    // and documents alike — and so is an allowed host redirecting inward.
    let mut media_urls = inward(port, "/photo.jpg");
    media_urls.push(format!("http://127.0.0.2:{port}/hop"));
    for url in &media_urls {
        for kind in ["image", "document"] {
            let (status, body) = api
                .post(
                    &format!("/api/sessions/{a}/messages/send-{kind}"),
                    json!({ "chatId": "628911000002", kind: { "url": url } }),
                )
                .await;
            assert_refused(status, &body, "MESSAGE_MEDIA_DOWNLOAD_FAILED", url);
        }
    }
    assert_eq!(
        hits.hosts_of("/hop"),
        ["127.0.0.2", "127.0.0.2"],
        "the allowed host was asked, once per kind"
    );
    assert!(
        hits.hosts_of("/photo.jpg").is_empty(),
        "nothing reached the internal file: {:?}",
        hits.hosts_of("/photo.jpg")
    );

    // Step 2: the same receiver, allowed, serves the file.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-image"),
            json!({ "chatId": "628911000002", "image": { "url": format!("http://127.0.0.2:{port}/photo.jpg") } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(hits.hosts_of("/photo.jpg"), ["127.0.0.2"]);

    // Step 3: webhook URLs pointing inward are refused when created and
    // when changed.
    for url in inward(port, "/hook") {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/webhooks"),
                json!({ "url": url }),
            )
            .await;
        assert_refused(status, &body, "WEBHOOK_URL_INVALID", &url);
    }
    let (status, allowed) = api
        .post(
            &format!("/api/sessions/{a}/webhooks"),
            json!({ "url": format!("http://127.0.0.2:{port}/hook"), "events": ["message.sent"] }),
        )
        .await;
    assert_eq!(status, 201, "{allowed}");
    let hook_id = allowed["data"]["id"].as_str().unwrap().to_string();
    let resp = api
        .http
        .patch(format!("{}/api/sessions/{a}/webhooks/{hook_id}", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "url": format!("http://169.254.169.254/hook") }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_refused(
        status,
        &body,
        "WEBHOOK_URL_INVALID",
        "PATCH to the metadata address",
    );
    // An allowed host that redirects inward: the redirect is not followed.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/webhooks"),
            json!({ "url": format!("http://127.0.0.2:{port}/hook-hop"), "events": ["message.sent"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628911000002", "text": "ping the hooks" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually("both webhooks to be called", WAIT, || async {
        (!hits.hosts_of("/hook").is_empty() && !hits.hosts_of("/hook-hop").is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        hits.hosts_of("/hook").iter().all(|h| h == "127.0.0.2"),
        "only the allowed receiver was called: {:?}",
        hits.hosts_of("/hook")
    );

    // Step 4: an outbox worker's status webhook pointing inward is refused.
    let (status, body) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "inward", "circle": "blast", "application": "App1",
                    "intervalSeconds": 0, "webhookUrl": format!("http://127.0.0.1:{port}/hook") }),
        )
        .await;
    assert_refused(status, &body, "WEBHOOK_URL_INVALID", "outbox webhookUrl");
    let (status, cfg) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "files", "circle": "blast", "application": "App1", "intervalSeconds": 0 }),
        )
        .await;
    assert_eq!(status, 201, "{cfg}");
    let cfg_id = cfg["data"]["id"].as_i64().unwrap();

    // Step 5: outbox rows whose file points inward fail with the gateway's
    // code and reason; the allowed file is sent.
    let outbox = OutboxDb::connect(&db_url, "outbox", 2).await.unwrap();
    outbox.migrate().await.unwrap();
    for (i, url) in media_urls.iter().enumerate() {
        outbox
            .insert(&NewRow {
                destination: "628911000002".into(),
                file: Some(url.clone()),
                application: Some("App1".into()),
                table_id: Some(format!("inward-{i}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    outbox
        .insert(&NewRow {
            destination: "628911000002".into(),
            file: Some(format!("http://127.0.0.2:{port}/photo.jpg")),
            application: Some("App1".into()),
            table_id: Some("allowed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut worker = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .arg("worker")
        .env_remove("OUTBOUND_ALLOW_PRIVATE")
        .env_remove("OUTBOX_DATABASE_URL")
        .env("API_KEY", ADMIN_KEY)
        .env("DATABASE_URL", &db_url)
        .env("OUTBOX_API_BASEURL", &gw.base)
        .env("WORKER_CONFIG_ID", cfg_id.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts");
    let rows = eventually("every outbox row settled", WAIT, || async {
        let rows = sqlx::query("SELECT table_id, status, msg_error FROM outbox")
            .fetch_all(outbox.pool())
            .await
            .ok()?;
        let settled: Vec<(String, i64, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("table_id").unwrap(),
                    r.try_get("status").unwrap(),
                    r.try_get("msg_error").unwrap(),
                )
            })
            .collect();
        settled
            .iter()
            .all(|(_, status, _)| *status == 1 || *status == 2)
            .then_some(settled)
    })
    .await;
    let _ = worker.kill();
    let _ = worker.wait();
    for (table_id, status, error) in rows {
        if table_id == "allowed" {
            assert_eq!(status, 1, "the allowed file is sent: {error:?}");
        } else {
            let error = error.unwrap_or_default();
            assert_eq!(status, 2, "{table_id}");
            assert!(
                error.starts_with("MESSAGE_MEDIA_DOWNLOAD_FAILED")
                    && error.contains("forbidden_address"),
                "{table_id}: {error}"
            );
        }
    }
    assert_eq!(
        hits.hosts_of("/photo.jpg"),
        ["127.0.0.2", "127.0.0.2"],
        "only the allowed file was ever fetched"
    );
}

//! The validation-heavy routes, in process: the real router over a real
//! SQLite store, driven with `tower::ServiceExt::oneshot` (no listener, no
//! WhatsApp). Each case is a bad request a client could send, and the
//! contract's status and code it must get back — with ownership checked
//! before any body is read.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use wagate_api::{ApiConfig, AppState};
use wagate_engine::{EngineConfig, SessionManager};
use wagate_store::Store;
use wagate_store::app::{NewSession, SessionMeta};

const ADMIN_KEY: &str = "handler-tests-admin-key-0123456789";

/// A router over a fresh SQLite store with one tenant, its key and one
/// session that is not running (so nothing talks to WhatsApp).
struct World {
    router: Router,
    tenant: String,
    key: String,
    session: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    world_with(wagate_api::cors::CorsOrigins::default()).await
}

async fn world_with(cors: wagate_api::cors::CorsOrigins) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    let (tenant, _, key) = store.create_tenant("acme").await.unwrap();
    let session = store
        .insert_session(&NewSession {
            id: "sess_handlers1".into(),
            tenant_id: tenant.id.clone(),
            name: "alpha".into(),
            meta: SessionMeta::default(),
        })
        .await
        .unwrap()
        .id;
    let mut engine = EngineConfig::default();
    engine.media.dir = dir.path().join("media");
    engine.media.store = wagate_engine::media_store::MediaStore::local(&engine.media.dir);
    let manager = SessionManager::new(store, engine);
    let rate_limit = wagate_api::rate_limit::RateLimitConfig {
        enabled: false,
        ..Default::default()
    };
    let state = AppState::new(
        manager,
        ApiConfig {
            admin_key: ADMIN_KEY.into(),
            max_body_bytes: 16 * 1024 * 1024,
            qr_wait: std::time::Duration::from_secs(1),
            webhook_max_per_session: 10,
            rate_limit,
            streams_max_per_tenant: 10,
            max_sessions_per_tenant: None,
            dashboard: None,
            cors,
            metrics_token: Some("metrics-token-for-tests".into()),
            compat_session: None,
        },
    );
    World {
        router: wagate_api::router(state),
        tenant: tenant.id.clone(),
        key,
        session,
        _dir: dir,
    }
}

impl World {
    async fn call(&self, method: &str, path: &str, body: Option<Value>, key: &str) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("X-API-Key", key);
        let body = match body {
            Some(b) => {
                req = req.header("Content-Type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(
            "POST",
            &path.replace("{id}", &self.session),
            Some(body),
            &self.key,
        )
        .await
    }
}

/// Asserts the contract's error envelope with `status` and `code`.
fn refused(answer: (u16, Value), status: StatusCode, code: &str) {
    let (s, body) = answer;
    assert_eq!(s, status.as_u16(), "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
}

#[tokio::test]
async fn send_text_checks_its_fields_then_needs_a_connected_session() {
    let w = world().await;
    let send = "/api/sessions/{id}/messages/send-text";
    refused(
        w.post(send, json!({})).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(send, json!({ "chatId": "not a number", "text": "hi" }))
            .await,
        StatusCode::BAD_REQUEST,
        "MESSAGE_INVALID_CHAT_ID",
    );
    refused(
        w.post(send, json!({ "chatId": "628123456789", "text": "   " }))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            send,
            json!({ "chatId": "628123456789", "text": "x".repeat(wagate_core::limits::TEXT_MAX_CHARS + 1) }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "MESSAGE_TEXT_TOO_LONG",
    );
    // A good request to a session that is not connected: refused at once
    // by the send queue's policy, nothing queued.
    refused(
        w.post(send, json!({ "chatId": "628123456789", "text": "hello" }))
            .await,
        StatusCode::BAD_REQUEST,
        "SESSION_NOT_READY",
    );
    let (status, queue) = w
        .call(
            "GET",
            &format!(
                "/api/sessions/{}/queue/items?status=queued,failed",
                w.session
            ),
            None,
            &w.key,
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["data"], json!([]));
    // Asynchronously, it waits in the queue for the session.
    let (status, queued) = w
        .post(
            "/api/sessions/{id}/messages/send-text?async=true",
            json!({ "chatId": "628123456789", "text": "later" }),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["data"]["status"], "queued");
}

#[tokio::test]
async fn another_tenant_gets_404_before_its_body_is_read() {
    let w = world().await;
    let (status, other) = w
        .call(
            "POST",
            "/api/tenants",
            Some(json!({ "name": "other" })),
            ADMIN_KEY,
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other_key = other["data"]["apiKey"].as_str().unwrap().to_string();
    for (path, body) in [
        ("/api/sessions/{id}/messages/send-text", json!({})),
        (
            "/api/sessions/{id}/messages/send-bulk",
            json!({ "messages": "nope" }),
        ),
        ("/api/sessions/{id}/webhooks", json!({ "url": 7 })),
    ] {
        let path = path.replace("{id}", &w.session);
        refused(
            w.call("POST", &path, Some(body), &other_key).await,
            StatusCode::NOT_FOUND,
            "SESSION_NOT_FOUND",
        );
    }
    refused(
        w.call(
            "GET",
            "/api/sessions/sess_handlers1/queue",
            None,
            "wrong-key",
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );
}

#[tokio::test]
async fn media_sends_refuse_ambiguous_and_broken_files() {
    let w = world().await;
    let image = "/api/sessions/{id}/messages/send-image";
    refused(
        w.post(image, json!({ "chatId": "628123456789", "image": {} }))
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            image,
            json!({ "chatId": "628123456789",
            "image": { "url": "https://example.com/a.jpg", "base64": "AAAA" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            image,
            json!({ "chatId": "628123456789", "image": { "base64": "%%%not base64" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            image,
            json!({ "chatId": "628123456789",
            "image": { "base64": "data:image/png,not-base64-marked" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn bulk_items_are_checked_before_anything_is_queued() {
    let w = world().await;
    let bulk = "/api/sessions/{id}/messages/send-bulk";
    refused(
        w.post(bulk, json!({ "messages": [] })).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            bulk,
            json!({ "messages": [
            { "chatId": "628123456789", "type": "hologram", "content": { "text": "x" } } ] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(bulk, json!({ "messages": [
            { "chatId": "628123456789", "type": "text",
              "content": { "text": "{x}".repeat(100) }, "variables": { "x": "y".repeat(4096) } } ] }))
            .await,
        StatusCode::BAD_REQUEST,
        "MESSAGE_TEXT_TOO_LONG",
    );
    refused(
        w.post(
            bulk,
            json!({ "messages": [
            { "chatId": "628123456789", "type": "text", "content": { "text": "x" } } ],
            "options": { "delayBetweenMessages": -1 } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn bulk_media_follows_the_single_send_rules_for_names_and_captions() {
    let w = world().await;
    let bulk = "/api/sessions/{id}/messages/send-bulk";
    let document = |filename: String| {
        json!({ "messages": [{ "chatId": "628123456789", "type": "document", "content": {
            "document": { "url": "https://example.com/a.pdf" }, "filename": filename } }] })
    };
    for bad in ["a\u{0}b.pdf".to_string(), "x".repeat(101)] {
        refused(
            w.post(bulk, document(bad)).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        );
    }
    refused(
        w.post(
            "/api/sessions/{id}/messages/send-document",
            json!({ "chatId": "628123456789", "document": { "url": "https://example.com/a.pdf" },
                    "filename": "x".repeat(101) }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            bulk,
            json!({ "messages": [{ "chatId": "628123456789", "type": "image", "content": {
            "image": { "url": "https://example.com/a.jpg" },
            "caption": "c".repeat(wagate_core::limits::CAPTION_MAX_CHARS + 1) } }] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "MESSAGE_TEXT_TOO_LONG",
    );
}

/// The files kept in the world's media storage for its session.
fn kept_files(w: &World) -> usize {
    let dir = w._dir.path().join("media").join(&w.session);
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[tokio::test]
async fn a_refused_send_leaves_no_file_behind() {
    let w = world().await;
    // A JPEG by its first bytes: checked and kept before the queue refuses
    // the send (the session is not running).
    let jpeg = format!("data:image/jpeg;base64,{}", "/9j/4AAQSkZJRgABAQ".repeat(4));
    refused(
        w.post(
            "/api/sessions/{id}/messages/send-image",
            json!({ "chatId": "628123456789", "image": { "base64": jpeg } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "SESSION_NOT_READY",
    );
    // A bulk whose second item is bad: the first item's file was kept.
    refused(
        w.post(
            "/api/sessions/{id}/messages/send-bulk",
            json!({ "messages": [
                { "chatId": "628123456789", "type": "image", "content": { "image": { "base64": jpeg } } },
                { "chatId": "628123456789", "type": "hologram", "content": {} } ] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    // The files were kept (their folder exists), then deleted: deletion is
    // immediate on local storage.
    let folder = w._dir.path().join("media").join(&w.session);
    assert!(
        folder.is_dir(),
        "no file was ever kept: this story proves nothing"
    );
    assert_eq!(kept_files(&w), 0, "a refused send's file stayed behind");
}

#[tokio::test]
async fn webhooks_refuse_bad_urls_events_and_headers() {
    let w = world().await;
    let hooks = "/api/sessions/{id}/webhooks";
    refused(
        w.post(hooks, json!({ "url": "ftp://example.com/x" })).await,
        StatusCode::BAD_REQUEST,
        "WEBHOOK_URL_INVALID",
    );
    let (status, body) = w
        .post(hooks, json!({ "url": "http://127.0.0.1:9/hook" }))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "WEBHOOK_URL_INVALID");
    assert_eq!(body["error"]["details"]["reason"], "forbidden_address");
    refused(
        w.post(
            hooks,
            json!({ "url": "https://example.com/h", "events": ["message.exploded"] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.post(
            hooks,
            json!({ "url": "https://example.com/h", "headers": { "Host": "evil" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn pacing_names_the_field_that_is_out_of_range() {
    let w = world().await;
    let path = format!("/api/sessions/{}/pacing", w.session);
    for (body, field) in [
        (json!({ "minIntervalMs": -5 }), "minIntervalMs"),
        (json!({ "maxPerMinute": 1e12 }), "maxPerMinute"),
        (json!({ "jitterMs": 999_999_999_u64 }), "jitterMs"),
    ] {
        let (status, answer) = w.call("PUT", &path, Some(body), &w.key).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {answer}"
        );
    }
    refused(
        w.call("PUT", &path, Some(json!({ "turbo": true })), &w.key)
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
}

#[tokio::test]
async fn sessions_refuse_bad_names_and_unknown_ids() {
    let w = world().await;
    refused(
        w.call("POST", "/api/sessions", Some(json!({ "name": "" })), &w.key)
            .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.call(
            "POST",
            "/api/sessions",
            Some(json!({ "name": "x".repeat(500) })),
            &w.key,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.call("GET", "/api/sessions/sess_nope", None, &w.key).await,
        StatusCode::NOT_FOUND,
        "SESSION_NOT_FOUND",
    );
    let (status, mine) = w
        .call("GET", &format!("/api/sessions/{}", w.session), None, &w.key)
        .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["data"]["name"], "alpha");
}

/// A preflight (or a request) from `origin`: the CORS headers it got.
async fn from_origin(
    w: &World,
    method: &str,
    origin: &str,
) -> (u16, Option<String>, Option<String>) {
    let mut req = Request::builder()
        .method(method)
        .uri("/api/sessions")
        .header("Origin", origin);
    if method == "OPTIONS" {
        req = req
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "x-api-key, content-type");
    } else {
        req = req.header("X-API-Key", &w.key);
    }
    let resp = w
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    (
        resp.status().as_u16(),
        h("access-control-allow-origin"),
        h("access-control-allow-credentials"),
    )
}

#[tokio::test]
async fn cors_lets_only_the_configured_origins_in() {
    // Off by default: no CORS header at all.
    let w = world().await;
    let (_, allow, _) = from_origin(&w, "GET", "https://app.example").await;
    assert_eq!(allow, None);

    // A list: those origins, with credentials; the preflight needs no key.
    let list =
        wagate_api::cors::CorsOrigins::parse("https://app.example, http://localhost:5173").unwrap();
    let w = world_with(list).await;
    let (status, allow, creds) = from_origin(&w, "OPTIONS", "https://app.example").await;
    assert!(status < 300, "the preflight passes: {status}");
    assert_eq!(allow.as_deref(), Some("https://app.example"));
    assert_eq!(creds.as_deref(), Some("true"));
    let (status, allow, _) = from_origin(&w, "GET", "http://localhost:5173").await;
    assert_eq!(status, 200);
    assert_eq!(allow.as_deref(), Some("http://localhost:5173"));
    let (_, allow, _) = from_origin(&w, "OPTIONS", "https://evil.example").await;
    assert_eq!(allow, None, "another origin's preflight fails");

    // `*`: any origin, never with credentials.
    let w = world_with(wagate_api::cors::CorsOrigins::Any).await;
    let (_, allow, creds) = from_origin(&w, "OPTIONS", "https://anyone.example").await;
    assert_eq!(allow.as_deref(), Some("*"));
    assert_eq!(creds, None);
}

#[tokio::test]
async fn outputs_check_broker_urls_and_never_show_a_password() {
    let w = world().await;
    // Step 1: a broker the gateway does not publish to, a URL of the wrong
    // broker, a name that is not a stream, a filter that is not events.
    for body in [
        json!({ "type": "kafka", "url": "nats://nats.example.com" }),
        json!({ "type": "nats", "url": "amqp://rabbit.example.com" }),
        json!({ "type": "rabbitmq", "url": "not a url" }),
        json!({ "type": "nats", "url": "nats://nats.example.com", "stream": "a.b" }),
        json!({ "type": "nats", "url": "nats://nats.example.com", "exchange": "x" }),
        json!({ "type": "rabbitmq", "url": "amqp://rabbit.example.com", "exchange": "amq.topic" }),
        json!({ "type": "nats", "url": "nats://nats.example.com", "events": [] }),
    ] {
        refused(
            w.post("/api/outputs", body.clone()).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
        );
    }
    // Step 2: a tenant's broker on an internal address is refused, and says
    // why without saying what listens there.
    let (status, body) = w
        .post(
            "/api/outputs",
            json!({ "type": "rabbitmq", "url": "amqp://guest:guest@127.0.0.1:5672/%2f" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["reason"], "forbidden_address");
    // Step 3: the admin (the operator) may use it; the password never shows.
    let (status, body) = w
        .call(
            "POST",
            "/api/outputs",
            Some(json!({ "type": "rabbitmq", "url": "amqp://guest:s3cret@127.0.0.1:5672/%2f" })),
            ADMIN_KEY,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["url"], "amqp://guest:***@127.0.0.1:5672/%2f");
    assert_eq!(body["data"]["exchange"], "wagate");
    assert!(!body.to_string().contains("s3cret"));
    let id = body["data"]["id"].as_str().unwrap().to_string();
    // Step 4: the tenant neither sees nor touches the admin's output.
    let (_, list) = w.call("GET", "/api/outputs", None, &w.key).await;
    assert_eq!(list["data"], json!([]));
    refused(
        w.call("GET", &format!("/api/outputs/{id}"), None, &w.key)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    refused(
        w.call("DELETE", &format!("/api/outputs/{id}"), None, &w.key)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    // Step 5: the admin pauses it; the answer still hides the password.
    let (status, body) = w
        .call(
            "PATCH",
            &format!("/api/outputs/{id}"),
            Some(json!({ "active": false })),
            ADMIN_KEY,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["active"], false);
    assert!(!body.to_string().contains("s3cret"));
}

#[tokio::test]
async fn stats_count_api_calls_and_sessions_per_tenant() {
    let w = world().await;
    // Step 1: the tenant makes a few calls.
    for _ in 0..3 {
        let (status, _) = w.call("GET", "/api/sessions", None, &w.key).await;
        assert_eq!(status, 200);
    }
    // Step 2: its statistics count them (and this call), today, durably.
    let (status, body) = w
        .call(
            "GET",
            &format!("/api/tenants/{}/stats?days=3", w.tenant),
            None,
            &w.key,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let d = &body["data"];
    assert!(d["apiCalls"].as_i64().unwrap() >= 4, "{d}");
    assert_eq!(d["daily"].as_array().unwrap().len(), 3);
    assert_eq!(d["daily"][2]["apiCalls"], d["apiCalls"]);
    let sessions: i64 = d["sessions"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(sessions, 1, "{d}");
    let (_, mine) = w.call("GET", "/api/stats", None, &w.key).await;
    assert_eq!(mine["data"]["daily"].as_array().unwrap().len(), 7);
    // Step 3: bad ranges and other tenants are refused.
    refused(
        w.call("GET", "/api/stats?days=0", None, &w.key).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
    );
    refused(
        w.call("GET", "/api/tenants/tnt_someoneelse/stats", None, &w.key)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    let (status, _) = w
        .call(
            "GET",
            &format!("/api/tenants/{}/stats", w.tenant),
            None,
            ADMIN_KEY,
        )
        .await;
    assert_eq!(status, 200);
}

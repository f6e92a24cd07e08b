//! API rate limiting, through HTTP only: a burst over a tenant's limit gets
//! 429 `RATE_LIMITED` with `X-RateLimit-*` and `Retry-After`; each tenant and
//! each category has its own budget; the admin key is exempt unless
//! `RATE_LIMIT_ADMIN=true`; a tenant's own limits override the defaults.
//! The main story runs on SQLite and PostgreSQL (the overrides live in the
//! tenants table).

mod common;

use common::*;
use serde_json::{Value, json};

/// One answer with the headers this test looks at.
struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    fn limit(&self) -> Option<u64> {
        self.header("x-ratelimit-limit")
    }

    fn remaining(&self) -> Option<u64> {
        self.header("x-ratelimit-remaining")
    }
}

async fn call(
    base: &str,
    key: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut r = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(k) = key {
        r = r.header("X-API-Key", k);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("request reaches the gateway");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        headers,
    }
}

async fn get(base: &str, key: &str, path: &str) -> Answer {
    call(base, Some(key), reqwest::Method::GET, path, None).await
}

async fn post(base: &str, key: &str, path: &str, body: Value) -> Answer {
    call(base, Some(key), reqwest::Method::POST, path, Some(body)).await
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A new tenant's id and key, created with the admin key.
async fn tenant(base: &str, name: &str) -> (String, String) {
    let a = post(base, ADMIN_KEY, "/api/tenants", json!({ "name": name })).await;
    assert_eq!(a.status, 201, "create tenant {name}: {}", a.body);
    (
        a.body["data"]["tenant"]["id"].as_str().unwrap().to_string(),
        a.body["data"]["apiKey"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_on_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_on_postgres() {
    story(Db::postgres().await).await;
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[
            ("RATE_LIMIT_READ_PER_MIN", "5".to_string()),
            ("RATE_LIMIT_SESSION_PER_MIN", "2".to_string()),
        ],
    );
    let base = gw.base.as_str();
    let (_alice_id, alice) = tenant(base, "alice").await;
    let (bob_id, bob) = tenant(base, "bob").await;

    // A burst of reads: five pass with a falling Remaining, the sixth is 429.
    let before = now_secs();
    let mut reset = None;
    for i in 0..5u64 {
        let a = get(base, &alice, "/api/sessions").await;
        assert_eq!(a.status, 200, "read {i}: {}", a.body);
        assert_eq!(a.limit(), Some(5));
        assert_eq!(a.remaining(), Some(4 - i));
        let r = a.header("x-ratelimit-reset").expect("X-RateLimit-Reset");
        assert!(
            r > before && r <= now_secs() + 61,
            "reset {r} is within the next minute"
        );
        // One window: the same reset on every answer.
        assert_eq!(*reset.get_or_insert(r), r);
    }
    let over = get(base, &alice, "/api/sessions").await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.body["success"], false);
    assert_eq!(over.body["error"]["code"], "RATE_LIMITED");
    assert_eq!(over.body["error"]["details"]["category"], "read");
    assert!(over.body["meta"]["requestId"].is_string());
    assert_eq!(over.limit(), Some(5));
    assert_eq!(over.remaining(), Some(0));
    assert_eq!(over.header("x-ratelimit-reset"), reset);
    let retry = over.header("retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Any read counts, not only that route.
    let other_read = get(base, &alice, "/api/circles").await;
    assert_eq!(other_read.status, 429);

    // Categories are separate: sending and session management still pass.
    let created = post(base, &alice, "/api/sessions", json!({ "name": "a1" })).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.limit(), Some(2));
    assert_eq!(created.remaining(), Some(1));
    let sid = created.body["data"]["id"].as_str().unwrap().to_string();
    let sent = post(
        base,
        &alice,
        &format!("/api/sessions/{sid}/messages/send-text"),
        json!({ "chatId": "628123456789@c.us", "text": "hi" }),
    )
    .await;
    // Not connected, so the send fails; the headers are on errors too.
    assert_ne!(sent.status, 429, "{}", sent.body);
    assert_eq!(sent.limit(), Some(60));
    assert_eq!(sent.remaining(), Some(59));
    // Session management has its own, smaller budget.
    let stopped = post(
        base,
        &alice,
        &format!("/api/sessions/{sid}/stop"),
        json!({}),
    )
    .await;
    assert_ne!(stopped.status, 429, "{}", stopped.body);
    assert_eq!(stopped.remaining(), Some(0));
    let refused = post(base, &alice, "/api/sessions", json!({ "name": "a2" })).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["details"]["category"], "session");

    // Another tenant has its own budget.
    let b = get(base, &bob, "/api/sessions").await;
    assert_eq!(b.status, 200);
    assert_eq!(b.remaining(), Some(4));

    // The admin key is not limited by default, and carries no headers.
    for _ in 0..12 {
        let a = get(base, ADMIN_KEY, "/api/sessions").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.limit(), None);
    }

    // No key, or a wrong one: a 401, not counted and not limited.
    for key in [None, Some("not-a-key")] {
        let a = call(base, key, reqwest::Method::GET, "/api/sessions", None).await;
        assert_eq!(a.status, 401, "{}", a.body);
        assert_eq!(a.limit(), None);
    }
    // Health, docs and the event stream are not limited.
    let h = get(base, &alice, "/health").await;
    assert_eq!((h.status, h.limit()), (200, None));
    let d = get(base, &alice, "/api/docs-json").await;
    assert_eq!((d.status, d.limit()), (200, None));
    let doc = d.body.to_string();
    assert!(doc.contains("/api/tenants/{id}/rate-limits"));
    assert!(doc.contains("RATE_LIMITED"));

    // A tenant's own limits win over the defaults, at once.
    let path = format!("/api/tenants/{bob_id}/rate-limits");
    let a = get(base, ADMIN_KEY, &path).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["overrides"]["read"], Value::Null);
    assert_eq!(a.body["data"]["effective"]["read"], 5);
    assert_eq!(a.body["data"]["effective"]["send"], 60);
    let put = call(
        base,
        Some(ADMIN_KEY),
        reqwest::Method::PUT,
        &path,
        Some(json!({ "read": 2, "webhook": 0 })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["data"]["overrides"]["read"], 2);
    assert_eq!(put.body["data"]["effective"]["read"], 2);
    assert_eq!(put.body["data"]["effective"]["webhook"], 0);
    assert_eq!(put.body["data"]["effective"]["session"], 2);
    // Bob spent one read of this window already: one more, then 429.
    let b = get(base, &bob, "/api/sessions").await;
    assert_eq!(
        (b.status, b.limit(), b.remaining()),
        (200, Some(2), Some(0))
    );
    let b = get(base, &bob, "/api/sessions").await;
    assert_eq!((b.status, b.limit()), (429, Some(2)));
    // Tenants can't change their own limits.
    let a = call(
        base,
        Some(&bob),
        reqwest::Method::PUT,
        &path,
        Some(json!({ "read": 1000 })),
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // `0` turns a category off for the tenant: no headers at all.
    let put = call(
        base,
        Some(ADMIN_KEY),
        reqwest::Method::PUT,
        &path,
        Some(json!({ "read": 0 })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    for _ in 0..4 {
        let b = get(base, &bob, "/api/sessions").await;
        assert_eq!((b.status, b.limit()), (200, None));
    }
    // Bad bodies and unknown tenants.
    let bad = call(
        base,
        Some(ADMIN_KEY),
        reqwest::Method::PUT,
        &path,
        Some(json!({ "reads": 3 })),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let missing = get(base, ADMIN_KEY, "/api/tenants/tnt_nope/rate-limits").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_key_counts_with_rate_limit_admin() {
    let sandbox = start_sandbox().await;
    let db = Db::sqlite();
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[
            ("RATE_LIMIT_ADMIN", "true".to_string()),
            ("RATE_LIMIT_READ_PER_MIN", "3".to_string()),
        ],
    );
    for i in 0..3u64 {
        let a = get(&gw.base, ADMIN_KEY, "/api/sessions").await;
        assert_eq!(
            (a.status, a.limit(), a.remaining()),
            (200, Some(3), Some(2 - i))
        );
    }
    let a = get(&gw.base, ADMIN_KEY, "/api/sessions").await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "RATE_LIMITED");
    assert!(a.header("retry-after").is_some());
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_enabled_false_turns_it_off() {
    let sandbox = start_sandbox().await;
    let db = Db::sqlite();
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &[
            ("RATE_LIMIT_ENABLED", "false".to_string()),
            ("RATE_LIMIT_READ_PER_MIN", "1".to_string()),
        ],
    );
    let (_, key) = tenant(&gw.base, "carol").await;
    for _ in 0..5 {
        let a = get(&gw.base, &key, "/api/sessions").await;
        assert_eq!((a.status, a.limit()), (200, None));
    }
    gw.stop();
}

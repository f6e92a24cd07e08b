//! The dashboard in a real browser (Debian's chromium through chromedriver)
//! against the real binary and the sandbox: logging in, linking a phone by
//! QR, the message room with an echo bot, the number checker, a webhook's
//! delivery log, a tenant's own view, and the login token on the API.
//! Screenshots of each story land under `$TMPDIR/wagate-dashboard-e2e/`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_testkit::browser::Browser;

const OPERATOR: &str = "operator";
const PASSWORD: &str = "correct horse battery staple";
const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef";

fn dashboard_env() -> Vec<(&'static str, String)> {
    vec![
        ("DASHBOARD_USERNAME", OPERATOR.to_string()),
        ("DASHBOARD_PASSWORD", PASSWORD.to_string()),
        ("JWT_SECRET", JWT_SECRET.to_string()),
    ]
}

struct World {
    sandbox: wagate_sandbox::Sandbox,
    gw: Gateway,
    _data: tempfile::TempDir,
    _db: Db,
}

async fn world(extra: &[(&'static str, String)]) -> World {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let mut env = dashboard_env();
    env.extend(extra.iter().cloned());
    let gw = Gateway::start_with_env(data.path(), &db.url(data.path()), &sandbox, &env);
    World {
        sandbox,
        gw,
        _data: data,
        _db: db,
    }
}

async fn row_status(b: &Browser, name: &str) -> String {
    b.exec(
        "const r = document.querySelector(`#sessions-table tr[data-name=\"${arguments[0]}\"] td.status`); return r ? r.textContent : '';",
        json!([name]),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn wait_row_status(b: &Browser, name: &str, wanted: &str) {
    for _ in 0..600 {
        if row_status(b, name).await == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.screenshot(&format!("timeout-{name}-{wanted}")).await;
    panic!("row {name} never showed {wanted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_password_is_refused_and_the_operator_sees_a_connected_session() {
    let w = world(&[]).await;
    let api = w.gw.api(ADMIN_KEY);
    let alice = create_phone(&w.sandbox, "628311000001", "Alice").await;
    create_and_pair(&api, "alice", &alice).await;
    let b = Browser::start("login", 1280, 800).await;

    // Step 1: `/` leads to the dashboard, which asks to log in.
    b.goto(&format!("{}/", w.gw.base)).await;
    b.wait_for("#login-form").await;
    assert!(b.current_url().await.ends_with("/dashboard"));
    b.screenshot("01-login").await;

    // Step 2: a wrong password is refused.
    b.fill("#username", OPERATOR).await;
    b.fill("#password", "not the password").await;
    b.click("#login-submit").await;
    b.wait_until(
        "the refusal",
        "return document.querySelector('#login-error').textContent",
    )
    .await;
    assert!(b.find("nav#nav").await.is_none());
    b.screenshot("02-wrong-password").await;

    // Step 3: the right one logs in; the session list shows alice CONNECTED.
    b.fill("#password", PASSWORD).await;
    b.click("#login-submit").await;
    b.wait_for("nav#nav").await;
    b.goto(&format!("{}/dashboard#/sessions", w.gw.base)).await;
    wait_row_status(&b, "alice", "CONNECTED").await;
    let phone = b
        .text("#sessions-table tr[data-name=\"alice\"] td.phone")
        .await;
    assert_eq!(phone, "+628311000001");
    b.screenshot("03-sessions").await;

    // Step 4: the same screen at phone width.
    b.set_size(390, 844).await;
    b.goto(&format!("{}/dashboard#/overview", w.gw.base)).await;
    b.wait_until(
        "the overview counters",
        "return document.querySelector('#ov-sessions')?.textContent.includes('/')",
    )
    .await;
    b.screenshot("04-overview-phone").await;

    // Step 5: logging out ends the session: the API refuses the cookie.
    b.set_size(1280, 800).await;
    b.click("#logout").await;
    b.wait_for("#login-form").await;
    let status = b
        .exec(
            "return fetch('/api/sessions').then(r => r.status)",
            json!([]),
        )
        .await;
    assert_eq!(status, 401);
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_created_in_the_ui_turns_connected_when_its_qr_is_scanned() {
    let w = world(&[]).await;
    let phone = create_phone(&w.sandbox, "628311000011", "Qr Phone").await;
    let b = Browser::start("qr", 1280, 800).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;
    b.goto(&format!("{}/dashboard#/sessions", w.gw.base)).await;
    b.wait_for("#sessions-table").await;
    // A marker that a reload would wipe.
    b.exec("window.__noReload = 'still here'; return 1;", json!([]))
        .await;

    // Step 1: create a session; the QR modal opens with a code.
    b.click("#new-session").await;
    b.fill("#new-session-name", "from-the-ui").await;
    b.click("#create-session").await;
    let code = b
        .wait_until(
            "a QR code in the modal",
            "const i = document.querySelector('#qr-modal #qr-image'); return i && i.complete && i.naturalWidth > 0 ? i.dataset.code : null",
        )
        .await;
    let code = code.as_str().unwrap().to_string();
    assert!(code.contains(','), "a WhatsApp QR payload: {code}");
    b.screenshot("01-qr-modal").await;

    // Step 2: the phone scans it through the sandbox's admin API.
    phone.scan(&code).await;

    // Step 3: the modal closes by itself and the row turns CONNECTED, live.
    b.wait_until(
        "the QR modal to close",
        "return document.querySelector('#qr-modal') === null",
    )
    .await;
    wait_row_status(&b, "from-the-ui", "CONNECTED").await;
    let marker = b.exec("return window.__noReload", json!([])).await;
    assert_eq!(marker, "still here", "the page was not reloaded");
    b.screenshot("02-connected").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_message_room_shows_the_echo_live_and_a_hostile_push_name_as_text() {
    let w = world(&[]).await;
    let api = w.gw.api(ADMIN_KEY);
    let hostile = "<img src=x onerror=alert(1)>";
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones", w.sandbox.http_url()))
        .json(&json!({ "phone": "628311000099", "pushName": hostile, "bot": "echo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "the sandbox has an echo bot");
    let alice = create_phone(&w.sandbox, "628311000021", "Alice").await;
    let sid = create_and_pair(&api, "alice", &alice).await;
    let b = Browser::start("message-room", 1280, 800).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;

    // Step 1: open the echo bot's chat and send a text.
    b.goto(&format!(
        "{}/dashboard#/messages/{sid}/628311000099@c.us",
        w.gw.base
    ))
    .await;
    b.fill("#compose-text", "ping from the dashboard").await;
    b.click("#send").await;

    // Step 2: the echo appears without a reload.
    b.wait_until(
        "the echo",
        "return [...document.querySelectorAll('#conversation .msg.in .body')].some(e => e.textContent === 'ping from the dashboard')",
    )
    .await;
    b.wait_until(
        "the sent message",
        "return [...document.querySelectorAll('#conversation .msg.out .body')].some(e => e.textContent === 'ping from the dashboard')",
    )
    .await;

    // Step 3: the bot's push name is shown as text: no image, no dialog.
    let name = b
        .wait_until(
            "the chat list to name the bot",
            "const e = document.querySelector('#chat-list li[data-chat=\"628311000099@c.us\"] .chat-name'); return e && e.textContent.startsWith('<') ? e.textContent : null",
        )
        .await;
    assert_eq!(name, hostile);
    let injected = b
        .exec(
            "return document.querySelectorAll('#chat-list img, #conversation img[src=\"x\"]').length",
            json!([]),
        )
        .await;
    assert_eq!(injected, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.open_dialog().await, None, "no alert() ran");
    b.screenshot("01-message-room").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_number_checker_tells_registered_numbers_apart() {
    let w = world(&[]).await;
    let api = w.gw.api(ADMIN_KEY);
    let alice = create_phone(&w.sandbox, "628311000031", "Alice").await;
    create_phone(&w.sandbox, "628311000032", "Bob").await;
    create_phone(&w.sandbox, "628311000033", "Carol").await;
    create_and_pair(&api, "alice", &alice).await;
    let b = Browser::start("number-checker", 1280, 800).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;

    // Step 1: paste three numbers, two of them on WhatsApp, and check.
    b.goto(&format!("{}/dashboard#/checker", w.gw.base)).await;
    b.fill("#checker-input", "628311000032\n628311000033\n628399999999")
        .await;
    b.click("#checker-run").await;

    // Step 2: the table has the right answer for each.
    let rows = b
        .wait_until(
            "three results",
            "const rows = [...document.querySelectorAll('#checker-results tbody tr')]; return rows.length === 3 ? rows.map(r => [r.querySelector('.phone').textContent, r.querySelector('.exists').textContent]) : null",
        )
        .await;
    let answers: HashMap<String, String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(answers["628311000032"], "on WhatsApp");
    assert_eq!(answers["628311000033"], "on WhatsApp");
    assert_eq!(answers["628399999999"], "not on WhatsApp");
    assert_eq!(b.text("#checker-summary").await, "2 of 3 are on WhatsApp.");
    let csv_enabled = b
        .exec(
            "return !document.querySelector('#checker-csv').disabled",
            json!([]),
        )
        .await;
    assert_eq!(csv_enabled, true);
    b.screenshot("01-checker").await;
    b.quit().await;
}

/// A webhook receiver that answers 500 to its first request, then 200.
struct FailsOnce {
    url: String,
    answers: Arc<Mutex<Vec<u16>>>,
}

async fn receiver_failing_once() -> FailsOnce {
    let answers: Arc<Mutex<Vec<u16>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = answers.clone();
    let app = axum::Router::new().fallback(move || {
        let state = state.clone();
        async move {
            let mut answers = state.lock().unwrap();
            let code = if answers.is_empty() { 500 } else { 200 };
            answers.push(code);
            axum::http::StatusCode::from_u16(code).unwrap()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FailsOnce {
        url: format!("http://{addr}/hook"),
        answers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_webhook_delivery_shows_in_the_log_and_redeliver_succeeds() {
    let receiver = receiver_failing_once().await;
    let w = world(&[("WEBHOOK_RETRY_SCHEDULE", "1s".to_string())]).await;
    let api = w.gw.api(ADMIN_KEY);
    let (status, created) = api
        .post(
            "/api/sessions",
            json!({ "name": "hooked", "webhook": { "url": receiver.url, "events": ["session.status"] } }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let sid = created["data"]["id"].as_str().unwrap().to_string();
    let b = Browser::start("webhook-log", 1280, 900).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;

    // Step 1: the session's page lists the webhook and its delivery log,
    // with the failed first attempt: status 500, latency, error.
    b.goto(&format!("{}/dashboard#/session/{sid}", w.gw.base))
        .await;
    b.wait_until(
        "the failed attempt in the log",
        "return [...document.querySelectorAll('tr.delivery')].some(r => r.dataset.outcome !== 'delivered' && r.querySelector('.code').textContent === '500' && r.querySelector('.error').textContent.includes('500') && r.querySelector('.latency').textContent.endsWith('ms'))",
    )
    .await;
    b.screenshot("01-delivery-log").await;
    let delivered_before = receiver
        .answers
        .lock()
        .unwrap()
        .iter()
        .filter(|c| **c == 200)
        .count();

    // Step 2: Redeliver the failed attempt: the receiver gets it (200) and
    // the log shows one more delivered attempt.
    let rows_before = b
        .exec(
            "return document.querySelectorAll('tr.delivery[data-outcome=\"delivered\"]').length",
            json!([]),
        )
        .await
        .as_i64()
        .unwrap();
    b.exec(
        "[...document.querySelectorAll('tr.delivery')].find(r => r.dataset.outcome !== 'delivered').querySelector('button.redeliver').click(); return 1;",
        json!([]),
    )
    .await;
    eventually(
        "the redelivery to reach the receiver",
        Duration::from_secs(60),
        || async {
            let ok = receiver
                .answers
                .lock()
                .unwrap()
                .iter()
                .filter(|c| **c == 200)
                .count();
            (ok > delivered_before).then_some(())
        },
    )
    .await;
    b.wait_until(
        "one more delivered row",
        &format!("return document.querySelectorAll('tr.delivery[data-outcome=\"delivered\"]').length > {rows_before}"),
    )
    .await;
    b.screenshot("02-redelivered").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_session_page_lists_what_waits_in_the_queue_and_cancels_it() {
    let w = world(&[]).await;
    let api = w.gw.api(ADMIN_KEY);
    let alice = create_phone(&w.sandbox, "628777000031", "Alice").await;
    let bob = create_phone(&w.sandbox, "628777000032", "Bob").await;
    let sid = create_and_pair(&api, "queued", &alice).await;

    // Step 1: quiet hours all day hold the drip lane; two async sends wait.
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{}/api/sessions/{sid}/pacing", w.gw.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "quietHours": { "start": "00:00", "end": "23:59" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let mut queued = Vec::new();
    for text in ["first held", "second held"] {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{sid}/messages/send-text?async=true"),
                json!({ "chatId": bob.number, "text": text }),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        queued.push(body["data"]["queueId"].as_str().unwrap().to_string());
    }

    // Step 2: the session page lists both, oldest first, with a Cancel.
    let b = Browser::start("queue-items", 1280, 900).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;
    b.goto(&format!("{}/dashboard#/session/{sid}", w.gw.base))
        .await;
    b.wait_until(
        "both queued messages listed",
        "return document.querySelectorAll('#queue-items tr.queued-item[data-status=\"queued\"] button.cancel-queued').length === 2",
    )
    .await;
    let ids = b
        .exec(
            "return [...document.querySelectorAll('#queue-items tr.queued-item')].map(r => r.dataset.id)",
            json!([]),
        )
        .await;
    assert_eq!(ids, json!(queued));
    b.screenshot("01-queue-items").await;

    // Step 3: cancel the first after confirming; the API says cancelled and
    // the list keeps only the second.
    b.exec(
        "document.querySelector(`#queue-items tr.queued-item[data-id=\"${arguments[0]}\"] button.cancel-queued`).click(); return 1;",
        json!([queued[0]]),
    )
    .await;
    b.wait_for("#confirm-ok").await;
    b.click("#confirm-ok").await;
    b.wait_until(
        "one row left",
        "return document.querySelectorAll('#queue-items tr.queued-item').length === 1",
    )
    .await;
    let (_, first) = api
        .get(&format!("/api/sessions/{sid}/queue/{}", queued[0]))
        .await;
    assert_eq!(first["data"]["status"], "cancelled", "{first}");
    let (_, second) = api
        .get(&format!("/api/sessions/{sid}/queue/{}", queued[1]))
        .await;
    assert_eq!(second["data"]["status"], "queued", "{second}");
    b.screenshot("02-cancelled").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warming_room_is_built_reordered_previewed_and_run_from_the_dashboard() {
    let w = world(&[
        ("WARMING_WORKER_ENABLED", "true".to_string()),
        ("WARMING_WORKER_INTERVAL_SECONDS", "1".to_string()),
        ("TYPING_DELAY_MIN", "0".to_string()),
        ("TYPING_DELAY_MAX", "0".to_string()),
    ])
    .await;
    let api = w.gw.api(ADMIN_KEY);
    let alice = create_phone(&w.sandbox, "628777000041", "Alice").await;
    let bob = create_phone(&w.sandbox, "628777000042", "Bob").await;
    let a = create_and_pair(&api, "alice", &alice).await;
    let bb = create_and_pair(&api, "bob", &bob).await;
    let b = Browser::start("warming-room", 1280, 900).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;

    // Step 1: a room of alice and bob, one second between lines.
    b.goto(&format!("{}/dashboard#/warming", w.gw.base)).await;
    b.wait_for("#room-form").await;
    b.fill("#room-name", "first week").await;
    b.exec(
        "document.querySelector('#room-a').value = arguments[0]; document.querySelector('#room-b').value = arguments[1]; document.querySelector('#room-min').value = 1; document.querySelector('#room-max').value = 1; return 1;",
        json!([a, bb]),
    )
    .await;
    b.click("#room-create").await;
    b.wait_for("#line-list").await;
    let (_, rooms) = api.get("/api/warming/rooms").await;
    let room = rooms["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(rooms["data"][0]["status"], "DRAFT");

    // Step 2: three lines, then the first moved down one place.
    for (actor, text) in [
        ("A", "one from alice"),
        ("B", "two from bob"),
        ("A", "three from alice"),
    ] {
        b.exec(
            "document.querySelector('#new-line-actor').value = arguments[0]; return 1;",
            json!([actor]),
        )
        .await;
        b.fill("#new-line-text", text).await;
        let before = b
            .exec(
                "return document.querySelectorAll('#line-list li.line').length",
                json!([]),
            )
            .await
            .as_i64()
            .unwrap();
        b.click("#new-line-add").await;
        b.wait_until(
            "the line is listed",
            &format!(
                "return document.querySelectorAll('#line-list li.line').length === {}",
                before + 1
            ),
        )
        .await;
    }
    b.exec(
        "document.querySelector('#line-list li.line button.line-down').click(); return 1;",
        json!([]),
    )
    .await;
    b.wait_until(
        "the new order",
        "return document.querySelector('#line-list li.line .line-text')?.value === 'two from bob'",
    )
    .await;
    let (_, lines) = api.get(&format!("/api/warming/rooms/{room}/lines")).await;
    let texts: Vec<&str> = lines["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["two from bob", "one from alice", "three from alice"]
    );

    // Step 3: a ramp-up plan, saved on the room.
    b.fill("#ramp-start", "10").await;
    b.fill("#ramp-step", "5").await;
    b.fill("#ramp-max", "80").await;
    b.click("#ramp-save").await;
    eventually("the plan is saved", Duration::from_secs(20), || async {
        let (_, r) = api.get(&format!("/api/warming/rooms/{room}")).await;
        (r["data"]["settings"]["rampUp"] == json!({ "start": 10, "step": 5, "max": 80 }))
            .then_some(())
    })
    .await;

    // Step 4: the dry-run preview shows the conversation in its new order,
    // and nothing reaches the sandbox.
    b.click("#room-preview-run").await;
    b.wait_until(
        "the preview",
        "return document.querySelectorAll('#preview-list li').length === 3",
    )
    .await;
    let preview = b.text("#preview-list").await;
    assert!(
        preview.find("two from bob").unwrap() < preview.find("one from alice").unwrap(),
        "{preview}"
    );
    b.screenshot("01-room-built").await;

    // Step 5: start it; the live feed fills and the room finishes.
    b.wait_for("#room-start:not([disabled])").await;
    b.click("#room-start").await;
    b.wait_until(
        "three lines sent",
        "return document.querySelectorAll('#room-feed-table tr.feed-row[data-status=\"SUCCESS\"]').length === 3",
    )
    .await;
    b.wait_until(
        "the room finished",
        "return document.querySelector('#room-head .badge.status')?.dataset.status === 'FINISHED'",
    )
    .await;
    b.screenshot("02-room-finished").await;
    let (_, got) = api
        .get(&format!(
            "/api/sessions/{a}/chats/{}/messages?limit=10",
            bob.number
        ))
        .await;
    assert!(
        got["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "two from bob" && m["fromMe"] == false),
        "{got}"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_logged_in_with_its_key_sees_only_its_own_sessions() {
    let w = world(&[]).await;
    let admin = w.gw.api(ADMIN_KEY);
    let (status, tenant) = admin.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{tenant}");
    let key = tenant["data"]["apiKey"].as_str().unwrap().to_string();
    let (status, _) =
        w.gw.api(&key)
            .post("/api/sessions", json!({ "name": "acme-sales" }))
            .await;
    assert_eq!(status, 201);
    let (status, _) = admin
        .post("/api/sessions", json!({ "name": "operator-only" }))
        .await;
    assert_eq!(status, 201);
    let b = Browser::start("tenant", 1280, 800).await;

    // Step 1: log in with the tenant's key.
    b.goto(&format!("{}/dashboard", w.gw.base)).await;
    b.click("#tab-tenant").await;
    b.fill("#api-key", &key).await;
    b.click("#login-submit").await;
    b.wait_for("nav#nav").await;

    // Step 2: the session list has the tenant's session and not the operator's.
    b.goto(&format!("{}/dashboard#/sessions", w.gw.base)).await;
    b.wait_for("#sessions-table tr[data-name=\"acme-sales\"]")
        .await;
    assert!(
        b.find("#sessions-table tr[data-name=\"operator-only\"]")
            .await
            .is_none()
    );
    assert!(
        b.find("#nav-tenants").await.is_none(),
        "no operator screens"
    );
    let html = b
        .exec("return document.documentElement.outerHTML", json!([]))
        .await;
    assert!(
        !html.as_str().unwrap().contains(&key),
        "the key is never in the page"
    );
    b.screenshot("01-tenant-sessions").await;
    b.quit().await;
}

// ── the login token on the API (no browser) ─────────────────────────────

async fn login(base: &str, body: Value) -> (u16, Value, Vec<String>) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (status, resp.json().await.unwrap_or(Value::Null), cookies)
}

async fn bearer(base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// An HS256 token with `claims`, signed with `secret`.
fn sign(claims: &Value, secret: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let head = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = b64.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_login_token_works_as_a_bearer_and_expired_or_tampered_ones_get_401() {
    let w = world(&[]).await;
    let base = w.gw.base.clone();
    let (status, _) =
        w.gw.api(ADMIN_KEY)
            .post("/api/sessions", json!({ "name": "s1" }))
            .await;
    assert_eq!(status, 201);

    // Step 1: a login answers a token and an HttpOnly, SameSite=Strict cookie.
    let (status, body, cookies) =
        login(&base, json!({ "username": OPERATOR, "password": PASSWORD })).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_string();
    assert!(body["data"]["expiresAt"].is_string());
    assert_eq!(body["data"]["isAdmin"], true);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("wagate_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "plain http on loopback");

    // Step 2: the token works as a Bearer token on /api/sessions.
    let (status, list) = bearer(&base, "/api/sessions", &token).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"][0]["name"], "s1");

    // Step 3: a tampered token and an expired one answer 401 UNAUTHORIZED.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = bearer(&base, "/api/sessions", &tampered).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    let expired = sign(
        &json!({ "sub": OPERATOR, "tid": "admin", "adm": true, "csrf": "x",
                 "iat": now_secs() - 7200, "exp": now_secs() - 3600 }),
        JWT_SECRET,
    );
    let (status, body) = bearer(&base, "/api/sessions", &expired).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    let forged = sign(
        &json!({ "sub": OPERATOR, "tid": "admin", "adm": true, "csrf": "x",
                 "iat": now_secs(), "exp": now_secs() + 3600 }),
        "some other secret entirely",
    );
    let (status, _) = bearer(&base, "/api/sessions", &forged).await;
    assert_eq!(status, 401);

    // Step 4: the cookie alone cannot change anything without the CSRF header.
    let jar_cookie = cookie.split(';').next().unwrap().to_string();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/sessions"))
        .header("Cookie", &jar_cookie)
        .json(&json!({ "name": "csrf-less" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let csrf = body_csrf(&http, &base, &jar_cookie).await;
    let resp = http
        .post(format!("{base}/api/sessions"))
        .header("Cookie", &jar_cookie)
        .header("X-CSRF-Token", csrf)
        .json(&json!({ "name": "with-csrf" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Step 5: a tenant's token has the tenant's rights only, and dies with its key.
    let admin = w.gw.api(ADMIN_KEY);
    let (_, tenant) = admin.post("/api/tenants", json!({ "name": "t" })).await;
    let tenant_id = tenant["data"]["tenant"]["id"].as_str().unwrap().to_string();
    let key = tenant["data"]["apiKey"].as_str().unwrap().to_string();
    let (status, body, _) = login(&base, json!({ "apiKey": key })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["isAdmin"], false);
    let tenant_token = body["data"]["token"].as_str().unwrap().to_string();
    let (status, list) = bearer(&base, "/api/sessions", &tenant_token).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
    let (status, _) = bearer(&base, "/api/tenants", &tenant_token).await;
    assert_eq!(status, 403);
    let (_, keys) = admin.get(&format!("/api/tenants/{tenant_id}/keys")).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    admin
        .delete(&format!("/api/tenants/{tenant_id}/keys/{key_id}"))
        .await;
    let (status, _) = bearer(&base, "/api/sessions", &tenant_token).await;
    assert_eq!(status, 401, "a revoked key's token stops working");

    // Step 6: wrong passwords are limited: after five, even the right one waits.
    for _ in 0..5 {
        let (status, body, _) =
            login(&base, json!({ "username": OPERATOR, "password": "nope" })).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    }
    let (status, body, _) =
        login(&base, json!({ "username": OPERATOR, "password": PASSWORD })).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");

    // Step 7: the dashboard's pages carry a strict CSP and never the admin key.
    let resp = http.get(format!("{base}/dashboard")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let html = resp.text().await.unwrap();
    assert!(!html.contains(ADMIN_KEY) && !html.contains(PASSWORD));
    assert!(!html.contains("<script>"), "no inline script");
}

async fn body_csrf(http: &reqwest::Client, base: &str, cookie: &str) -> String {
    let me: Value = http
        .get(format!("{base}/api/auth/me"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["data"]["csrfToken"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_the_dashboard_only_says_how_to_enable_it() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/dashboard", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let html = resp.text().await.unwrap();
    assert!(html.contains("DASHBOARD_USERNAME") && html.contains("JWT_SECRET"));
    let (status, body, _) = login(&gw.base, json!({ "username": "admin", "password": "" })).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN");
}

/// Every main screen at desktop and phone width (the README's screenshots
/// come from this run).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_screen_renders_at_desktop_and_phone_width() {
    let w = world(&[]).await;
    let api = w.gw.api(ADMIN_KEY);
    let alice = create_phone(&w.sandbox, "628311000041", "Alice").await;
    let bob = create_phone(&w.sandbox, "628311000042", "Bob").await;
    let a = create_and_pair(&api, "alice", &alice).await;
    let bb = create_and_pair(&api, "bob", &bob).await;
    api.post(
        "/api/sessions",
        json!({ "name": "spare", "circle": "sales", "notes": "not linked yet" }),
    )
    .await;
    for text in ["Hi Bob!", "Are we still on for tomorrow?"] {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{a}/messages/send-text"),
                json!({ "chatId": "628311000042@c.us", "text": text }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = api
        .post(
            &format!("/api/sessions/{bb}/messages/send-text"),
            json!({ "chatId": "628311000041@c.us", "text": "Yes, 10:00 at the office 👍" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    api.post(
        &format!("/api/sessions/{a}/webhooks"),
        json!({ "url": "http://127.0.0.1:9/unreachable", "events": ["message.received"] }),
    )
    .await;
    api.post("/api/tenants", json!({ "name": "acme" })).await;
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({
                "name": "new numbers",
                "actors": [
                    { "id": "A", "name": "Alice", "sessionId": a },
                    { "id": "B", "name": "Bob", "sessionId": bb },
                ],
                "settings": { "rampUp": { "start": 10, "step": 5, "max": 80 } },
                "lines": [
                    { "actor": "A", "text": "{Hi|Hello} {OTHER_NAME}, {TIME_GREETING}!" },
                    { "actor": "B", "text": "{Hey|Yo} {OTHER_NAME}, happy {DAY_NAME}" },
                ],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    let b = Browser::start("screens", 1280, 800).await;
    b.login(&w.gw.base, OPERATOR, PASSWORD).await;

    let screens: Vec<(&str, String, &str)> = vec![
        (
            "overview",
            "#/overview".into(),
            "return document.querySelector('#ov-sessions')?.textContent.includes('/')",
        ),
        (
            "sessions",
            "#/sessions".into(),
            "return document.querySelectorAll('#sessions-table tr[data-id]').length === 3",
        ),
        (
            "session-detail",
            format!("#/session/{a}"),
            "return document.querySelector('#webhooks .webhook')",
        ),
        (
            "messages",
            format!("#/messages/{a}/628311000042@c.us"),
            "return document.querySelectorAll('#conversation .msg').length >= 3",
        ),
        (
            "groups",
            "#/groups".into(),
            "return document.querySelector('#groups-table')",
        ),
        (
            "number-checker",
            "#/checker".into(),
            "return document.querySelector('#checker-run')",
        ),
        (
            "bulk",
            "#/bulk".into(),
            "return document.querySelector('#bulk-start')",
        ),
        (
            "outbox",
            "#/outbox".into(),
            "return document.querySelector('#outbox-table tbody tr')",
        ),
        (
            "tenants",
            "#/tenants".into(),
            "return document.querySelector('.tenant')",
        ),
        (
            "events",
            "#/events".into(),
            "return document.querySelector('#ev-state')?.textContent === 'live'",
        ),
        (
            "warming",
            "#/warming".into(),
            "return document.querySelector('#rooms-table tr.room-row')",
        ),
        (
            "warming-room",
            format!("#/warming/{room}"),
            "return document.querySelectorAll('#line-list li.line').length === 2 && document.querySelector('#ramp-save')",
        ),
    ];
    for (width, height, suffix) in [(1280, 800, "desktop"), (390, 844, "phone")] {
        b.set_size(width, height).await;
        for (name, hash, ready) in &screens {
            b.goto(&format!("{}/dashboard{hash}", w.gw.base)).await;
            b.wait_until(name, ready).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Nothing is wider than the window (tables scroll inside their box).
            let overflow = b
                .exec(
                    "return document.documentElement.scrollWidth - window.innerWidth",
                    json!([]),
                )
                .await;
            assert!(
                overflow.as_i64().unwrap_or(0) <= 1,
                "{name} overflows at {width}px by {overflow}"
            );
            b.screenshot(&format!("{name}-{suffix}")).await;
        }
    }
    // The QR modal, for the README.
    b.set_size(1280, 800).await;
    b.goto(&format!("{}/dashboard#/sessions", w.gw.base)).await;
    b.click("#sessions-table tr[data-name=\"spare\"] button[data-action=\"qr\"]")
        .await;
    b.wait_until(
        "the QR",
        "const i = document.querySelector('#qr-image'); return i && i.complete && i.naturalWidth > 0",
    )
    .await;
    b.screenshot("qr-modal-desktop").await;
    b.quit().await;
}

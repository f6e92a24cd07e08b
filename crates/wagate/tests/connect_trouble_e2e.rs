//! A session that cannot reach WhatsApp says why, and pairs by itself once
//! WhatsApp is there.
//!
//! Story: the gateway's `WA_SERVER_URL` points at a port where nothing
//! listens. A new session stands CONNECTING with `statusReason:
//! connection_refused`, a `lastError` and a `nextRetryAt`; a
//! `session.status` event says the same; asking for its QR answers with the
//! cause instead of a bare SESSION_INITIALIZING. Then a sandbox starts on
//! that port, and the very same session shows a QR and pairs.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_says_why_it_cannot_connect_and_pairs_once_whatsapp_is_there() {
    // Step 1: a port where nothing listens (yet), and a gateway pointed at it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let elsewhere = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &elsewhere,
        &[("WA_SERVER_URL", format!("ws://127.0.0.1:{port}/ws/chat"))],
    );
    let api = gw.api(ADMIN_KEY);

    // Step 2: a new session says it cannot connect, why, and when it tries
    // again.
    let (status, created) = api.post("/api/sessions", json!({ "name": "early" })).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let session: Value = eventually(
        "the session names the cause",
        Duration::from_secs(60),
        || async {
            let (_, s) = api.get(&format!("/api/sessions/{id}")).await;
            (s["data"]["statusReason"] == "connection_refused").then(|| s["data"].clone())
        },
    )
    .await;
    assert_eq!(session["status"], "CONNECTING");
    assert!(
        session["lastError"].as_str().unwrap().contains("WebSocket"),
        "{session}"
    );
    assert!(session["nextRetryAt"].as_str().is_some(), "{session}");

    // Step 3: the event stream says it too.
    let ev = event_where(&gw.base, |v| {
        v["event"] == "session.status"
            && v["sessionId"] == id.as_str()
            && v["data"]["reason"] == "connection_refused"
    })
    .await;
    assert_eq!(ev["data"]["status"], "CONNECTING");
    assert!(ev["data"]["nextRetryAt"].as_str().is_some(), "{ev}");

    // Step 4: the QR route answers with the cause.
    let (status, qr) = api.get(&format!("/api/sessions/{id}/qr")).await;
    assert_eq!(status, 400, "{qr}");
    assert_eq!(qr["error"]["code"], "SESSION_INITIALIZING");
    assert_eq!(qr["error"]["details"]["reason"], "connection_refused");
    assert!(
        qr["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing listens"),
        "{qr}"
    );

    // Step 5: WhatsApp (a sandbox) appears on that port; the same session,
    // never re-created, shows a QR and pairs.
    let sandbox = Sandbox::start(SandboxConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        data_dir: None,
        ..Default::default()
    })
    .await
    .expect("the sandbox takes the port");
    let phone = create_phone(&sandbox, "628558000001", "Late").await;
    pair(&api, &id, &phone).await;
    let (_, s) = api.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(s["data"]["status"], "CONNECTED");
    assert!(s["data"]["statusReason"].is_null(), "{s}");
    assert!(s["data"]["lastError"].is_null(), "{s}");
    gw.stop();
}

//! A crowd of sessions comes back paced: eight paired sessions, and a
//! gateway restarted with `RECONNECT_CONCURRENCY=2`. WhatsApp's edge (the
//! sandbox, which counts clients handshaking at once) never sees more than
//! two of them handshaking at the same time, and every one of them is
//! CONNECTED again, with no QR.

mod common;

use common::*;
use serde_json::Value;

const PHONES: usize = 8;
const CONCURRENCY: usize = 2;

/// The sandbox's handshake counts (`GET /admin/handshakes`); `reset`
/// starts a new peak first.
async fn handshakes(sandbox: &wagate_sandbox::Sandbox, reset: bool) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}/admin/handshakes", sandbox.http_url());
    let resp = if reset {
        client.delete(&url).send().await.unwrap()
    } else {
        client.get(&url).send().await.unwrap()
    };
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_reconnects_every_session_at_most_n_at_a_time() {
    // Step 1: eight phones, each linked to a session of one gateway; the
    // sandbox is 20 ms away, like WhatsApp, so a connect takes a while.
    let sandbox = wagate_sandbox::Sandbox::start(wagate_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        latency: std::time::Duration::from_millis(20),
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let env = [
        ("RECONNECT_CONCURRENCY", CONCURRENCY.to_string()),
        ("RECONNECT_JITTER_MS", "50".to_string()),
    ];
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    let mut ids = Vec::new();
    for i in 0..PHONES {
        let number = format!("62877310{i:04}");
        let phone = create_phone(&sandbox, &number, &format!("Crowd {i}")).await;
        ids.push(create_and_pair(&api, &format!("crowd-{i}"), &phone).await);
    }

    // Step 2: the gateway stops; the sandbox starts counting afresh.
    gw.stop();
    let before = handshakes(&sandbox, true).await;
    assert_eq!(before["inFlight"], 0, "{before}");

    // Step 3: it starts again and every session comes back by itself.
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    for id in &ids {
        api.wait_status(id, "CONNECTED").await;
    }

    // Step 4: never more than two were handshaking at once, and each one
    // handshook (at least) once.
    let after = handshakes(&sandbox, false).await;
    let peak = after["peak"].as_u64().unwrap() as usize;
    assert!(
        (1..=CONCURRENCY).contains(&peak),
        "at most {CONCURRENCY} at once: {after}"
    );
    let begun = after["total"].as_u64().unwrap() - before["total"].as_u64().unwrap();
    assert!(begun >= PHONES as u64, "{before} → {after}");
    gw.stop();
}

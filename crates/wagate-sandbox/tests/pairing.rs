//! QR pairing, login, and IK reconnect against real whatsapp-rust clients.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_pairing_then_ik_restart() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450001", "Alice").await;
    let (mut a, device_jid) = paired_client(&sb, "628123450001").await;
    assert_eq!(device_jid, "628123450001:1@s.whatsapp.net");

    let (_, phones) = admin_get(&sb, "/admin/phones").await;
    assert_eq!(phones[0]["devices"][0]["deviceJid"], device_jid);

    // Restart from the stored credentials: no QR, straight to Connected.
    let backend = a.backend.clone();
    a.stop().await;
    let b = TestClient::start(&sb, backend).await;
    b.wait_connected_after(0).await;
    assert_eq!(
        b.events
            .count(|e| matches!(e, whatsapp_rust::types::events::Event::PairingQrCode(_))),
        0
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_code_links_the_device() {
    use whatsapp_rust::types::events::Event;
    let sb = sandbox().await;
    create_phone(&sb, "628123450071", "Hank").await;
    let backend: std::sync::Arc<dyn whatsapp_rust::store::traits::Backend> =
        std::sync::Arc::new(wacore::store::InMemoryBackend::new());
    let opts = whatsapp_rust::pair_code::PairCodeOptions {
        phone_number: "628123450071".into(),
        ..Default::default()
    };
    let c = TestClient::start_with(&sb, backend, Some(opts)).await;
    let code = c
        .events
        .wait("pairing code", |e| match e {
            Event::PairingCode(p) => Some(p.code.clone()),
            _ => None,
        })
        .await;
    let (status, body) = admin_post(
        &sb,
        "/admin/phones/628123450071/pair-code",
        serde_json::json!({ "code": code }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deviceJid"], "628123450071:1@s.whatsapp.net");
    c.wait_connected_after(0).await;

    // A wrong code for a number nobody is pairing is a 404.
    let (status, _) = admin_post(
        &sb,
        "/admin/phones/628123450071/pair-code",
        serde_json::json!({ "code": "ABCD1234" }),
    )
    .await;
    assert_eq!(status, 404);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_keeps_devices_across_restarts() {
    let dir = std::env::temp_dir().join(format!("wagate-sandbox-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = wagate_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    init_logs();
    let sb = wagate_sandbox::Sandbox::start(cfg.clone()).await.unwrap();
    create_phone(&sb, "628123450081", "Ivy").await;
    let (mut c, _) = paired_client(&sb, "628123450081").await;
    let backend = c.backend.clone();
    c.stop().await;
    sb.shutdown().await;

    // Same data dir, new process-equivalent: the device logs in without a QR.
    let sb = wagate_sandbox::Sandbox::start(cfg).await.unwrap();
    let c = TestClient::start(&sb, backend).await;
    c.wait_connected_after(0).await;
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

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

//! Admin-driven device lifecycle: kick (client reconnects), logout (client
//! reports LoggedOut and stops), temporary ban.

mod common;

use common::*;
use whatsapp_rust::types::events::Event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_reconnects_and_logout_logs_out() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450031", "Erin").await;
    let (c, jid) = paired_client(&sb, "628123450031").await;

    let before = c.connected_count();
    let (status, body) = admin_post(
        &sb,
        &format!("/admin/devices/{jid}/kick"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kicked"], true);
    c.wait_connected_after(before).await;

    let (status, body) = admin_post(
        &sb,
        &format!("/admin/devices/{jid}/logout"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    c.events
        .wait("LoggedOut", |e| {
            matches!(e, Event::LoggedOut(_)).then_some(())
        })
        .await;

    // Unknown devices are a 404 with a JSON error.
    let (status, body) = admin_post(
        &sb,
        "/admin/devices/628000000000:9@s.whatsapp.net/kick",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_reports_temporary_ban() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450041", "Frank").await;
    let (c, _) = paired_client(&sb, "628123450041").await;
    let (status, body) = admin_post(
        &sb,
        "/admin/phones/628123450041/ban",
        serde_json::json!({ "seconds": 600 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    c.events
        .wait("TemporaryBan", |e| {
            matches!(e, Event::TemporaryBan(_)).then_some(())
        })
        .await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_errors() {
    let sb = sandbox().await;
    create_phone(&sb, "628123450051", "Gina").await;
    let (status, _) = admin_post(
        &sb,
        "/admin/phones",
        serde_json::json!({ "phone": "628123450051", "pushName": "Gina" }),
    )
    .await;
    assert_eq!(status, 409);
    let (status, body) =
        admin_post(&sb, "/admin/phones", serde_json::json!({ "phone": "abc" })).await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
    let (status, _) = admin_post(
        &sb,
        "/admin/phones/628123450051/scan",
        serde_json::json!({ "qr": "2@nope,AAAA,AAAA,AAAA,1" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = admin_post(
        &sb,
        "/admin/phones",
        serde_json::json!({ "phone": "628123450052", "bot": "echo" }),
    )
    .await;
    if cfg!(feature = "echo-bot") {
        assert_eq!(status, 201, "{body}");
    } else {
        assert_eq!(status, 400);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("--features sandbox")
        );
    }
    sb.shutdown().await;
}

#[cfg(feature = "echo-bot")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_bot_answers_text() {
    let sb = sandbox().await;
    let (status, body) = admin_post(
        &sb,
        "/admin/phones",
        serde_json::json!({ "phone": "628123450091", "pushName": "Echo", "bot": "echo" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    create_phone(&sb, "628123450092", "Jay").await;
    let (c, _) = paired_client(&sb, "628123450092").await;
    c.client
        .send_text(pn("628123450091"), "ping 42")
        .await
        .expect("send");
    let echoed = c
        .events
        .wait("echo", |e| match e {
            Event::Messages(b) => b.iter().find_map(|m| {
                (m.info.source.sender.user == "628123450091")
                    .then(|| m.message.conversation.clone())
                    .flatten()
            }),
            _ => None,
        })
        .await;
    assert_eq!(echoed, "ping 42");
    sb.shutdown().await;
}

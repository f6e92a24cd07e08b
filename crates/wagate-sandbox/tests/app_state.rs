//! App state across an account's devices: one device archives a chat and
//! the other hears of it; the phone pins, mutes and un-archives by itself
//! and both devices apply its patches with every MAC checked.

mod common;

use std::time::Duration;

use common::*;
use whatsapp_rust::types::events::Event;

const ANN: &str = "628123450071";
const BEN: &str = "628123450072";

/// Waits until the device holds the app-state key its phone shared.
async fn has_sync_key(tc: &TestClient) {
    for _ in 0..200 {
        if tc
            .backend
            .get_latest_sync_key_id()
            .await
            .ok()
            .flatten()
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the phone never shared its app-state key");
}

fn archived(e: &Event) -> Option<(String, bool)> {
    match e {
        Event::ArchiveUpdate(u) => Some((u.jid.to_string(), u.action.archived.unwrap_or(false))),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_and_phone_share_chat_settings() {
    let sb = sandbox().await;
    create_phone(&sb, ANN, "Ann").await;
    create_phone(&sb, BEN, "Ben").await;
    let ben = format!("{BEN}@s.whatsapp.net");

    // Step 1: the phone refuses to act before it shared a key with anyone.
    let (status, _) = admin_post(
        &sb,
        &format!("/admin/phones/{ANN}/chats/{ben}"),
        serde_json::json!({ "archived": true }),
    )
    .await;
    assert_eq!(status, 409);

    // Step 2: Ann links two devices; both get the account's key.
    let (first, _) = paired_client(&sb, ANN).await;
    let (second, _) = paired_client(&sb, ANN).await;
    has_sync_key(&first).await;
    has_sync_key(&second).await;

    // Step 3: the first device archives the chat with Ben; the second hears it.
    first
        .client
        .chat_actions()
        .archive_chat(&pn(BEN), None)
        .await
        .expect("archive");
    let seen = second.events.wait("archive on device 2", archived).await;
    assert_eq!(seen, (ben.clone(), true));
    let (status, body) = admin_get(&sb, &format!("/admin/phones/{ANN}/app-state")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["collections"],
        serde_json::json!([{ "name": "regular_low", "version": 1 }])
    );

    // Step 4: the phone pins, mutes forever and un-archives the chat itself.
    let (status, body) = admin_post(
        &sb,
        &format!("/admin/phones/{ANN}/chats/{BEN}@c.us"),
        serde_json::json!({ "pinned": true, "mutedUntil": -1, "archived": false }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chatJid"], ben);
    for device in [&first, &second] {
        let pinned = device
            .events
            .wait("pin", |e| match e {
                Event::PinUpdate(u) => Some((u.jid.to_string(), u.action.pinned)),
                _ => None,
            })
            .await;
        assert_eq!(pinned, (ben.clone(), Some(true)));
        let muted = device
            .events
            .wait("mute", |e| match e {
                Event::MuteUpdate(u) => Some(u.action.mute_end_timestamp),
                _ => None,
            })
            .await;
        assert_eq!(muted, Some(-1));
        let unarchived = device
            .events
            .wait("unarchive", |e| archived(e).filter(|(_, a)| !a))
            .await;
        assert_eq!(unarchived, (ben.clone(), false));
    }

    // Step 5: every patch checked out: no device's ltHash diverged.
    for device in [&first, &second] {
        for name in ["regular_low", "regular_high"] {
            let state = device.backend.get_version(name).await.unwrap();
            assert_eq!(state.version, if name == "regular_low" { 3 } else { 1 });
            assert!(!state.mac_mismatch_fatal, "{name} diverged");
        }
    }

    // Step 6: bad requests.
    for (path, body, want) in [
        (
            format!("/admin/phones/{ANN}/chats/{ben}"),
            serde_json::json!({}),
            400,
        ),
        (
            format!("/admin/phones/{ANN}/chats/{ben}"),
            serde_json::json!({ "mutedUntil": 5 }),
            400,
        ),
        (
            format!("/admin/phones/{ANN}/chats/nobody"),
            serde_json::json!({ "pinned": true }),
            400,
        ),
        (
            format!("/admin/phones/628100000000/chats/{ben}"),
            serde_json::json!({ "pinned": true }),
            404,
        ),
    ] {
        let (status, body) = admin_post(&sb, &path, body).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"].is_string());
    }
}

//! The contact list (`GET …/contacts`) end to end, on SQLite and
//! PostgreSQL: the people a session knows from its own history — whom it
//! wrote to, who wrote to it, who wrote in its groups — with the push
//! names they sent, plus its blocked contacts; never itself or a group.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn send_text(api: &Api, session: &str, to: &str, text: &str) {
    let (status, body) = api
        .post(
            &format!("/api/sessions/{session}/messages/send-text"),
            json!({ "chatId": to, "text": text }),
        )
        .await;
    assert!((200..300).contains(&status), "send {text:?}: {body}");
}

async fn contacts(api: &Api, session: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/api/sessions/{session}/contacts")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().cloned().unwrap()
}

async fn knows(api: &Api, session: &str, id: &str) {
    eventually(
        &format!("{id} in the contacts"),
        Duration::from_secs(60),
        || async {
            contacts(api, session)
                .await
                .iter()
                .any(|c| c["id"] == id)
                .then_some(())
        },
    )
    .await
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628999000001", "Alice").await;
    let bob = create_phone(&sandbox, "628999000002", "Bob").await;
    let carol = create_phone(&sandbox, "628999000003", "Carol").await;
    // Dave and Erin are on WhatsApp but never link a session here.
    create_phone(&sandbox, "628999000004", "Dave").await;
    create_phone(&sandbox, "628999000005", "Erin").await;
    let data = tempfile::tempdir().unwrap();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let c = create_and_pair(&api, "carol", &carol).await;

    // A fresh session knows nobody.
    assert_eq!(contacts(&api, &a).await, Vec::<Value>::new());

    // Bob writes to Alice; Alice writes to Dave; Carol writes in a group
    // Alice made; Alice blocks Erin.
    // (Each step waits for the last to be in the history, so the order
    // of the list is known.)
    send_text(&api, &b, "628999000001", "hi alice").await;
    knows(&api, &a, "628999000002@c.us").await;
    send_text(&api, &a, "628999000004", "hi dave").await;
    knows(&api, &a, "628999000004@c.us").await;
    let (status, created) = api
        .post(
            &format!("/api/sessions/{a}/groups"),
            json!({ "name": "Club", "participants": ["628999000003"] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let gid = created["data"]["id"].as_str().unwrap().to_string();
    eventually(
        "Carol to see the group",
        Duration::from_secs(60),
        || async {
            let (status, _) = api.get(&format!("/api/sessions/{c}/groups/{gid}")).await;
            (status == 200).then_some(())
        },
    )
    .await;
    send_text(&api, &c, &gid, "hello club").await;
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/contacts/628999000005/block"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let list = eventually(
        "Alice's contacts to hold Bob, Carol and Dave",
        Duration::from_secs(60),
        || async {
            let list = contacts(&api, &a).await;
            let has = |id: &str| list.iter().any(|c| c["id"] == id);
            (has("628999000002@c.us") && has("628999000003@c.us") && has("628999000004@c.us"))
                .then_some(list)
        },
    )
    .await;
    let row = |id: &str| {
        list.iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {list:?}"))
    };
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(
        row("628999000002@c.us"),
        json!({ "id": "628999000002@c.us", "name": "Bob", "pushName": "Bob",
                "isMyContact": false, "isBlocked": false })
    );
    assert_eq!(row("628999000003@c.us")["pushName"], "Carol");
    // Alice wrote to Dave; he never answered, so no push name.
    assert_eq!(row("628999000004@c.us")["pushName"], Value::Null);
    assert_eq!(row("628999000004@c.us")["isBlocked"], false);
    // Erin is only on the blocklist.
    assert_eq!(row("628999000005@c.us")["isBlocked"], true);
    // Never Alice herself, never the group.
    assert!(
        !list
            .iter()
            .any(|c| c["id"] == "628999000001@c.us" || c["id"] == gid.as_str())
    );
    // Most recently heard from first: Carol's group message came after
    // Bob's and Alice's 1:1 messages; the blocked-only contact is last.
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "628999000003@c.us", "{ids:?}");
    assert_eq!(ids[3], "628999000005@c.us", "{ids:?}");

    // What the history says outlives a restart.
    gw.stop();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    let again = contacts(&api, &a).await;
    assert_eq!(again, list);
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contact_list_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contact_list_postgres() {
    story(Db::postgres().await).await;
}

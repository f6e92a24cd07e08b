//! Chats end to end through HTTP only, against the sandbox. Ann's session
//! hears from Ben and Cat; through Ann's API she archives, pins and mutes
//! the chat with Ben and the chat list shows it (and the sandbox holds the
//! app-state patches her device uploaded). Then Ann's phone changes things
//! itself — pins and mutes the chat with Cat, un-archives Ben's — and each
//! change arrives as a `chat.update` event and in the chat list. Marking
//! unread and read, starring, deleting a message for me, clearing and
//! deleting a chat each do what they say; bad input is a 400 in the
//! contract's envelope, and another tenant's key finds no session.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);
const BEN: &str = "628777000002@c.us";
const CAT: &str = "628777000003@c.us";

/// Ann's chats (one page of `query`) and the pagination.
async fn chats(api: &Api, session: &str, query: &str) -> (Vec<Value>, Value) {
    let (status, body) = api
        .get(&format!("/api/sessions/{session}/chats{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["data"].as_array().unwrap().clone(),
        body["pagination"].clone(),
    )
}

async fn chat(api: &Api, session: &str, id: &str) -> Option<Value> {
    chats(api, session, "")
        .await
        .0
        .into_iter()
        .find(|c| c["id"] == id)
}

/// Waits until Ann's chat `id` satisfies `ok`.
async fn chat_becomes(
    api: &Api,
    session: &str,
    id: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, WAIT, || async {
        chat(api, session, id).await.filter(|c| ok(c))
    })
    .await
}

async fn act(api: &Api, path: &str, body: Value) -> Value {
    let (status, resp) = api.post(path, body).await;
    assert_eq!(status, 200, "{path}: {resp}");
    resp["data"].clone()
}

async fn sandbox_get(sandbox: &Sandbox, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sandbox.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn phone_changes(sandbox: &Sandbox, phone: &str, chat: &str, body: Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/admin/phones/{phone}/chats/{chat}",
            sandbox.http_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the phone changes {chat}");
}

fn chat_update(v: &Value, session: &str, chat: &str, field: &str, value: &Value) -> bool {
    v["event"] == "chat.update"
        && v["sessionId"] == session
        && v["data"]["chatId"] == chat
        && &v["data"][field] == value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chats_are_archived_pinned_muted_and_cleaned_up_everywhere() {
    // The sandbox, the gateway, and three paired sessions.
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628777000001", "Ann").await;
    let ben = create_phone(&sandbox, "628777000002", "Ben").await;
    let cat = create_phone(&sandbox, "628777000003", "Cat").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let c = create_and_pair(&api, "cat", &cat).await;
    let ann_id = "628777000001@c.us";

    // Step 1: Ben and Cat write to Ann; both chats are listed, unread.
    for (s, text) in [(&b, "hi Ann"), (&c, "hello from Cat")] {
        act(
            &api,
            &format!("/api/sessions/{s}/messages/send-text"),
            json!({ "chatId": ann_id, "text": text }),
        )
        .await;
    }
    for id in [BEN, CAT] {
        chat_becomes(&api, &a, id, "the chat at Ann", |c| c["unreadCount"] == 1).await;
    }
    let (list, pages) = chats(&api, &a, "").await;
    assert_eq!(pages["total"], 2);
    for c in &list {
        assert_eq!(c["archived"], false);
        assert_eq!(c["pinned"], false);
        assert_eq!(c["mutedUntil"], Value::Null);
        assert_eq!(c["markedUnread"], false);
        assert!(c["lastActivity"].as_str().unwrap().ends_with('Z'));
    }

    // Step 2: Ann archives, pins and mutes (for an hour) the chat with Ben.
    let base = format!("/api/sessions/{a}/chats/{BEN}");
    let s = act(
        &api,
        &format!("{base}/archive"),
        json!({ "archived": true }),
    )
    .await;
    assert_eq!(s["archived"], true);
    let s = act(&api, &format!("{base}/pin"), json!({ "pinned": true })).await;
    assert_eq!(s["pinned"], true);
    let until = wagate_core::iso_ms(wagate_core::now_ms() + 3_600_000);
    let s = act(&api, &format!("{base}/mute"), json!({ "until": until })).await;
    assert_eq!(s["mutedUntil"], until.as_str());

    // The chat list shows it: pinned first, filters and pages work.
    let (list, _) = chats(&api, &a, "").await;
    assert_eq!(list[0]["id"], BEN);
    assert_eq!(list[0]["archived"], true);
    assert_eq!(list[0]["pinned"], true);
    assert!(list[0]["pinnedAt"].is_string());
    assert_eq!(list[0]["mutedUntil"], s["mutedUntil"]);
    let (archived, _) = chats(&api, &a, "?archived=true").await;
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["id"], BEN);
    let (second, pages) = chats(&api, &a, "?limit=1&page=2").await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["id"], CAT);
    assert_eq!(pages["totalPages"], 2);
    event_where(&gw.base, |v| {
        chat_update(v, &a, BEN, "archived", &json!(true))
    })
    .await;

    // The sandbox holds the patches Ann's device uploaded.
    let state = sandbox_get(&sandbox, "/admin/phones/628777000001/app-state").await;
    let version = |name: &str| {
        state["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["version"].as_u64())
            .unwrap_or(0)
    };
    assert!(version("regular_low") >= 2, "{state}");
    assert!(version("regular_high") >= 1, "{state}");

    // Step 3: Ann's phone pins and mutes the chat with Cat forever, and
    // un-archives Ben's: each arrives as chat.update and in the list.
    phone_changes(
        &sandbox,
        "628777000001",
        "628777000003@s.whatsapp.net",
        json!({ "pinned": true, "mutedUntil": -1 }),
    )
    .await;
    phone_changes(
        &sandbox,
        "628777000001",
        "628777000002@s.whatsapp.net",
        json!({ "archived": false }),
    )
    .await;
    event_where(&gw.base, |v| {
        chat_update(v, &a, CAT, "pinned", &json!(true))
    })
    .await;
    event_where(&gw.base, |v| {
        chat_update(v, &a, CAT, "mutedUntil", &json!("forever"))
    })
    .await;
    event_where(&gw.base, |v| {
        chat_update(v, &a, BEN, "archived", &json!(false))
    })
    .await;
    let c_chat = chat(&api, &a, CAT).await.unwrap();
    assert_eq!(c_chat["pinned"], true);
    assert_eq!(c_chat["mutedUntil"], "forever");
    assert_eq!(chat(&api, &a, BEN).await.unwrap()["archived"], false);

    // Step 4: marked unread, then read (which reads its messages too).
    let cat_base = format!("/api/sessions/{a}/chats/{CAT}");
    let s = act(
        &api,
        &format!("{cat_base}/unread"),
        json!({ "unread": true }),
    )
    .await;
    assert_eq!(s["markedUnread"], true);
    assert_eq!(chat(&api, &a, CAT).await.unwrap()["markedUnread"], true);
    act(
        &api,
        &format!("{cat_base}/unread"),
        json!({ "unread": false }),
    )
    .await;
    let c_chat = chat(&api, &a, CAT).await.unwrap();
    assert_eq!(c_chat["markedUnread"], false);
    assert_eq!(c_chat["unreadCount"], 0);

    // Step 5: star and unstar Ben's message.
    let msg = history(&api, &a, BEN).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let starred = act(
        &api,
        &format!("/api/sessions/{a}/messages/{msg}/star"),
        json!({ "starred": true }),
    )
    .await;
    assert_eq!(starred["starred"], true);
    assert_eq!(history(&api, &a, BEN).await[0]["starred"], true);
    act(
        &api,
        &format!("/api/sessions/{a}/messages/{msg}/star"),
        json!({ "starred": false }),
    )
    .await;
    assert_eq!(history(&api, &a, BEN).await[0]["starred"], false);

    // Step 6: Ben writes again; Ann deletes that message for herself only.
    act(
        &api,
        &format!("/api/sessions/{b}/messages/send-text"),
        json!({ "chatId": ann_id, "text": "second" }),
    )
    .await;
    let second = eventually("Ben's second message at Ann", WAIT, || async {
        history(&api, &a, BEN)
            .await
            .into_iter()
            .find(|m| m["body"] == "second")
    })
    .await;
    let second_id = second["id"].as_str().unwrap();
    let (status, body) = api
        .delete(&format!("/api/sessions/{a}/messages/{second_id}/for-me"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["deleted"], true);
    assert!(
        history(&api, &a, BEN)
            .await
            .iter()
            .all(|m| m["body"] != "second")
    );
    assert!(
        history(&api, &b, ann_id)
            .await
            .iter()
            .any(|m| m["body"] == "second"),
        "Ben still has it"
    );

    // Step 7: clearing Ben's chat empties it (it leaves the list until its
    // next message); deleting Cat's removes it.
    let cleared = act(&api, &format!("{base}/clear"), json!({})).await;
    assert_eq!(cleared["removed"], 1);
    assert!(history(&api, &a, BEN).await.is_empty());
    let (status, body) = api.delete(&cat_base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["deleted"], true);
    let (list, pages) = chats(&api, &a, "").await;
    assert!(list.is_empty(), "{list:?}");
    assert_eq!(pages["total"], 0);

    // Step 8: bad input is a 400 in the envelope.
    for (path, body, code) in [
        (
            format!("/api/sessions/{a}/chats/not-a-chat/archive"),
            json!({ "archived": true }),
            "MESSAGE_INVALID_CHAT_ID",
        ),
        (
            format!("{base}/mute"),
            json!({ "until": "tomorrow" }),
            "VALIDATION_ERROR",
        ),
        (
            format!("{base}/mute"),
            json!({ "until": 1000 }),
            "VALIDATION_ERROR",
        ),
        (
            format!("{base}/pin"),
            json!({ "pinned": "yes" }),
            "VALIDATION_ERROR",
        ),
    ] {
        let (status, resp) = api.post(&path, body).await;
        assert_eq!(status, 400, "{path}: {resp}");
        assert_eq!(resp["success"], false);
        assert_eq!(resp["error"]["code"], code, "{resp}");
    }
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{a}/messages/nothing-like-this/star"),
            json!({ "starred": true }),
        )
        .await;
    assert_eq!(status, 404, "{resp}");
    assert_eq!(resp["error"]["code"], "MESSAGE_NOT_FOUND");
    let (status, _) = api.get(&format!("/api/sessions/{a}/chats?limit=0")).await;
    assert_eq!(status, 400);

    // Step 9: another tenant's key finds no such session.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = gw.api(t["data"]["apiKey"].as_str().unwrap());
    let (status, resp) = other.get(&format!("/api/sessions/{a}/chats")).await;
    assert_eq!(status, 404);
    assert_eq!(resp["error"]["code"], "SESSION_NOT_FOUND");
    let (status, resp) = other
        .post(&format!("{base}/archive"), json!({ "archived": true }))
        .await;
    assert_eq!(status, 404);
    assert_eq!(resp["error"]["code"], "SESSION_NOT_FOUND");
}

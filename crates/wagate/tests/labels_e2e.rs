//! Labels (WhatsApp Business) end to end through HTTP only, against the
//! sandbox. Ann's session hears from Ben; through Ann's API she creates
//! labels, puts one on the chat with Ben and renames it — the chat list
//! shows it, and the sandbox holds the app-state patches her device
//! uploaded. Then Ann's phone creates a label of its own, labels the chat
//! with Ben and deletes one of Ann's labels: each arrives as `label.update`
//! and in the lists. Taking a label off and deleting one work; bad input is
//! a 400 in the contract's envelope, an unknown label a 404
//! `LABEL_NOT_FOUND`, and another tenant's key finds no session.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);
const ANN: &str = "628778000001";
const BEN: &str = "628778000002@c.us";
const BEN_JID: &str = "628778000002@s.whatsapp.net";

async fn ok(api: &Api, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, resp) = api.call(method, path, body.as_ref()).await;
    assert!(
        status == 200 || status == 201,
        "{method} {path}: {status} {resp}"
    );
    resp["data"].clone()
}

/// The label ids Ann's chat with Ben carries, as the chat list shows them.
async fn bens_labels(api: &Api, session: &str) -> Option<Vec<String>> {
    let (status, body) = api.get(&format!("/api/sessions/{session}/chats")).await;
    assert_eq!(status, 200, "{body}");
    let chat = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == BEN)?
        .clone();
    Some(
        chat["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect(),
    )
}

/// Waits until Ann's labels satisfy `ok`.
async fn labels_become(api: &Api, session: &str, what: &str, ok: impl Fn(&[Value]) -> bool) {
    eventually(what, WAIT, || async {
        let (_, body) = api.get(&format!("/api/sessions/{session}/labels")).await;
        let labels = body["data"].as_array().cloned().unwrap_or_default();
        ok(&labels).then_some(())
    })
    .await
}

async fn phone_posts(sandbox: &Sandbox, path: &str, body: Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones/{ANN}{path}", sandbox.http_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the phone: {path}");
}

fn label_update(v: &Value, session: &str, check: impl Fn(&Value) -> bool) -> bool {
    v["event"] == "label.update" && v["sessionId"] == session && check(&v["data"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn labels_are_shared_with_the_phone_both_ways() {
    // The sandbox, the gateway, Ann's and Ben's paired sessions; Ben writes.
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, ANN, "Ann").await;
    let ben = create_phone(&sandbox, "628778000002", "Ben").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    ok(
        &api,
        "POST",
        &format!("/api/sessions/{b}/messages/send-text"),
        Some(json!({ "chatId": format!("{ANN}@c.us"), "text": "hi Ann" })),
    )
    .await;
    eventually("Ben's chat at Ann", WAIT, || async {
        bens_labels(&api, &a).await
    })
    .await;
    let labels = format!("/api/sessions/{a}/labels");

    // Step 1: Ann creates two labels; ids are WhatsApp's small numbers.
    let vip = ok(
        &api,
        "POST",
        &labels,
        Some(json!({ "name": "VIP", "color": 3 })),
    )
    .await;
    assert_eq!(vip["id"], "1");
    assert_eq!(vip["name"], "VIP");
    assert_eq!(vip["color"], 3);
    assert_eq!(vip["colorHex"], "#dfaef0");
    let lead = ok(&api, "POST", &labels, Some(json!({ "name": "Lead" }))).await;
    assert_eq!(lead["id"], "2");
    assert_eq!(lead["color"], 0);
    let listed = ok(&api, "GET", &labels, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| d["labelId"] == "1" && d["name"] == "VIP")
    })
    .await;

    // Step 2: Ann labels the chat with Ben VIP and renames the label.
    let on = ok(
        &api,
        "POST",
        &format!("/api/sessions/{a}/chats/{BEN}/labels/1"),
        None,
    )
    .await;
    assert_eq!(on["labeled"], true);
    assert_eq!(bens_labels(&api, &a).await.unwrap(), vec!["1"]);
    let chats = ok(&api, "GET", &format!("{labels}/1/chats"), None).await;
    assert_eq!(chats, json!([BEN]));
    let of_chat = ok(
        &api,
        "GET",
        &format!("/api/sessions/{a}/chats/{BEN}/labels"),
        None,
    )
    .await;
    assert_eq!(of_chat[0]["name"], "VIP");
    let renamed = ok(
        &api,
        "PUT",
        &format!("{labels}/1"),
        Some(json!({ "name": "Top VIP", "color": 5 })),
    )
    .await;
    assert_eq!(renamed["name"], "Top VIP");
    assert_eq!(renamed["chats"], 1);
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| {
            d["labelId"] == "1" && d["chatId"] == BEN && d["labeled"] == true
        })
    })
    .await;

    // The sandbox holds the patches Ann's device uploaded (`regular`).
    let state: Value = reqwest::get(format!(
        "{}/admin/phones/{ANN}/app-state",
        sandbox.http_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let regular = state["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "regular")
        .and_then(|c| c["version"].as_u64())
        .unwrap_or(0);
    assert!(regular >= 4, "{state}");

    // Step 3: Ann's phone creates label 9, labels Ben's chat with it and
    // deletes Lead: each arrives as label.update and in the lists.
    phone_posts(
        &sandbox,
        "/labels/9",
        json!({ "name": "Follow up", "color": 7 }),
    )
    .await;
    phone_posts(
        &sandbox,
        &format!("/labels/9/chats/{BEN_JID}"),
        json!({ "labeled": true }),
    )
    .await;
    phone_posts(&sandbox, "/labels/2", json!({ "deleted": true })).await;
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| {
            d["labelId"] == "9" && d["name"] == "Follow up" && d["color"] == 7
        })
    })
    .await;
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| {
            d["labelId"] == "9" && d["chatId"] == BEN && d["labeled"] == true
        })
    })
    .await;
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| d["labelId"] == "2" && d["deleted"] == true)
    })
    .await;
    labels_become(&api, &a, "labels 1 and 9", |l| {
        let ids: Vec<&str> = l.iter().map(|x| x["id"].as_str().unwrap()).collect();
        ids == ["1", "9"]
    })
    .await;
    assert_eq!(bens_labels(&api, &a).await.unwrap(), vec!["1", "9"]);

    // Step 4: Ann takes VIP off the chat, then deletes label 9: the chat
    // carries none.
    let off = ok(
        &api,
        "DELETE",
        &format!("/api/sessions/{a}/chats/{BEN}/labels/1"),
        None,
    )
    .await;
    assert_eq!(off["labeled"], false);
    let gone = ok(&api, "DELETE", &format!("{labels}/9"), None).await;
    assert_eq!(gone["deleted"], true);
    assert!(bens_labels(&api, &a).await.unwrap().is_empty());
    event_where(&gw.base, |v| {
        label_update(v, &a, |d| d["labelId"] == "9" && d["deleted"] == true)
    })
    .await;

    // Step 5: bad input is refused in the contract's envelope.
    for (body, why) in [
        (json!({ "name": "" }), "empty name"),
        (json!({ "name": "x".repeat(101) }), "long name"),
        (
            json!({ "name": "ok", "color": 20 }),
            "color out of the palette",
        ),
        (json!({ "name": 5 }), "name not a string"),
    ] {
        let (status, resp) = api.post(&labels, body).await;
        assert_eq!(status, 400, "{why}: {resp}");
        assert_eq!(resp["error"]["code"], "VALIDATION_ERROR", "{why}");
    }
    let (status, resp) = api.put(&format!("{labels}/1"), json!({})).await;
    assert_eq!(status, 400, "{resp}");
    let (status, resp) = api
        .put(&format!("{labels}/77"), json!({ "name": "x" }))
        .await;
    assert_eq!(status, 404, "{resp}");
    assert_eq!(resp["error"]["code"], "LABEL_NOT_FOUND");
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{a}/chats/{BEN}/labels/77"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404, "{resp}");
    let long_id = "1".repeat(40);
    let (status, _) = api.delete(&format!("{labels}/{long_id}")).await;
    assert_eq!(status, 400);
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{a}/chats/nobody/labels/1"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    assert_eq!(resp["error"]["code"], "MESSAGE_INVALID_CHAT_ID");

    // Step 6: another tenant's key finds no such session.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = gw.api(t["data"]["apiKey"].as_str().unwrap());
    let (status, resp) = other.get(&labels).await;
    assert_eq!(status, 404);
    assert_eq!(resp["error"]["code"], "SESSION_NOT_FOUND");
    let (status, _) = other.post(&labels, json!({ "name": "mine" })).await;
    assert_eq!(status, 404);
}

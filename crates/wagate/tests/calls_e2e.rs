//! Calls and a session's behaviour settings, end to end through HTTP only.
//!
//! Calls: Ann's session rejects calls and says why in a text. Ben's phone
//! calls Ann: the sandbox shows the call rejected by Ann's device, Ben's
//! session receives Ann's text, and Ann's session told of the call
//! (`call.received`, then `call.ended` with reason `rejected`). With
//! `rejectCalls` off, a call rings (`call.received`), nothing rejects it,
//! and Ben hanging up ends it (`call.ended`, reason `caller_ended`).
//!
//! Settings: a partial change merges into what the session chose before;
//! a setting of the wrong type, an unknown one or an overlong message is
//! refused with `VALIDATION_ERROR`; with `ignore.groups` a group message
//! is neither emitted nor kept while a direct one still is; with
//! `autoRead` the sender sees its message read.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);
const REPLY: &str = "I can't take calls, write me";

/// A sandbox admin request: `(status, body)`.
async fn admin(sandbox: &Sandbox, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", sandbox.http_url());
    let req = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body.unwrap_or(json!({}))),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `from`'s phone calls `to`; the call id.
async fn call(sandbox: &Sandbox, from: &str, to: &str, video: bool) -> String {
    let (status, body) = admin(
        sandbox,
        "POST",
        &format!("/admin/phones/{from}/call"),
        Some(json!({ "to": to, "video": video })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["callId"].as_str().unwrap().to_string()
}

/// The call as the sandbox saw it.
async fn call_state(sandbox: &Sandbox, id: &str) -> Value {
    let (status, body) = admin(sandbox, "GET", &format!("/admin/calls/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The linked device of `phone` (its only one).
async fn device_of(sandbox: &Sandbox, phone: &str) -> String {
    let (_, phones) = admin(sandbox, "GET", "/admin/phones", None).await;
    let p = phones
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phone"] == phone)
        .unwrap()
        .clone();
    p["devices"][0]["deviceJid"].as_str().unwrap().to_string()
}

/// Creates a session with `settings` and pairs it.
async fn create_with(api: &Api, name: &str, phone: &Phone<'_>, settings: Value) -> String {
    let (status, body) = api
        .post(
            "/api/sessions",
            json!({ "name": name, "settings": settings }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    pair(api, &id, phone).await;
    id
}

fn is_call_event(v: &Value, kind: &str, session: &str, call_id: &str) -> bool {
    v["event"] == kind && v["sessionId"] == session && v["data"]["callId"] == call_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_rejects_calls_and_says_why() {
    // The sandbox, the gateway; Ann's session rejects calls with a reply.
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628777000001", "Ann").await;
    let ben = create_phone(&sandbox, "628777000002", "Ben").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_with(
        &api,
        "ann",
        &ann,
        json!({ "rejectCalls": true, "callRejectMessage": REPLY }),
    )
    .await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let (_, session) = api.get(&format!("/api/sessions/{a}")).await;
    let settings = &session["data"]["settings"];
    assert_eq!(settings["rejectCalls"], true, "{session}");
    assert_eq!(settings["callRejectMessage"], REPLY);
    assert_eq!(settings["autoRead"], false);
    let ann_device = device_of(&sandbox, &ann.number).await;

    // Ben's phone calls Ann: Ann's device rejects it.
    let call_id = call(&sandbox, &ben.number, &ann.number, false).await;
    let rejected = eventually("the call rejected", WAIT, || async {
        let c = call_state(&sandbox, &call_id).await;
        (c["status"] == "rejected").then_some(c)
    })
    .await;
    assert_eq!(rejected["rejectedBy"], ann_device.as_str(), "{rejected}");
    assert_eq!(rejected["from"], ben.number.as_str());
    assert_eq!(rejected["to"], ann.number.as_str());

    // Ann's session told of the call: it rang, then ended, rejected.
    let ben_chat = format!("{}@c.us", ben.number);
    let received = event_where(&gw.base, |v| {
        is_call_event(v, "call.received", &a, &call_id)
    })
    .await;
    assert_eq!(received["data"]["fromPn"], ben_chat.as_str(), "{received}");
    assert_eq!(received["data"]["isVideo"], false);
    assert_eq!(received["data"]["isGroup"], false);
    assert!(received["data"]["timestamp"].is_string());
    let ended = event_where(&gw.base, |v| is_call_event(v, "call.ended", &a, &call_id)).await;
    assert_eq!(ended["data"]["reason"], "rejected", "{ended}");

    // Ben's session receives the reply as an ordinary message from Ann.
    let ann_chat = format!("{}@c.us", ann.number);
    let reply = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == b.as_str()
            && v["data"]["body"] == REPLY
    })
    .await;
    assert_eq!(reply["data"]["from"], ann_chat.as_str(), "{reply}");
    assert!(
        received_texts(&api, &b, &ann_chat)
            .await
            .contains(&REPLY.to_string()),
        "the reply is in Ben's history"
    );

    // Ann turns rejecting off (only that): a video call now rings.
    let (status, patched) = api
        .patch(
            &format!("/api/sessions/{a}"),
            json!({ "settings": { "rejectCalls": false } }),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["settings"]["rejectCalls"], false);
    assert_eq!(patched["data"]["settings"]["callRejectMessage"], REPLY);
    let second = call(&sandbox, &ben.number, &ann.number, true).await;
    let rang = event_where(&gw.base, |v| is_call_event(v, "call.received", &a, &second)).await;
    assert_eq!(rang["data"]["isVideo"], true, "{rang}");
    let ringing = eventually("Ann's device rings", WAIT, || async {
        let c = call_state(&sandbox, &second).await;
        (c["devices"][0]["rang"] == true).then_some(c)
    })
    .await;
    assert_eq!(ringing["status"], "ringing", "{ringing}");

    // Ben hangs up: the call ends, and nothing rejected it.
    let (status, hung_up) = admin(
        &sandbox,
        "POST",
        &format!("/admin/phones/{}/call/{second}/end", ben.number),
        None,
    )
    .await;
    assert_eq!(status, 200, "{hung_up}");
    assert_eq!(hung_up["status"], "ended");
    let ended = event_where(&gw.base, |v| is_call_event(v, "call.ended", &a, &second)).await;
    assert_eq!(ended["data"]["reason"], "caller_ended", "{ended}");
    let after = call_state(&sandbox, &second).await;
    assert_eq!(after["rejectedBy"], Value::Null, "{after}");
    assert_eq!(after["devices"][0]["answer"], Value::Null);

    // Hanging up twice, or an unknown call, is refused in the admin API's style.
    let (status, again) = admin(
        &sandbox,
        "POST",
        &format!("/admin/phones/{}/call/{second}/end", ben.number),
        None,
    )
    .await;
    assert_eq!(status, 409, "{again}");
    assert!(again["error"].is_string());
    let (status, _) = admin(&sandbox, "GET", "/admin/calls/NOPE", None).await;
    assert_eq!(status, 404);
    let (status, _) = admin(
        &sandbox,
        "POST",
        "/admin/phones/628777000009/call",
        Some(json!({ "to": ann.number })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = admin(
        &sandbox,
        "POST",
        &format!("/admin/phones/{}/call", ben.number),
        Some(json!({ "to": "not a number" })),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settings_are_merged_checked_and_followed() {
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628777000011", "Ann").await;
    let ben = create_phone(&sandbox, "628777000012", "Ben").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let path = format!("/api/sessions/{a}");

    // Two partial changes: the second keeps what the first chose.
    let (status, first) = api
        .patch(&path, json!({ "settings": { "autoRead": true } }))
        .await;
    assert_eq!(status, 200, "{first}");
    let (status, _) = api
        .patch(
            &path,
            json!({ "settings": { "ignore": { "groups": true } } }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = api.get(&path).await;
    assert_eq!(
        got["data"]["settings"],
        json!({
            "rejectCalls": false,
            "callRejectMessage": null,
            "alwaysOnline": false,
            "autoRead": true,
            // Statuses are ignored unless asked for (SESSION_IGNORE_STATUS).
            "ignore": { "groups": true, "broadcasts": false, "status": true, "channels": false },
            "historySync": true,
        })
    );

    // Bad settings are refused in the contract's envelope, and change nothing.
    for bad in [
        json!({ "settings": { "rejectCalls": "yes" } }),
        json!({ "settings": { "rejectCall": true } }),
        json!({ "settings": { "ignore": { "groups": 1 } } }),
        json!({ "settings": { "callRejectMessage": "x".repeat(1001) } }),
    ] {
        let (status, body) = api.patch(&path, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{body}");
    }
    let (status, body) = api
        .post(
            "/api/sessions",
            json!({ "name": "bad", "settings": { "callRejectMessage": "x".repeat(1001) } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let (_, unchanged) = api.get(&path).await;
    assert_eq!(unchanged["data"]["settings"], got["data"]["settings"]);

    // Ben makes a group with Ann and writes in it, then writes Ann directly.
    let ann_chat = format!("{}@c.us", ann.number);
    let (status, group) = api
        .post(
            &format!("/api/sessions/{b}/groups"),
            json!({ "name": "Noise", "participants": [ann_chat] }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["data"]["id"].as_str().unwrap().to_string();
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": gid, "text": "group chatter" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let (status, direct) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": ann_chat, "text": "direct words" }),
        )
        .await;
    assert_eq!(status, 200, "{direct}");
    let direct_id = direct["data"]["messageId"].as_str().unwrap().to_string();

    // Ann's session keeps and tells the direct message.
    let got = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "direct words"
    })
    .await;
    assert_eq!(got["data"]["from"], format!("{}@c.us", ben.number).as_str());

    // With autoRead, Ben sees his direct message read.
    let read = event_where(&gw.base, |v| {
        v["event"] == "message.ack"
            && v["sessionId"] == b.as_str()
            && v["data"]["messageId"] == direct_id.as_str()
            && v["data"]["ackName"] == "read"
    })
    .await;
    assert_eq!(read["data"]["ack"], 4, "{read}");

    // Once Ann's device has acked everything, the group message was taken
    // (an ack follows the store) and dropped: a marker sent after it
    // arrives with nothing of the group before it, and no history.
    eventually("Ann's device acked everything", WAIT, || async {
        let (_, pending) = admin(
            &sandbox,
            "GET",
            &format!("/admin/phones/{}/pending", ann.number),
            None,
        )
        .await;
        (pending["devices"][0]["pending"] == 0).then_some(())
    })
    .await;
    let (status, _) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": ann_chat, "text": "marker" }),
        )
        .await;
    assert_eq!(status, 200);
    let events = events_until(&gw.base, WAIT, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "marker"
    })
    .await;
    let group_at_ann: Vec<&Value> = events
        .iter()
        .filter(|v| {
            v["sessionId"] == a.as_str()
                && v["event"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("message.")
                && v["data"]["chatId"] == gid.as_str()
        })
        .collect();
    assert!(group_at_ann.is_empty(), "{group_at_ann:?}");
    assert!(history(&api, &a, &gid).await.is_empty());
    let at_ben = history(&api, &b, &gid).await;
    assert!(
        at_ben.iter().any(|m| m["body"] == "group chatter"),
        "{at_ben:?}"
    );
}

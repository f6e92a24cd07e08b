//! LID and phone numbers, end to end through HTTP only.
//!
//! WhatsApp names more and more people by a LID (`…@lid`) instead of their
//! phone number. Ben's number is LID-addressed in the sandbox: what he
//! sends reaches others from his LID, with his phone number beside.
//!
//! Ann's phone already holds a chat with Ben when her session links: the
//! history names it by Ben's LID, and the session shows his number beside
//! it. Ben writes to Ann: her `message.received` comes from Ben's LID and
//! carries `senderPn` and `chatPn` (his number), and so does her history.
//! Ann replies to the LID itself: Ben's session receives it, and Ann sees
//! it delivered. Ann's session maps Ben's LID to his number and back, and
//! asks WhatsApp about Dee (LID-addressed too, never met) either way; a
//! number WhatsApp reveals no LID for is 404 `CONTACT_LID_NOT_FOUND`, bad
//! ids are 400, and another tenant's key finds no session.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const ANN: &str = "628777100001";
const BEN: &str = "628777100002";
const CID: &str = "628777100003";
const DEE: &str = "628777100004";
const WAIT: Duration = Duration::from_secs(60);

/// Creates a sandbox phone; `lid` makes it LID-addressed. The answer.
async fn phone(sandbox: &Sandbox, number: &str, name: &str, lid: bool, history: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones", sandbox.http_url()))
        .json(&json!({ "phone": number, "pushName": name, "lid": lid, "history": history }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.json().await.unwrap()
}

/// `GET /api/sessions/{session}/contacts/{contact}/{way}`.
async fn mapping(api: &Api, session: &str, contact: &str, way: &str) -> (u16, Value) {
    api.get(&format!("/api/sessions/{session}/contacts/{contact}/{way}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lid_addressed_contact_is_known_by_both_addresses() {
    // The sandbox: Ben and Dee are LID-addressed, Cid is not; Ann's phone
    // already talked with Ben.
    let sandbox = start_sandbox().await;
    let ben_phone = phone(&sandbox, BEN, "Ben", true, json!([])).await;
    assert_eq!(ben_phone["lidAddressed"], true, "{ben_phone}");
    let ben_lid = ben_phone["lid"].as_str().unwrap().to_string();
    assert!(ben_lid.ends_with("@lid"), "{ben_phone}");
    let cid_phone = phone(&sandbox, CID, "Cid", false, json!([])).await;
    assert_eq!(cid_phone["lidAddressed"], false);
    let dee_lid = phone(&sandbox, DEE, "Dee", true, json!([])).await["lid"]
        .as_str()
        .unwrap()
        .to_string();
    phone(
        &sandbox,
        ANN,
        "Ann",
        false,
        json!([{ "chat": BEN, "name": "Ben", "messages": [
            { "id": "LIDHIST01", "text": "see you at the station", "timestamp": 1_760_000_000 },
            { "id": "LIDHIST02", "text": "on my way", "fromMe": true, "timestamp": 1_760_000_060 },
        ]}]),
    )
    .await;
    let ann = Phone {
        sandbox: &sandbox,
        number: ANN.to_string(),
    };
    let ben = Phone {
        sandbox: &sandbox,
        number: BEN.to_string(),
    };
    let phones: Value = reqwest::Client::new()
        .get(format!("{}/admin/phones", sandbox.http_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = phones
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phone"] == BEN)
        .unwrap();
    assert_eq!(listed["lidAddressed"], true, "{listed}");
    assert_eq!(listed["lid"], ben_lid.as_str());

    // The gateway; Ann's and Ben's sessions link.
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let ben_pn = format!("{BEN}@c.us");
    let ann_pn = format!("{ANN}@c.us");

    // Ann's history names the chat by Ben's LID, his number beside it.
    let chat = eventually(
        "the LID chat from history, with Ben's number",
        WAIT,
        || async {
            let (status, chats) = api.get(&format!("/api/sessions/{a}/chats")).await;
            assert_eq!(status, 200, "{chats}");
            chats["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == ben_lid.as_str() && c["chatPn"] == ben_pn.as_str())
                .cloned()
        },
    )
    .await;
    assert_eq!(chat["isGroup"], false, "{chat}");
    assert_eq!(chat["lastMessage"]["chatPn"], ben_pn.as_str(), "{chat}");
    let old = history(&api, &a, &ben_lid).await;
    let first = old
        .iter()
        .find(|m| m["body"] == "see you at the station")
        .unwrap();
    assert_eq!(first["from"], ben_lid.as_str(), "{first}");
    assert_eq!(first["senderPn"], ben_pn.as_str(), "{first}");
    assert_eq!(first["fromHistory"], true);

    // Ben writes to Ann by her number: it reaches her from his LID, with
    // his number beside.
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": ANN, "text": "hi Ann, Ben here" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "hi Ann, Ben here"
    })
    .await;
    let d = &got["data"];
    assert_eq!(d["from"], ben_lid.as_str(), "{got}");
    assert_eq!(d["chatId"], ben_lid.as_str(), "{got}");
    assert_eq!(d["senderPn"], ben_pn.as_str(), "{got}");
    assert_eq!(d["chatPn"], ben_pn.as_str(), "{got}");
    assert_eq!(d["isGroup"], false);

    // Her history shows it the same way.
    let live = history(&api, &a, &ben_lid).await;
    let m = live
        .iter()
        .find(|m| m["body"] == "hi Ann, Ben here")
        .unwrap();
    assert_eq!(m["from"], ben_lid.as_str(), "{m}");
    assert_eq!(m["senderPn"], ben_pn.as_str(), "{m}");
    assert_eq!(m["chatPn"], ben_pn.as_str(), "{m}");

    // Ann replies to the LID itself: Ben's session receives it from her
    // number, and Ann sees her reply delivered.
    let (status, reply) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": ben_lid, "text": "hello Ben, got it" }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let reply_id = reply["data"]["messageId"].as_str().unwrap().to_string();
    let arrived = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == b.as_str()
            && v["data"]["body"] == "hello Ben, got it"
    })
    .await;
    assert_eq!(arrived["data"]["from"], ann_pn.as_str(), "{arrived}");
    let sent_event = event_where(&gw.base, |v| {
        v["event"] == "message.sent"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "hello Ben, got it"
    })
    .await;
    assert_eq!(
        sent_event["data"]["chatId"],
        ben_lid.as_str(),
        "{sent_event}"
    );
    assert_eq!(
        sent_event["data"]["chatPn"],
        ben_pn.as_str(),
        "{sent_event}"
    );
    let acked = event_where(&gw.base, |v| {
        v["event"] == "message.ack"
            && v["sessionId"] == a.as_str()
            && v["data"]["messageId"] == reply_id.as_str()
    })
    .await;
    assert!(acked["data"]["ack"].as_i64().unwrap() >= 3, "{acked}");
    let wa_id = reply_id.rsplit('_').next().unwrap();
    let ben_lid_user = ben_lid.trim_end_matches("@lid");
    let rows = relay_log(&sandbox, ANN, "").await;
    assert!(
        rows.iter().any(|r| r["kind"] == "message"
            && r["id"] == wa_id
            && (r["to"] == BEN || r["to"] == ben_lid_user)),
        "the sandbox relayed Ann's reply to Ben: {rows:?}"
    );

    // Ann's session maps Ben's LID to his number, and back.
    let (status, by_lid) = mapping(&api, &a, &ben_lid, "pn").await;
    assert_eq!(status, 200, "{by_lid}");
    assert_eq!(by_lid["data"], json!({ "lid": ben_lid, "pn": ben_pn }));
    let (status, by_pn) = mapping(&api, &a, BEN, "lid").await;
    assert_eq!(status, 200, "{by_pn}");
    assert_eq!(by_pn["data"], json!({ "lid": ben_lid, "pn": ben_pn }));

    // Dee, whom neither session met, is asked of WhatsApp, either way.
    let (status, dee) = mapping(&api, &a, &format!("{DEE}@c.us"), "lid").await;
    assert_eq!(status, 200, "{dee}");
    assert_eq!(dee["data"]["lid"], dee_lid.as_str(), "{dee}");
    let (status, dee) = mapping(&api, &b, &dee_lid, "pn").await;
    assert_eq!(status, 200, "{dee}");
    assert_eq!(dee["data"]["pn"], format!("{DEE}@c.us").as_str(), "{dee}");

    // A number WhatsApp reveals no LID for, and a LID nobody has.
    for (contact, way) in [(CID, "lid"), ("100000000000001@lid", "pn")] {
        let (status, res) = mapping(&api, &a, contact, way).await;
        assert_eq!(status, 404, "{contact}: {res}");
        assert_eq!(res["error"]["code"], "CONTACT_LID_NOT_FOUND", "{res}");
    }

    // Bad ids are refused.
    for (contact, way) in [
        ("not-a-number", "lid"),
        ("12x@lid", "pn"),
        ("120363000000000001@g.us", "lid"),
        ("12", "pn"),
    ] {
        let (status, res) = mapping(&api, &a, contact, way).await;
        assert_eq!(status, 400, "{contact}: {res}");
        assert_eq!(res["error"]["code"], "MESSAGE_INVALID_CHAT_ID", "{res}");
    }

    // Another tenant's key finds no such session.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = gw.api(t["data"]["apiKey"].as_str().unwrap());
    for way in ["lid", "pn"] {
        let (status, res) = mapping(&other, &a, &ben_lid, way).await;
        assert_eq!(status, 404, "{res}");
        assert_eq!(res["error"]["code"], "SESSION_NOT_FOUND");
    }
    gw.stop();
}

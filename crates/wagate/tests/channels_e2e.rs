//! Channels (WhatsApp newsletters) end to end through HTTP only, against
//! the sandbox's newsletters.
//!
//! Ann creates a channel; Ben looks it up by id and by its invite link,
//! follows it and sees it in his list as a subscriber. Ann posts a text:
//! Ben's session hears it as `message.received` in the channel's chat, with
//! the post's `serverId`, and reads it among the channel's messages. Ben
//! reacts; Ann's view of the channel's messages (and the sandbox) count the
//! reaction. Ann's phone posts too, and Ben hears that as well. Ben may not
//! post (`CHANNEL_NOT_ADMIN`, nothing reaches the channel). With
//! `ignore.channels` Ben's session neither emits nor keeps a post. Ben
//! unfollows. Bad ids are 400 `CHANNEL_INVALID_ID`, an unknown channel is
//! 404 `CHANNEL_NOT_FOUND`, and another tenant's key finds no session.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);

/// The sandbox's view of a newsletter.
async fn newsletter(sandbox: &Sandbox, jid: &str) -> Value {
    let resp = reqwest::get(format!("{}/admin/newsletters/{jid}", sandbox.http_url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

fn received_in(v: &Value, session: &str, channel: &str, body: &str) -> bool {
    v["event"] == "message.received"
        && v["sessionId"] == session
        && v["data"]["chatId"] == channel
        && v["data"]["body"] == body
}

fn listed<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["data"].as_array()?.iter().find(|c| c["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_channel_from_creation_to_unfollow() {
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628777100001", "Ann").await;
    let ben = create_phone(&sandbox, "628777100002", "Ben").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;

    // Step 1: Ann creates a channel; she owns it.
    let (status, created) = api
        .post(
            &format!("/api/sessions/{a}/channels"),
            json!({ "name": "Morning News", "description": "Every day at seven" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let ch = created["data"]["id"].as_str().unwrap().to_string();
    assert!(ch.ends_with("@newsletter"), "{ch}");
    assert_eq!(created["data"]["name"], "Morning News");
    assert_eq!(created["data"]["description"], "Every day at seven");
    assert_eq!(created["data"]["role"], "owner");
    let link = created["data"]["inviteLink"].as_str().unwrap().to_string();
    assert!(link.starts_with("https://whatsapp.com/channel/"), "{link}");

    // Step 2: Ben looks it up by id and by the invite link: a guest so far.
    let (status, seen) = api.get(&format!("/api/sessions/{b}/channels/{ch}")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["data"]["name"], "Morning News");
    assert_eq!(seen["data"]["role"], "guest");
    let encoded = link.replace(':', "%3A").replace('/', "%2F");
    let (status, by_link) = api
        .get(&format!("/api/sessions/{b}/channels/{encoded}"))
        .await;
    assert_eq!(status, 200, "{by_link}");
    assert_eq!(by_link["data"]["id"], ch.as_str());

    // Step 3: Ben follows it, and lists it as a subscriber; Ann lists it as
    // its owner, with one subscriber.
    let (status, followed) = api
        .post(
            &format!("/api/sessions/{b}/channels/{ch}/follow"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{followed}");
    assert_eq!(followed["data"]["role"], "subscriber");
    let (status, list) = api.get(&format!("/api/sessions/{b}/channels")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(listed(&list, &ch).expect("followed")["role"], "subscriber");
    let (_, list) = api.get(&format!("/api/sessions/{a}/channels")).await;
    let mine = listed(&list, &ch).expect("owned");
    assert_eq!(mine["role"], "owner");
    assert_eq!(mine["subscribers"], 1);

    // Step 4: Ann posts; Ben hears it in the channel's chat, with its server id.
    let (status, posted) = api
        .post(
            &format!("/api/sessions/{a}/channels/{ch}/messages"),
            json!({ "text": "Good morning, followers" }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    let message_id = posted["data"]["messageId"].as_str().unwrap();
    assert!(message_id.contains(&ch), "{posted}");
    let heard = event_where(&gw.base, |v| {
        received_in(v, &b, &ch, "Good morning, followers")
    })
    .await;
    let server_id = heard["data"]["serverId"].as_u64().expect("a server id");
    assert!(!heard["data"]["fromMe"].as_bool().unwrap());

    // Step 5: Ben reads the channel's messages.
    let (status, msgs) = api
        .get(&format!(
            "/api/sessions/{b}/channels/{ch}/messages?limit=10"
        ))
        .await;
    assert_eq!(status, 200, "{msgs}");
    let post = &msgs["data"][0];
    assert_eq!(post["body"], "Good morning, followers", "{msgs}");
    assert_eq!(post["serverId"], server_id);
    assert_eq!(post["type"], "chat");
    assert_eq!(post["fromMe"], false);

    // Step 6: Ben reacts; Ann sees the count, and so does the sandbox.
    let (status, reacted) = api
        .post(
            &format!("/api/sessions/{b}/channels/{ch}/messages/{server_id}/react"),
            json!({ "reaction": "👍" }),
        )
        .await;
    assert_eq!(status, 200, "{reacted}");
    let counted = eventually("the reaction counted", WAIT, || async {
        let (_, msgs) = api
            .get(&format!("/api/sessions/{a}/channels/{ch}/messages"))
            .await;
        let post = msgs["data"][0].clone();
        (post["reactions"] == json!([{ "reaction": "👍", "count": 1 }])).then_some(post)
    })
    .await;
    assert_eq!(counted["fromMe"], true, "{counted}");
    let nl = newsletter(&sandbox, &ch).await;
    assert_eq!(nl["posts"][0]["reactions"]["👍"], 1, "{nl}");
    assert_eq!(nl["owner"], ann.number.as_str());
    assert_eq!(nl["followers"], json!([ben.number]));

    // Step 7: Ann's phone posts as well; Ben hears it too.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/admin/phones/{}/newsletters/{ch}/messages",
            sandbox.http_url(),
            ann.number
        ))
        .json(&json!({ "text": "From the phone" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    event_where(&gw.base, |v| received_in(v, &b, &ch, "From the phone")).await;

    // Step 8: Ben may not post; nothing reaches the channel.
    let (status, refused) = api
        .post(
            &format!("/api/sessions/{b}/channels/{ch}/messages"),
            json!({ "text": "let me in" }),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "CHANNEL_NOT_ADMIN");
    assert_eq!(
        newsletter(&sandbox, &ch).await["posts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Step 9: with ignore.channels, a post is neither emitted nor kept.
    let path = format!("/api/sessions/{b}");
    let (status, _) = api
        .patch(
            &path,
            json!({ "settings": { "ignore": { "channels": true } } }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/channels/{ch}/messages"),
            json!({ "text": "Nobody hears this" }),
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = api
        .patch(
            &path,
            json!({ "settings": { "ignore": { "channels": false } } }),
        )
        .await;
    assert_eq!(status, 200);
    api.post(
        &format!("/api/sessions/{a}/channels/{ch}/messages"),
        json!({ "text": "Heard again" }),
    )
    .await;
    let events = events_until(&gw.base, WAIT, |v| received_in(v, &b, &ch, "Heard again")).await;
    assert!(
        !events
            .iter()
            .any(|v| received_in(v, &b, &ch, "Nobody hears this")),
        "an ignored channel's post was emitted"
    );

    // Step 10: Ben unfollows; the channel leaves his list.
    let (status, done) = api
        .post(
            &format!("/api/sessions/{b}/channels/{ch}/unfollow"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (_, list) = api.get(&format!("/api/sessions/{b}/channels")).await;
    assert!(listed(&list, &ch).is_none(), "{list}");
    let (_, seen) = api.get(&format!("/api/sessions/{a}/channels/{ch}")).await;
    assert_eq!(seen["data"]["subscribers"], 0, "{seen}");

    // Step 11: bad ids are 400, an unknown channel 404.
    for bad in [
        "abc%40newsletter",
        "123%40g.us",
        "12a%40newsletter",
        "a%20b",
    ] {
        let (status, resp) = api.get(&format!("/api/sessions/{b}/channels/{bad}")).await;
        assert_eq!(status, 400, "{bad}: {resp}");
        assert_eq!(resp["error"]["code"], "CHANNEL_INVALID_ID", "{resp}");
    }
    let long = format!("{}@newsletter", "1".repeat(40));
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{b}/channels/{long}/follow"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    assert_eq!(resp["error"]["code"], "CHANNEL_INVALID_ID");
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{b}/channels/{ch}/messages/nope/react"),
            json!({ "reaction": "👍" }),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    let (status, _) = api
        .get(&format!("/api/sessions/{b}/channels/{ch}/messages?limit=0"))
        .await;
    assert_eq!(status, 400);
    let (status, resp) = api
        .post(
            &format!("/api/sessions/{a}/channels"),
            json!({ "name": "x".repeat(101) }),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    let (status, resp) = api
        .get(&format!("/api/sessions/{b}/channels/999999@newsletter"))
        .await;
    assert_eq!(status, 404, "{resp}");
    assert_eq!(resp["error"]["code"], "CHANNEL_NOT_FOUND");
    let (status, resp) = api
        .get(&format!(
            "/api/sessions/{b}/channels/999999@newsletter/messages"
        ))
        .await;
    assert_eq!(status, 404, "{resp}");
    assert_eq!(resp["error"]["code"], "CHANNEL_NOT_FOUND");

    // Step 12: another tenant's key finds no session.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = gw.api(t["data"]["apiKey"].as_str().unwrap());
    let (status, resp) = other.get(&format!("/api/sessions/{a}/channels")).await;
    assert_eq!(status, 404);
    assert_eq!(resp["error"]["code"], "SESSION_NOT_FOUND");
    let (status, resp) = other
        .post(
            &format!("/api/sessions/{a}/channels/{ch}/messages"),
            json!({ "text": "hi" }),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(resp["error"]["code"], "SESSION_NOT_FOUND");
}

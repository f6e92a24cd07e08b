//! Groups end to end through HTTP only: two sessions in the sandbox (and a
//! third phone); create, list, info, participants add/remove/promote/demote,
//! subject, description, invite link, a group message, leave, the
//! contract's GROUP_* codes, and the group.join / group.update /
//! group.leave events the other member hears.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn member<'a>(info: &'a Value, id: &str) -> Option<&'a Value> {
    info["data"]["participants"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_lifecycle() {
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628555000001", "Ann").await;
    let ben = create_phone(&sandbox, "628555000002", "Ben").await;
    create_phone(&sandbox, "628555000003", "Cat").await;
    let (ann_id, ben_id, cat_id) = (
        "628555000001@c.us",
        "628555000002@c.us",
        "628555000003@c.us",
    );
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;

    // Create.
    let (status, created) = api
        .post(
            &format!("/api/sessions/{a}/groups"),
            json!({ "name": "Trio", "participants": [ben_id] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let gid = created["data"]["id"].as_str().unwrap().to_string();
    assert!(gid.ends_with("@g.us"), "{gid}");
    assert_eq!(created["data"]["name"], "Trio");
    let g = |rest: &str| format!("/api/sessions/{a}/groups/{gid}{rest}");

    // List and info, from both sides.
    let (status, list) = api.get(&format!("/api/sessions/{a}/groups")).await;
    assert_eq!(status, 200, "{list}");
    let row = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == gid.as_str())
        .expect("the new group is listed")
        .clone();
    assert_eq!(row["name"], "Trio");
    assert_eq!(row["participantsCount"], 2);
    let (status, info) = api.get(&g("")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(member(&info, ann_id).unwrap()["isAdmin"], true);
    assert_eq!(member(&info, ben_id).unwrap()["isAdmin"], false);
    let (status, info_b) = api.get(&format!("/api/sessions/{b}/groups/{gid}")).await;
    assert_eq!(status, 200, "{info_b}");

    // A group message reaches the other member.
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": gid, "text": "hello trio" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    eventually(
        "ben sees the group message",
        Duration::from_secs(60),
        || async {
            let (_, h) = api
                .get(&format!("/api/sessions/{b}/chats/{gid}/messages"))
                .await;
            h["data"]
                .as_array()?
                .iter()
                .any(|m| m["body"] == "hello trio")
                .then_some(())
        },
    )
    .await;

    // Participants: not an admin, already in, added, promoted, demoted,
    // removed, not in.
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/groups/{gid}/participants/add"),
            json!({ "participants": [cat_id] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("GROUP_NOT_ADMIN"))
    );
    let (status, body) = api
        .post(&g("/participants/add"), json!({ "participants": [ben_id] }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("GROUP_PARTICIPANT_EXISTS"))
    );
    let (status, body) = api
        .post(&g("/participants/add"), json!({ "participants": [cat_id] }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["success"], true);
    let (_, info) = api.get(&g("")).await;
    assert!(member(&info, cat_id).is_some(), "{info}");
    // Ben hears that Cat joined, added by Ann.
    let ev = event_where(&gw.base, |v| {
        v["event"] == "group.join"
            && v["sessionId"] == b.as_str()
            && v["data"]["action"] == "add"
            && v["data"]["participants"][0] == cat_id
    })
    .await;
    assert_eq!(ev["data"]["groupId"], gid.as_str());
    assert_eq!(ev["data"]["by"], ann_id);
    let (status, _) = api
        .post(
            &g("/participants/promote"),
            json!({ "participants": [ben_id] }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, info) = api.get(&g("")).await;
    assert_eq!(member(&info, ben_id).unwrap()["isAdmin"], true);
    let (status, _) = api
        .post(
            &g("/participants/demote"),
            json!({ "participants": [ben_id] }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, info) = api.get(&g("")).await;
    assert_eq!(member(&info, ben_id).unwrap()["isAdmin"], false);
    let (status, _) = api
        .post(
            &g("/participants/remove"),
            json!({ "participants": [cat_id] }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, info) = api.get(&g("")).await;
    assert!(member(&info, cat_id).is_none(), "{info}");
    let ev = event_where(&gw.base, |v| {
        v["event"] == "group.leave" && v["sessionId"] == b.as_str()
    })
    .await;
    assert_eq!(ev["data"]["action"], "remove");
    assert_eq!(ev["data"]["participants"][0], cat_id);
    let (status, body) = api
        .post(
            &g("/participants/remove"),
            json!({ "participants": [cat_id] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("GROUP_PARTICIPANT_NOT_FOUND"))
    );
    let (status, _) = api
        .post(
            &g("/participants/kick"),
            json!({ "participants": [cat_id] }),
        )
        .await;
    assert_eq!(status, 404);

    // Subject and description.
    let http = reqwest::Client::new();
    let put = |path: String, body: Value| {
        let http = http.clone();
        let base = api.base.clone();
        async move {
            let resp = http
                .put(format!("{base}{path}"))
                .header("X-API-Key", ADMIN_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = put(g("/subject"), json!({ "subject": "Trio 2" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(g("/subject"), json!({ "subject": "x".repeat(101) })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("GROUP_NAME_TOO_LONG"))
    );
    let (status, body) = put(g("/description"), json!({ "description": "three of us" })).await;
    assert_eq!(status, 200, "{body}");
    let ev = event_where(&gw.base, |v| {
        v["event"] == "group.update"
            && v["sessionId"] == b.as_str()
            && v["data"]["action"] == "subject"
    })
    .await;
    assert_eq!(ev["data"]["subject"], "Trio 2");
    let (_, info) = api.get(&g("")).await;
    assert_eq!(info["data"]["name"], "Trio 2");
    assert_eq!(info["data"]["description"], "three of us");
    let (status, body) = put(
        format!("/api/sessions/{b}/groups/{gid}/subject"),
        json!({ "subject": "mine" }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("GROUP_NOT_ADMIN"))
    );

    // Invite link, and a new one.
    let (status, link) = api.get(&g("/invite-link")).await;
    assert_eq!(status, 200, "{link}");
    let first = link["data"]["inviteLink"].as_str().unwrap().to_string();
    assert!(first.starts_with("https://chat.whatsapp.com/"), "{first}");
    let (status, link) = api.post(&g("/invite-link/revoke"), json!({})).await;
    assert_eq!(status, 200, "{link}");
    assert_ne!(link["data"]["inviteLink"].as_str().unwrap(), first);

    // Ben leaves; the group is gone for him.
    let (status, body) = api
        .post(&format!("/api/sessions/{b}/groups/{gid}/leave"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.get(&format!("/api/sessions/{b}/groups/{gid}")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("GROUP_NOT_FOUND"))
    );

    // Ben comes back through the current invite link; the revoked one and
    // nonsense are refused.
    let current = link["data"]["inviteLink"].as_str().unwrap().to_string();
    for bad in [
        first.as_str(),
        "https://chat.whatsapp.com/NoSuchCode123",
        "",
    ] {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{b}/groups/join"),
                json!({ "invite": bad }),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("GROUP_INVITE_INVALID")),
            "{bad}: {body}"
        );
    }
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/groups/join"),
            json!({ "invite": current }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["groupId"], gid.as_str());
    assert_eq!(body["data"]["status"], "joined");
    let (status, _) = api.get(&format!("/api/sessions/{b}/groups/{gid}")).await;
    assert_eq!(status, 200);

    // Unknown groups, non-group ids, bad bodies.
    let (status, body) = api
        .get(&format!("/api/sessions/{a}/groups/120363000000000000@g.us"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("GROUP_NOT_FOUND"))
    );
    let (status, body) = api
        .get(&format!("/api/sessions/{a}/groups/628555000002@c.us"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MESSAGE_INVALID_CHAT_ID"))
    );
    let (status, body) = api
        .post(
            &format!("/api/sessions/{a}/groups"),
            json!({ "name": "y".repeat(101), "participants": [ben_id] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("GROUP_NAME_TOO_LONG"))
    );
    let (status, _) = api
        .post(
            &format!("/api/sessions/{a}/groups"),
            json!({ "name": "Empty", "participants": [] }),
        )
        .await;
    assert_eq!(status, 400);

    gw.stop();
}

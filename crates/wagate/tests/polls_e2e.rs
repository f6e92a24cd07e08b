//! Polls end to end through HTTP only: three sessions in the sandbox, a
//! group of the three made through A's API, a poll from A to the group
//! that B and C receive (history and `message.received`), votes by B and C
//! through the API that A hears as exactly two `poll.vote` events and
//! counts right in `GET …/poll` (and so do the voters), a changed and a
//! withdrawn vote (the latest wins), a quiz, and the refusals: a bad poll,
//! a vote for no option, the results of a text.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A session's poll results as the API gives them.
async fn results(api: &Api, session: &str, poll_id: &str) -> Value {
    let (status, body) = api
        .get(&format!("/api/sessions/{session}/messages/{poll_id}/poll"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// `(name, votes, voters)` of every option of a poll's results.
fn counts(r: &Value) -> Vec<(String, u64, Vec<String>)> {
    r["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let mut voters: Vec<String> = o["voters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            voters.sort();
            (
                o["name"].as_str().unwrap().to_string(),
                o["votes"].as_u64().unwrap(),
                voters,
            )
        })
        .collect()
}

fn row(name: &str, voters: &[&str]) -> (String, u64, Vec<String>) {
    (
        name.to_string(),
        voters.len() as u64,
        voters.iter().map(|v| v.to_string()).collect(),
    )
}

/// Waits until `session`'s results of `poll_id` are `want`.
async fn results_become(
    api: &Api,
    session: &str,
    poll_id: &str,
    want: &[(String, u64, Vec<String>)],
    total: u64,
) {
    eventually(&format!("{session}'s poll results"), WAIT, || async {
        let r = results(api, session, poll_id).await;
        (counts(&r) == want && r["totalVoters"] == total).then_some(())
    })
    .await;
}

async fn vote(api: &Api, session: &str, poll_id: &str, options: &[&str]) -> Value {
    let (status, body) = api
        .post(
            &format!("/api/sessions/{session}/messages/{poll_id}/vote"),
            json!({ "selectedOptions": options }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_poll_is_voted_and_counted() {
    // The sandbox, the gateway, and three paired sessions.
    let sandbox = start_sandbox().await;
    let ann = create_phone(&sandbox, "628666000001", "Ann").await;
    let ben = create_phone(&sandbox, "628666000002", "Ben").await;
    let cat = create_phone(&sandbox, "628666000003", "Cat").await;
    let (ben_id, cat_id) = ("628666000002@c.us", "628666000003@c.us");
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "ann", &ann).await;
    let b = create_and_pair(&api, "ben", &ben).await;
    let c = create_and_pair(&api, "cat", &cat).await;

    // A makes a group with B and C.
    let (status, created) = api
        .post(
            &format!("/api/sessions/{a}/groups"),
            json!({ "name": "Lunch club", "participants": [ben_id, cat_id] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let gid = created["data"]["id"].as_str().unwrap().to_string();

    // A sends a poll to the group.
    let options = ["Rice", "Noodles", "Soup"];
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-poll"),
            json!({ "chatId": gid, "name": "Lunch?", "options": options, "selectableCount": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["data"]["status"], "sent");
    let poll_at_a = sent["data"]["messageId"].as_str().unwrap().to_string();
    let wa_id = poll_at_a.rsplit('_').next().unwrap().to_string();
    let mine = history(&api, &a, &gid).await;
    let mine = mine.iter().find(|m| m["id"] == poll_at_a.as_str()).unwrap();
    assert_eq!(mine["type"], "poll");
    assert_eq!(mine["body"], "Lunch?");
    assert_eq!(mine["poll"]["options"], json!(options));

    // B and C receive it: in their history, and as message.received.
    let mut poll_ids = Vec::new();
    for s in [&b, &c] {
        let got = eventually(&format!("the poll at {s}"), WAIT, || async {
            history(&api, s, &gid)
                .await
                .into_iter()
                .find(|m| m["type"] == "poll")
        })
        .await;
        assert_eq!(got["body"], "Lunch?");
        assert_eq!(got["fromMe"], false);
        assert_eq!(
            got["poll"],
            json!({ "name": "Lunch?", "options": options, "selectableCount": 1 })
        );
        let ev = event_where(&gw.base, |v| {
            v["event"] == "message.received"
                && v["sessionId"] == s.as_str()
                && v["data"]["type"] == "poll"
        })
        .await;
        assert_eq!(ev["data"]["id"], got["id"]);
        assert_eq!(ev["data"]["poll"]["options"], json!(options));
        assert!(got["id"].as_str().unwrap().ends_with(&wa_id), "{got}");
        poll_ids.push(got["id"].as_str().unwrap().to_string());
    }
    let (poll_at_b, poll_at_c) = (poll_ids[0].clone(), poll_ids[1].clone());

    // B and C vote through the API, for different options.
    let voted = vote(&api, &b, &poll_at_b, &["Noodles"]).await;
    assert_eq!(voted["pollMessageId"], poll_at_b.as_str());
    assert_eq!(voted["selectedOptions"], json!(["Noodles"]));
    vote(&api, &c, &poll_at_c, &["Soup"]).await;

    // A hears both votes, one poll.vote each, with the voter and the option.
    let votes_at_a = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|v| v["event"] == "poll.vote" && v["sessionId"] == a.as_str())
            .cloned()
            .collect()
    };
    let seen = AtomicUsize::new(0);
    let events = events_until(&gw.base, WAIT, |v| {
        v["event"] == "poll.vote"
            && v["sessionId"] == a.as_str()
            && seen.fetch_add(1, Ordering::SeqCst) + 1 == 2
    })
    .await;
    let heard = votes_at_a(&events);
    assert_eq!(heard.len(), 2, "{heard:?}");
    let by = |voter: &str| {
        heard
            .iter()
            .find(|v| v["data"]["voter"] == voter)
            .unwrap_or_else(|| panic!("a vote by {voter} in {heard:?}"))
            .clone()
    };
    for (voter, option) in [(ben_id, "Noodles"), (cat_id, "Soup")] {
        let ev = by(voter);
        assert_eq!(ev["data"]["pollMessageId"], poll_at_a.as_str());
        assert_eq!(ev["data"]["chatId"], gid.as_str());
        assert_eq!(ev["data"]["selectedOptions"], json!([option]));
    }

    // A's results are right; B and C, who saw each other's vote, agree.
    let standing = [
        row("Rice", &[]),
        row("Noodles", &[ben_id]),
        row("Soup", &[cat_id]),
    ];
    let r = results(&api, &a, &poll_at_a).await;
    assert_eq!(r["pollMessageId"], poll_at_a.as_str());
    assert_eq!(r["name"], "Lunch?");
    assert_eq!(r["selectableCount"], 1);
    assert_eq!(counts(&r), standing);
    assert_eq!(r["totalVoters"], 2);
    results_become(&api, &b, &poll_at_b, &standing, 2).await;
    results_become(&api, &c, &poll_at_c, &standing, 2).await;

    // Exactly two: after a later message from B has reached A, A has heard
    // no other vote.
    let (status, _) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-text"),
            json!({ "chatId": gid, "text": "votes are in" }),
        )
        .await;
    assert_eq!(status, 200);
    let events = events_until(&gw.base, WAIT, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == a.as_str()
            && v["data"]["body"] == "votes are in"
    })
    .await;
    assert_eq!(votes_at_a(&events).len(), 2);

    // The latest vote wins: B changes to Rice, C withdraws.
    vote(&api, &b, &poll_at_b, &["Rice"]).await;
    let withdrawn = vote(&api, &c, &poll_at_c, &[]).await;
    assert_eq!(withdrawn["selectedOptions"], json!([]));
    let after = [
        row("Rice", &[ben_id]),
        row("Noodles", &[]),
        row("Soup", &[]),
    ];
    results_become(&api, &a, &poll_at_a, &after, 1).await;
    results_become(&api, &b, &poll_at_b, &after, 1).await;

    // A quiz: B sees its correct option, answers, and A counts it.
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-poll"),
            json!({ "chatId": gid, "name": "2+2?", "options": ["3", "4", "5"], "correctOption": "4" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let quiz_at_a = sent["data"]["messageId"].as_str().unwrap().to_string();
    let quiz_at_b = eventually("the quiz at B", WAIT, || async {
        history(&api, &b, &gid)
            .await
            .into_iter()
            .find(|m| m["type"] == "poll" && m["body"] == "2+2?")
    })
    .await;
    assert_eq!(
        quiz_at_b["poll"],
        json!({ "name": "2+2?", "options": ["3", "4", "5"], "selectableCount": 1, "correctOption": "4" })
    );
    vote(&api, &b, quiz_at_b["id"].as_str().unwrap(), &["4"]).await;
    let answered = [row("3", &[]), row("4", &[ben_id]), row("5", &[])];
    results_become(&api, &a, &quiz_at_a, &answered, 1).await;
    assert_eq!(results(&api, &a, &quiz_at_a).await["correctOption"], "4");
    assert!(
        results(&api, &a, &poll_at_a)
            .await
            .get("correctOption")
            .is_none()
    );

    // Refusals: a poll of one option, a choice count beyond the options, a
    // bad chat; a vote for no option of the poll, or two on a single-choice
    // poll; the results of (and a vote on) a text.
    for (body, want) in [
        (
            json!({ "chatId": gid, "name": "Lunch?", "options": ["Rice"] }),
            "VALIDATION_ERROR",
        ),
        (
            json!({ "chatId": gid, "name": "Lunch?", "options": options, "selectableCount": 4 }),
            "VALIDATION_ERROR",
        ),
        (
            json!({ "chatId": gid, "name": "", "options": options }),
            "VALIDATION_ERROR",
        ),
        (
            json!({ "chatId": gid, "name": "Lunch?", "options": options, "correctOption": "Pizza" }),
            "VALIDATION_ERROR",
        ),
        (
            json!({ "chatId": "nobody", "name": "Lunch?", "options": options }),
            "MESSAGE_INVALID_CHAT_ID",
        ),
    ] {
        let (status, refused) = api
            .post(
                &format!("/api/sessions/{a}/messages/send-poll"),
                body.clone(),
            )
            .await;
        assert_eq!(
            (status, code(&refused)),
            (400, Some(want)),
            "{body}: {refused}"
        );
    }
    for choice in [&["Pizza"][..], &["Rice", "Soup"][..]] {
        let (status, refused) = api
            .post(
                &format!("/api/sessions/{b}/messages/{poll_at_b}/vote"),
                json!({ "selectedOptions": choice }),
            )
            .await;
        assert_eq!(
            (status, code(&refused)),
            (400, Some("VALIDATION_ERROR")),
            "{refused}"
        );
    }
    let (status, text) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": gid, "text": "not a poll" }),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let text_id = text["data"]["messageId"].as_str().unwrap();
    let (status, refused) = api
        .get(&format!("/api/sessions/{a}/messages/{text_id}/poll"))
        .await;
    assert_eq!(
        (status, code(&refused)),
        (404, Some("NOT_FOUND")),
        "{refused}"
    );
    let (status, refused) = api
        .post(
            &format!("/api/sessions/{a}/messages/{text_id}/vote"),
            json!({ "selectedOptions": ["Rice"] }),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (404, Some("NOT_FOUND")),
        "{refused}"
    );

    gw.stop();
}

//! The event spine end to end: no message is acked to WhatsApp without its
//! event. On PostgreSQL a trigger makes every `message.received` append fail
//! while Alice writes to Bob; Bob's gateway stores nothing and leaves the
//! stanza unacked. The trigger goes, the gateway is SIGKILLed and started
//! again, the sandbox redelivers, and the message and its
//! `message.received` both exist exactly once.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn count(url: &str, sql: &str) -> i64 {
    psql(url, sql).parse().unwrap()
}

/// A trigger that fails every `message.received` append. It counts its
/// hits in a sequence first (a sequence survives the rollback).
fn break_received_appends(url: &str) {
    psql(url, "CREATE SEQUENCE fault_hits");
    psql(
        url,
        "CREATE FUNCTION fail_received() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.event = 'message.received' THEN
             PERFORM nextval('fault_hits');
             RAISE EXCEPTION 'injected: the event log is broken';
           END IF;
           RETURN NEW;
         END $$",
    );
    psql(
        url,
        "CREATE TRIGGER fail_received BEFORE INSERT ON events
         FOR EACH ROW EXECUTE FUNCTION fail_received()",
    );
}

fn repair_appends(url: &str) {
    psql(url, "DROP TRIGGER fail_received ON events");
    psql(url, "DROP FUNCTION fail_received()");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_event_append_leaves_the_message_unacked_until_redelivery() {
    let db = Db::postgres().await;
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628555000001", "Alice").await;
    let bob = create_phone(&sandbox, "628555000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());

    // Step 1: two paired sessions.
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // Step 2: the event log starts failing, and Alice writes to Bob.
    break_received_appends(&url);
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{a}/messages/send-text"),
            json!({ "chatId": "628555000002@c.us", "text": "while the log is broken" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    eventually(
        "bob's gateway tries to store the message",
        Duration::from_secs(30),
        || async {
            let hits = count(
                &url,
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fault_hits",
            );
            (hits > 0).then_some(())
        },
    )
    .await;

    // Step 3: nothing of it is stored: not the message, not its event.
    let stored = format!(
        "SELECT count(*) FROM messages WHERE session_id = '{b}' AND body = 'while the log is broken'"
    );
    let announced = format!(
        "SELECT count(*) FROM events WHERE session_id = '{b}' AND event = 'message.received'
         AND data LIKE '%while the log is broken%'"
    );
    assert_eq!(count(&url, &stored), 0);
    assert_eq!(count(&url, &announced), 0);

    // Step 4: the log is repaired; the gateway crashes (SIGKILL) and comes
    // back; WhatsApp redelivers what was never acked.
    repair_appends(&url);
    gw.kill();
    let gw = Gateway::start(data.path(), &url, &sandbox);
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&b, "CONNECTED").await;
    eventually(
        "bob's gateway stores the redelivered message",
        Duration::from_secs(60),
        || async { (count(&url, &stored) > 0).then_some(()) },
    )
    .await;

    // Step 5: exactly once, with exactly one message.received, which SSE
    // clients see too.
    assert_eq!(count(&url, &stored), 1);
    assert_eq!(count(&url, &announced), 1);
    let ev = event_where(&gw.base, |v| {
        v["event"] == "message.received"
            && v["sessionId"] == b.as_str()
            && v["data"]["body"] == "while the log is broken"
    })
    .await;
    assert_eq!(ev["data"]["from"], "628555000001@c.us");
    gw.stop();
}

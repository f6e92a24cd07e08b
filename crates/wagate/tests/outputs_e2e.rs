//! Event-bus outputs end to end, against real brokers: every event of the
//! durable log reaches NATS JetStream and RabbitMQ once per idempotency
//! key, across a broker outage in the middle of the stream and a SIGKILL
//! of the gateway right after it.
//!
//! Story (each broker): two paired sessions talk in three rounds. After the
//! first, the broker goes down (NATS killed, RabbitMQ's application
//! stopped) while the second round's events pile up in the log, and the
//! output says why on `GET /api/outputs/{id}`. The broker comes back, the
//! gateway is SIGKILLed and started again, the third round is sent. Then
//! what the broker holds is compared with the log, event by event.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::brokers::{NatsServer, RABBITMQ_URL, RabbitMqOutage};
use common::*;
use serde_json::{Value, json};

/// Messages per round (three rounds; each message makes about three events
/// of the sender and the receiver).
const ROUND: usize = 25;

/// The log's sequence numbers in `(after, upto]` (one tenant's, or all).
fn log_seqs(url: &str, tenant: Option<&str>, after: i64, upto: i64) -> BTreeSet<i64> {
    let filter = tenant
        .map(|t| format!("AND tenant_id = '{t}'"))
        .unwrap_or_default();
    psql(
        url,
        &format!(
            "SELECT seq FROM events WHERE seq > {after} AND seq <= {upto} {filter} ORDER BY seq"
        ),
    )
    .lines()
    .map(|l| l.parse().unwrap())
    .collect()
}

fn log_head(url: &str) -> i64 {
    psql(url, "SELECT COALESCE(MAX(seq), 0) FROM events")
        .parse()
        .unwrap()
}

/// One round: `n` queued texts from `from` to the chat `to`.
async fn talk(api: &Api, from: &str, to: &str, round: usize) {
    for i in 0..ROUND {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{from}/messages/send-text?async=true&urgent=true"),
                json!({ "chatId": to, "text": format!("round {round} line {i}") }),
            )
            .await;
        assert!(status == 202 || status == 200, "{status} {body}");
    }
}

async fn output(api: &Api, id: &str) -> Value {
    let (status, body) = api.get(&format!("/api/outputs/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// Waits until the output confirmed everything up to the log's head, and
/// returns its cursor.
async fn caught_up(api: &Api, id: &str, db: &str) -> i64 {
    eventually(
        "the output catches up with the log",
        Duration::from_secs(120),
        || async {
            let head = log_head(db);
            let o = output(api, id).await;
            let cursor = o["lastPublishedSeq"].as_i64().unwrap();
            (cursor >= head && o["lastError"].is_null()).then_some(cursor)
        },
    )
    .await
}

/// Waits until the output reports a broker failure.
async fn says_why(api: &Api, id: &str) -> String {
    eventually(
        "the output says the broker is down",
        Duration::from_secs(60),
        || async {
            output(api, id).await["lastError"]
                .as_str()
                .map(str::to_owned)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_events_reach_jetstream_once_across_a_broker_crash_and_a_gateway_kill() {
    // Step 1: a NATS server of our own, two phones, a gateway on PostgreSQL,
    // a tenant with two paired sessions.
    let mut nats = NatsServer::start().await;
    let db = Db::postgres().await;
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628556000001", "Alice").await;
    let bob = create_phone(&sandbox, "628556000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    // The story sends and polls faster than a tenant's default rate limits.
    let env = [("RATE_LIMIT_ENABLED", "false".to_string())];
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let admin = gw.api(ADMIN_KEY);
    let (status, t) = admin.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{t}");
    let tenant = t["data"]["tenant"]["id"].as_str().unwrap().to_string();
    let key = t["data"]["apiKey"].as_str().unwrap().to_string();
    let api = gw.api(&key);
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // Step 2: the tenant adds a NATS output; the password-less URL is shown
    // as given, the stream is the tenant's own.
    let (status, created) = api
        .post(
            "/api/outputs",
            json!({ "type": "nats", "url": nats.url(), "events": ["*"] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let out = created["data"]["id"].as_str().unwrap().to_string();
    let stream = created["data"]["stream"].as_str().unwrap().to_string();
    assert_eq!(stream, format!("WAGATE_{tenant}"));
    let start = created["data"]["lastPublishedSeq"].as_i64().unwrap();

    // Step 3: the first round goes out.
    talk(&api, &a, "628556000002@c.us", 1).await;
    received_at_least(&api, &b, "628556000001@c.us", ROUND).await;

    // Step 4: NATS crashes; the second round's events wait in the log and
    // the output says why.
    nats.kill();
    talk(&api, &a, "628556000002@c.us", 2).await;
    let why = says_why(&api, &out).await;
    assert!(why.contains("NATS"), "{why}");
    received_at_least(&api, &b, "628556000001@c.us", 2 * ROUND).await;

    // Step 5: NATS comes back; the gateway is SIGKILLed while it catches up,
    // and started again; the third round is sent.
    nats.restart().await;
    eventually("publishing resumes", Duration::from_secs(60), || async {
        output(&api, &out).await["lastError"]
            .is_null()
            .then_some(())
    })
    .await;
    gw.kill();
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(&key);
    api.wait_status(&a, "CONNECTED").await;
    talk(&api, &a, "628556000002@c.us", 3).await;
    received_at_least(&api, &b, "628556000001@c.us", 3 * ROUND).await;

    // Step 6: the stream holds each of the tenant's events exactly once.
    let cursor = caught_up(&api, &out, &url).await;
    let expected = log_seqs(&url, Some(&tenant), start, cursor);
    assert!(expected.len() >= 200, "only {} events", expected.len());
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut s = js.get_stream(&stream).await.unwrap();
    let info = s.info().await.unwrap().state.clone();
    let mut ids = BTreeSet::new();
    let mut seqs = BTreeSet::new();
    for n in info.first_sequence..=info.last_sequence {
        let m = s.get_raw_message(n).await.unwrap();
        let id = m.headers.get("Nats-Msg-Id").unwrap().to_string();
        assert!(ids.insert(id.clone()), "{id} is in the stream twice");
        assert!(
            m.subject
                .as_str()
                .starts_with(&format!("wagate.{tenant}.sess_")),
            "{}",
            m.subject
        );
        let body: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(body["idempotencyKey"], id.as_str());
        assert_eq!(body["tenantId"], tenant.as_str());
        assert!(
            m.subject
                .as_str()
                .ends_with(body["event"].as_str().unwrap()),
            "{}",
            m.subject
        );
        seqs.insert(body["seq"].as_i64().unwrap());
    }
    let published: BTreeSet<i64> = seqs.into_iter().filter(|s| *s <= cursor).collect();
    assert_eq!(published, expected, "the stream and the log differ");
    let counted = output(&api, &out).await["published"].as_i64().unwrap() as usize;
    assert!(counted >= expected.len(), "published {counted}");

    // Step 7: /metrics shows the output's lag and what it published.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", gw.base))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let published_line = metrics
        .lines()
        .find(|l| {
            l.starts_with("wagate_output_published_messages{")
                && l.contains(&format!("output=\"{out}\""))
        })
        .unwrap_or_else(|| panic!("no published gauge in {metrics}"));
    let n: f64 = published_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n as usize >= expected.len(), "{published_line}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("wagate_output_lag_events{")
                && l.contains(&format!("output=\"{out}\""))),
        "no lag gauge"
    );
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_rabbitmq_across_a_broker_restart_and_a_gateway_kill() {
    use lapin::options::{
        BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    };
    use lapin::types::FieldTable;

    // Step 1: an exchange of this test, and a durable queue bound to all of
    // it, on the machine's RabbitMQ.
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let exchange = format!("wagate.test.{tag}");
    let queue = format!("wagate-test-{tag}");
    let conn = lapin::Connection::connect(RABBITMQ_URL, Default::default())
        .await
        .expect("RabbitMQ on 127.0.0.1:5672");
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.as_str().into(),
        lapin::ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let _ = conn.close(200, "set up".into()).await;

    // Step 2: a gateway with the operator's RabbitMQ output from the
    // environment, and two paired sessions.
    let db = Db::postgres().await;
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628557000001", "Alice").await;
    let bob = create_phone(&sandbox, "628557000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    let env = [
        ("RABBITMQ_URL", RABBITMQ_URL.to_string()),
        ("RABBITMQ_EXCHANGE", exchange.clone()),
    ];
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    let out = "out_global_rabbitmq";
    let o = output(&api, out).await;
    assert_eq!(o["url"], "amqp://guest:***@127.0.0.1:5672/%2f");
    assert_eq!(o["global"], true);
    let start = o["lastPublishedSeq"].as_i64().unwrap();
    let (status, refused) = api.delete(&format!("/api/outputs/{out}")).await;
    assert_eq!(status, 403, "{refused}");
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // Step 3: the first round goes out.
    talk(&api, &a, "628557000002@c.us", 1).await;
    received_at_least(&api, &b, "628557000001@c.us", ROUND).await;

    // Step 4: RabbitMQ stops; the second round's events wait in the log.
    let outage = RabbitMqOutage::begin();
    talk(&api, &a, "628557000002@c.us", 2).await;
    let why = says_why(&api, out).await;
    assert!(why.contains("RabbitMQ"), "{why}");
    received_at_least(&api, &b, "628557000001@c.us", 2 * ROUND).await;

    // Step 5: RabbitMQ starts again; the gateway is SIGKILLed while it
    // catches up, and started again; the third round is sent.
    outage.end().await;
    eventually("publishing resumes", Duration::from_secs(60), || async {
        output(&api, out).await["lastError"].is_null().then_some(())
    })
    .await;
    gw.kill();
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    api.wait_status(&a, "CONNECTED").await;
    talk(&api, &a, "628557000002@c.us", 3).await;
    received_at_least(&api, &b, "628557000001@c.us", 3 * ROUND).await;

    // Step 6: the queue holds every event of the log; deduplicated by
    // message_id (at-least-once), each exactly once, all persistent.
    let cursor = caught_up(&api, out, &url).await;
    let expected = log_seqs(&url, None, start, cursor);
    assert!(expected.len() >= 200, "only {} events", expected.len());
    let conn = lapin::Connection::connect(RABBITMQ_URL, Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut by_id: BTreeMap<String, i64> = BTreeMap::new();
    let mut copies = 0usize;
    while let Some(m) = ch
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        copies += 1;
        let props = &m.delivery.properties;
        let id = props.message_id().as_ref().unwrap().to_string();
        assert_eq!(props.delivery_mode(), &Some(2), "persistent");
        let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
        assert_eq!(body["idempotencyKey"], id.as_str());
        let key = m.delivery.routing_key.to_string();
        assert!(key.ends_with(body["event"].as_str().unwrap()), "{key}");
        let seq = body["seq"].as_i64().unwrap();
        if let Some(earlier) = by_id.insert(id.clone(), seq) {
            assert_eq!(earlier, seq, "{id} names two events");
        }
    }
    let published: BTreeSet<i64> = by_id.values().copied().filter(|s| *s <= cursor).collect();
    assert_eq!(published, expected, "the queue and the log differ");
    eprintln!(
        "rabbitmq: {} events, {} messages ({} republished after the kill)",
        expected.len(),
        copies,
        copies - by_id.len()
    );
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    let _ = ch
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
    gw.stop();
}

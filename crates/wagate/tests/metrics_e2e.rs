//! `/metrics` for the operator: refused without the admin key or the
//! metrics token, parsed by a Prometheus text-format parser, and its
//! figures move with traffic: two numbers write to each other (3 one way,
//! 2 the other) and the message counters, the event log's head and the
//! HTTP counters say so; sessions by status and the queue are there too,
//! and the send and webhook-delivery duration histograms count each one.

mod common;

use common::*;
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789";

/// A sample: its name, its labels (sorted), its value.
type Sample = (String, Vec<(String, String)>, f64);

/// One scrape: each sample as (name, labels, value).
async fn scrape(base: &str, auth: (&str, &str)) -> (u16, Vec<Sample>) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    if status != 200 {
        return (status, Vec::new());
    }
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text format");
    let samples = parsed
        .samples
        .into_iter()
        .filter_map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                // A histogram's value here is its count (the +Inf bucket).
                prometheus_parse::Value::Histogram(ref buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                _ => return None,
            };
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            Some((s.metric, labels, v))
        })
        .collect();
    (status, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_move_with_traffic() {
    // Step 1: a gateway with a metrics token, and two linked numbers.
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let gw = Gateway::start_with_env(
        dir.path(),
        &url,
        &sandbox,
        &[("METRICS_TOKEN", TOKEN.into())],
    );
    let api = gw.api(ADMIN_KEY);
    let alice = create_phone(&sandbox, "628555000071", "Alice").await;
    let bob = create_phone(&sandbox, "628555000072", "Bob").await;
    let a = create_and_pair(&api, "alice", &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;

    // Step 2: no key, a tenant's key or a wrong token: refused.
    let (status, _) = scrape(&gw.base, ("X-Request-ID", "none")).await;
    assert_eq!(status, 401);
    let (status, _) = scrape(&gw.base, ("Authorization", "Bearer wrong-token")).await;
    assert_eq!(status, 401);
    let (_, before) = scrape(&gw.base, ("Authorization", &format!("Bearer {TOKEN}"))).await;
    assert_eq!(
        value(&before, "wagate_sessions", &[("status", "CONNECTED")]),
        2.0
    );

    // A webhook on bob's session hears what he receives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
        let _ = axum::serve(listener, app).await;
    });
    let (status, body) = api
        .post(
            &format!("/api/sessions/{b}/webhooks"),
            json!({ "url": hook, "events": ["message.received"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Step 3: alice sends 3, bob sends 2; each side stores what it got.
    for (from, to_phone, n) in [(&a, &bob.number, 3), (&b, &alice.number, 2)] {
        for i in 0..n {
            let (status, body) = api
                .post(
                    &format!("/api/sessions/{from}/messages/send-text"),
                    json!({ "chatId": to_phone, "text": format!("hello {i}") }),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    eventually(
        "both sides stored what they got",
        std::time::Duration::from_secs(30),
        || async {
            let to_bob = received_texts(&api, &b, &alice.number).await.len();
            let to_alice = received_texts(&api, &a, &bob.number).await.len();
            (to_bob == 3 && to_alice == 2).then_some(())
        },
    )
    .await;

    // Step 4: the counters say so (the admin key may scrape too).
    let after = eventually(
        "the counters catch up",
        std::time::Duration::from_secs(30),
        || async {
            let (_, s) = scrape(&gw.base, ("X-API-Key", ADMIN_KEY)).await;
            let sent = value(
                &s,
                "wagate_messages_total",
                &[("direction", "sent"), ("msg_type", "chat")],
            ) - value(
                &before,
                "wagate_messages_total",
                &[("direction", "sent"), ("msg_type", "chat")],
            );
            let received = value(
                &s,
                "wagate_messages_total",
                &[("direction", "received"), ("msg_type", "chat")],
            ) - value(
                &before,
                "wagate_messages_total",
                &[("direction", "received"), ("msg_type", "chat")],
            );
            (sent == 5.0 && received == 5.0).then_some(s)
        },
    )
    .await;
    assert!(
        value(&after, "wagate_event_log_head", &[])
            >= value(&before, "wagate_event_log_head", &[]) + 10.0,
        "ten message events at least were appended"
    );
    assert!(
        value(&after, "wagate_events_total", &[("event", "message.sent")])
            >= value(&before, "wagate_events_total", &[("event", "message.sent")]) + 5.0
    );
    assert!(
        value(
            &after,
            "wagate_http_requests_total",
            &[("method", "POST"), ("class", "2xx")]
        ) >= 5.0
    );
    assert_eq!(
        value(&after, "wagate_send_queue_depth", &[("lane", "direct")]),
        0.0
    );
    assert!(value(&after, "wagate_process_resident_memory_bytes", &[]) > 0.0);
    // Every waited-for send and every delivery attempt was timed.
    let timed = |s: &[Sample], name: &str, outcome: &str| {
        value(s, name, &[("outcome", outcome)]).max(value(
            s,
            &format!("{name}_count"),
            &[("outcome", outcome)],
        ))
    };
    assert_eq!(timed(&after, "wagate_send_duration_seconds", "sent"), 5.0);
    let delivered = eventually(
        "the deliveries to bob's webhook are timed",
        std::time::Duration::from_secs(30),
        || async {
            let (_, s) = scrape(&gw.base, ("X-API-Key", ADMIN_KEY)).await;
            let n = timed(&s, "wagate_webhook_delivery_duration_seconds", "delivered");
            (n >= 3.0).then_some(n)
        },
    )
    .await;
    assert!(delivered >= 3.0);
    assert!(value(&after, "wagate_db_pool_connections", &[]) >= 1.0);
}

//! Warming rooms end to end, driving only HTTP: two sandbox numbers talk
//! through a script (spintax and variables rendered, in order, spaced by
//! the room's interval, `warming.message` then `warming.finished`); a
//! reordered script arrives in its new order; a dry run sends nothing; a
//! member logged out pauses the room and a re-paired one resumes it; a
//! SIGKILL mid-room neither repeats nor skips a line; AI rooms ask a small
//! OpenAI-shaped or Gemini-shaped server in the test (history and persona
//! in the request, its answers sent, a 500 pauses the room); a person
//! writing to a human-vs-bot room gets one AI answer per cooldown.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn warming_env(extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = vec![
        ("WARMING_WORKER_ENABLED", "true".into()),
        ("WARMING_WORKER_INTERVAL_SECONDS", "1".into()),
        ("TYPING_DELAY_MIN", "0".into()),
        ("TYPING_DELAY_MAX", "0".into()),
    ];
    for (k, v) in extra {
        env.push((Box::leak(k.to_string().into_boxed_str()), v.clone()));
    }
    env
}

struct Pair {
    a_phone: String,
    b_phone: String,
    a: String,
    b: String,
}

async fn two_sessions(sandbox: &wagate_sandbox::Sandbox, api: &Api, base: &str) -> Pair {
    let alice = create_phone(sandbox, &format!("{base}1"), "Alice").await;
    let bob = create_phone(sandbox, &format!("{base}2"), "Bob").await;
    let a = create_and_pair(api, "alice", &alice).await;
    let b = create_and_pair(api, "bob", &bob).await;
    Pair {
        a_phone: alice.number.clone(),
        b_phone: bob.number.clone(),
        a,
        b,
    }
}

async fn room_status(api: &Api, room: &str) -> Value {
    let (status, body) = api.get(&format!("/api/warming/rooms/{room}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn wait_room(api: &Api, room: &str, wanted: &str, secs: u64) -> Value {
    eventually(
        &format!("room {room} {wanted}"),
        Duration::from_secs(secs),
        || async {
            let r = room_status(api, room).await;
            (r["status"] == wanted).then_some(r)
        },
    )
    .await
}

const SCRIPT: &[(&str, &str)] = &[
    ("A", "{Hi|Hello|Hey} {OTHER_NAME}, {TIME_GREETING}!"),
    ("B", "{Hey|Yo} {OTHER_NAME}, happy {DAY_NAME}"),
    ("A", "Today is {DATE}, {how are you|what's up}?"),
    ("B", "{All good|Fine|{Great|Awesome}}, thanks"),
];

fn script_room(p: &Pair, settings: Value) -> Value {
    json!({
        "name": "warm-up",
        "actors": [
            { "id": "A", "name": "Alice", "sessionId": p.a },
            { "id": "B", "name": "Bob", "sessionId": p.b },
        ],
        "settings": settings,
        "lines": SCRIPT.iter().map(|(a, t)| json!({ "actor": a, "text": t })).collect::<Vec<_>>(),
    })
}

fn matches_line(text: &str, line: usize) -> bool {
    if text.contains('{') || text.contains('}') {
        return false;
    }
    match line {
        0 => {
            ["Hi Bob, ", "Hello Bob, ", "Hey Bob, "]
                .iter()
                .any(|p| text.starts_with(p))
                && [
                    "Good morning!",
                    "Good afternoon!",
                    "Good evening!",
                    "Good night!",
                ]
                .iter()
                .any(|s| text.ends_with(s))
        }
        1 => {
            (text.starts_with("Hey Alice, happy ") || text.starts_with("Yo Alice, happy "))
                && text.ends_with("day")
        }
        2 => {
            text.starts_with("Today is 20")
                && (text.ends_with(", how are you?") || text.ends_with(", what's up?"))
        }
        3 => [
            "All good, thanks",
            "Fine, thanks",
            "Great, thanks",
            "Awesome, thanks",
        ]
        .contains(&text),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_room_talks_in_order_and_finishes() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);
    let p = two_sessions(&sandbox, &api, "62855500000").await;

    // Step 1: a room of A and B with a four-line script, one second apart.
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            script_room(
                &p,
                json!({ "intervalMinSecs": 1, "intervalMaxSecs": 1, "timezone": "+07:00" }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["data"]["status"], "DRAFT");
    assert_eq!(body["data"]["progress"]["total"], 4);

    // Step 2: start it; it finishes by itself.
    let (status, body) = api
        .post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = wait_room(&api, &room, "FINISHED", 120).await;
    assert_eq!(done["progress"]["position"], 4, "{done}");

    // Step 3: B got A's lines and A got B's, in order, each rendered.
    let to_b = received_at_least(&api, &p.b, &p.a_phone, 2).await;
    let to_a = received_at_least(&api, &p.a, &p.b_phone, 2).await;
    assert_eq!(to_b.len(), 2, "{to_b:?}");
    assert_eq!(to_a.len(), 2, "{to_a:?}");
    assert!(matches_line(&to_b[0], 0), "{}", to_b[0]);
    assert!(matches_line(&to_a[0], 1), "{}", to_a[0]);
    assert!(matches_line(&to_b[1], 2), "{}", to_b[1]);
    assert!(matches_line(&to_a[1], 3), "{}", to_a[1]);

    // Step 4: at the relay, lines are at least intervalMinSecs apart.
    let mut times: Vec<i64> = relayed_messages(&sandbox, &p.a_phone, &p.b_phone)
        .await
        .iter()
        .chain(
            relayed_messages(&sandbox, &p.b_phone, &p.a_phone)
                .await
                .iter(),
        )
        .filter(|r| r["type"] == "text")
        .map(|r| r["timestamp"].as_i64().unwrap())
        .collect();
    times.sort();
    assert_eq!(times.len(), 4, "{times:?}");
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 1_000, "gap {} ms", w[1] - w[0]);
    }

    // Step 5: the events: four SUCCESS messages, then finished (the event
    // stream replays from the start of the log, in commit order).
    let log = events_until(&gw.base, Duration::from_secs(60), |e| {
        e["event"] == "warming.finished" && e["data"]["roomId"] == room.as_str()
    })
    .await;
    let finished = log.last().unwrap();
    assert_eq!(finished["data"]["roomId"], room.as_str());
    let messages: Vec<&Value> = log
        .iter()
        .filter(|e| e["event"] == "warming.message" && e["data"]["roomId"] == room.as_str())
        .collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(
        messages.iter().all(|e| e["data"]["status"] == "SUCCESS"),
        "{messages:?}"
    );
    let first = event_where(&gw.base, |e| {
        e["event"] == "warming.message" && e["data"]["line"] == 0
    })
    .await;
    assert_eq!(first["data"]["status"], "SUCCESS");
    assert_eq!(first["data"]["from"], p.a.as_str());
    assert_eq!(first["data"]["text"], to_b[0].as_str());

    // Step 6: history and health.
    let (_, hist) = api
        .get(&format!("/api/warming/rooms/{room}/messages"))
        .await;
    let hist = hist["data"].as_array().unwrap().clone();
    assert_eq!(hist.len(), 4);
    assert!(hist.iter().all(|m| m["status"] == "SUCCESS"));
    let (_, health) = api
        .get(&format!("/api/warming/sessions/{}/health", p.a))
        .await;
    assert_eq!(health["data"]["messagesSent"], 2, "{health}");
    assert_eq!(health["data"]["messagesReceived"], 2, "{health}");
    assert_eq!(health["data"]["daysWarmed"], 1, "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reordered_lines_arrive_in_the_new_order_and_a_dry_run_sends_nothing() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);
    let p = two_sessions(&sandbox, &api, "62855500010").await;

    // Step 1: a dry-run room: the preview renders, the run records, nothing is sent.
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            script_room(
                &p,
                json!({ "intervalMinSecs": 1, "intervalMaxSecs": 1, "dryRun": true }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let dry = body["data"]["id"].as_str().unwrap().to_string();
    let (status, preview) = api
        .post(&format!("/api/warming/rooms/{dry}/preview"), json!({}))
        .await;
    assert_eq!(status, 200, "{preview}");
    let msgs = preview["data"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    for (i, m) in msgs.iter().enumerate() {
        assert!(matches_line(m["text"].as_str().unwrap(), i), "{m}");
    }
    api.post(&format!("/api/warming/rooms/{dry}/start"), json!({}))
        .await;
    wait_room(&api, &dry, "FINISHED", 60).await;
    let (_, hist) = api.get(&format!("/api/warming/rooms/{dry}/messages")).await;
    assert_eq!(hist["data"].as_array().unwrap().len(), 4);
    assert!(
        hist["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "SIMULATED")
    );
    assert!(
        relayed_messages(&sandbox, &p.a_phone, &p.b_phone)
            .await
            .is_empty()
    );
    assert!(
        relayed_messages(&sandbox, &p.b_phone, &p.a_phone)
            .await
            .is_empty()
    );

    // Step 2: a real room, its lines reversed before it runs.
    let (_, body) = api
        .post(
            "/api/warming/rooms",
            script_room(&p, json!({ "intervalMinSecs": 1, "intervalMaxSecs": 1 })),
        )
        .await;
    let room = body["data"]["id"].as_str().unwrap().to_string();
    let (_, lines) = api.get(&format!("/api/warming/rooms/{room}/lines")).await;
    let mut ids: Vec<String> = lines["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    ids.reverse();
    let ok = api
        .http
        .put(format!("{}/api/warming/rooms/{room}/lines/order", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "order": ids }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // A partial order is refused.
    let bad = api
        .http
        .put(format!("{}/api/warming/rooms/{room}/lines/order", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .json(&json!({ "order": [ids[0]] }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    wait_room(&api, &room, "FINISHED", 120).await;
    // Reversed: B's line 3, A's line 2, B's line 1, A's line 0.
    let to_a = received_at_least(&api, &p.a, &p.b_phone, 2).await;
    let to_b = received_at_least(&api, &p.b, &p.a_phone, 2).await;
    assert_eq!(to_a.len(), 2, "{to_a:?}");
    assert!(
        matches_line(&to_a[0], 3) && matches_line(&to_a[1], 1),
        "{to_a:?}"
    );
    assert!(
        matches_line(&to_b[0], 2) && matches_line(&to_b[1], 0),
        "{to_b:?}"
    );
    let mut all: Vec<(i64, String)> = relayed_messages(&sandbox, &p.a_phone, &p.b_phone)
        .await
        .iter()
        .map(|r| (r["timestamp"].as_i64().unwrap(), "A".to_string()))
        .chain(
            relayed_messages(&sandbox, &p.b_phone, &p.a_phone)
                .await
                .iter()
                .map(|r| (r["timestamp"].as_i64().unwrap(), "B".to_string())),
        )
        .collect();
    all.sort();
    let speakers: Vec<&str> = all.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(speakers, ["B", "A", "B", "A"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sigkill_mid_room_repeats_and_skips_nothing() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &warming_env(&[]));
    let api = gw.api(ADMIN_KEY);
    let p = two_sessions(&sandbox, &api, "62855500020").await;
    let lines: Vec<Value> = (0..10)
        .map(|i| json!({ "actor": if i % 2 == 0 { "A" } else { "B" }, "text": format!("line-{i} {{x|y}}") }))
        .collect();
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({
                "name": "crash",
                "actors": [{ "id": "A", "sessionId": p.a }, { "id": "B", "sessionId": p.b }],
                "settings": { "intervalMinSecs": 1, "intervalMaxSecs": 2 },
                "lines": lines,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;

    // Step 1: kill the gateway once three lines went out.
    eventually("three lines relayed", Duration::from_secs(90), || async {
        let n = relayed_messages(&sandbox, &p.a_phone, &p.b_phone)
            .await
            .len()
            + relayed_messages(&sandbox, &p.b_phone, &p.a_phone)
                .await
                .len();
        (n >= 3).then_some(())
    })
    .await;
    gw.kill();

    // Step 2: back up: the room goes on from the next line and finishes.
    let gw = Gateway::start_with_env(data.path(), &url, &sandbox, &warming_env(&[]));
    let api = gw.api(ADMIN_KEY);
    wait_room(&api, &room, "FINISHED", 180).await;
    let to_b = received_at_least(&api, &p.b, &p.a_phone, 2).await;
    let to_a = received_at_least(&api, &p.a, &p.b_phone, 2).await;
    let prefix = |v: &[String]| {
        v.iter()
            .map(|t| t.split(' ').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        prefix(&to_b),
        ["line-0", "line-2", "line-4", "line-6", "line-8"],
        "{to_b:?}"
    );
    assert_eq!(
        prefix(&to_a),
        ["line-1", "line-3", "line-5", "line-7", "line-9"],
        "{to_a:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_logged_out_pauses_the_room_and_it_resumes_when_back() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);
    let alice = create_phone(&sandbox, "628555000301", "Alice").await;
    let bob = create_phone(&sandbox, "628555000302", "Bob").await;
    let a = create_and_pair(&api, "alice", &alice).await;
    let (_, body) = api.post("/api/sessions", json!({ "name": "bob" })).await;
    let b = body["data"]["id"].as_str().unwrap().to_string();
    let qr = eventually("a QR", Duration::from_secs(60), || async {
        let (s, body) = api.get(&format!("/api/sessions/{b}/qr")).await;
        (s == 200).then(|| body["data"]["code"].as_str().unwrap().to_string())
    })
    .await;
    let device = bob.scan(&qr).await["deviceJid"]
        .as_str()
        .unwrap()
        .to_string();
    api.wait_status(&b, "CONNECTED").await;

    let lines: Vec<Value> = (0..40)
        .map(|i| json!({ "actor": if i % 2 == 0 { "A" } else { "B" }, "text": format!("m{i}") }))
        .collect();
    let (_, body) = api
        .post(
            "/api/warming/rooms",
            json!({
                "name": "pausing",
                "actors": [{ "id": "A", "sessionId": a }, { "id": "B", "sessionId": b }],
                "settings": { "intervalMinSecs": 1, "intervalMaxSecs": 1, "autoResume": true },
                "lines": lines,
            }),
        )
        .await;
    let room = body["data"]["id"].as_str().unwrap().to_string();
    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    eventually("a line relayed", Duration::from_secs(60), || async {
        (!relayed_messages(&sandbox, &alice.number, &bob.number)
            .await
            .is_empty())
        .then_some(())
    })
    .await;

    // Step 1: the phone unlinks bob's device: the room pauses with the reason.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/admin/devices/{device}/logout",
            sandbox.http_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let paused = wait_room(&api, &room, "PAUSED", 60).await;
    let reason = paused["pauseReason"].as_str().unwrap();
    assert!(reason.contains(&b), "{reason}");
    assert_eq!(paused["pausedAutomatically"], true);
    let ev = event_where(&gw.base, |e| e["event"] == "warming.paused").await;
    assert_eq!(ev["data"]["roomId"], room.as_str());

    // Step 2: paired again: the room resumes by itself.
    api.post(&format!("/api/sessions/{b}/start"), json!({}))
        .await;
    pair(&api, &b, &bob).await;
    wait_room(&api, &room, "RUNNING", 60).await;
    event_where(&gw.base, |e| e["event"] == "warming.resumed").await;
    api.post(&format!("/api/warming/rooms/{room}/stop"), json!({}))
        .await;
}

/// A provider in the test: records requests, answers with `answer(n)` in
/// the shape of `kind` (`openai` or `gemini`), or 500 when `fail` is set.
struct FakeAi {
    base: String,
    requests: Arc<Mutex<Vec<Value>>>,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

async fn fake_ai(kind: &'static str) -> FakeAi {
    use axum::routing::post;
    let requests: Arc<Mutex<Vec<Value>>> = Default::default();
    let fail: Arc<std::sync::atomic::AtomicBool> = Default::default();
    let (r, f) = (requests.clone(), fail.clone());
    let handler = move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
        let (r, f) = (r.clone(), f.clone());
        async move {
            let key = headers
                .get("authorization")
                .or(headers.get("x-goog-api-key"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let n = {
                let mut g = r.lock().unwrap();
                g.push(json!({ "key": key, "body": body }));
                g.len()
            };
            if f.load(std::sync::atomic::Ordering::SeqCst) {
                return (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({ "error": "boom" })),
                );
            }
            let text = format!("ai-{kind}-{n}");
            let answer = if kind == "openai" {
                json!({ "choices": [{ "message": { "role": "assistant", "content": text } }] })
            } else {
                json!({ "candidates": [{ "content": { "role": "model", "parts": [{ "text": text }] } }] })
            };
            (axum::http::StatusCode::OK, axum::Json(answer))
        }
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(handler.clone()))
        .route("/v1beta/models/{model}", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeAi {
        base: format!("http://{addr}"),
        requests,
        fail,
    }
}

async fn ai_room_runs(kind: &'static str, base: &str) {
    let fake = fake_ai(kind).await;
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let env = warming_env(&[
        ("AI_DEFAULT_PROVIDER", kind.to_string()),
        ("OPENAI_API_KEY", "sk-test-openai".into()),
        ("OPENAI_BASE_URL", format!("{}/v1", fake.base)),
        ("GEMINI_API_KEY", "gm-test-key".into()),
        ("GEMINI_BASE_URL", fake.base.clone()),
        ("AI_MAX_RETRIES", "0".into()),
    ]);
    let gw = Gateway::start_with_env(data.path(), &db.url(data.path()), &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    let p = two_sessions(&sandbox, &api, base).await;

    // Step 1: an AI room of four messages.
    let (status, body) = api
        .post("/api/warming/rooms", json!({
            "name": "ai",
            "mode": "ai",
            "actors": [
                { "id": "A", "name": "Alice", "sessionId": p.a, "persona": "a baker from Bandung" },
                { "id": "B", "name": "Bob", "sessionId": p.b, "persona": "a retired sailor" },
            ],
            "settings": { "intervalMinSecs": 1, "intervalMaxSecs": 1, "maxMessages": 4 },
        }))
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    wait_room(&api, &room, "FINISHED", 120).await;

    // Step 2: the answers are what was sent.
    let to_b = received_at_least(&api, &p.b, &p.a_phone, 2).await;
    let to_a = received_at_least(&api, &p.a, &p.b_phone, 2).await;
    assert_eq!(to_b, [format!("ai-{kind}-1"), format!("ai-{kind}-3")]);
    assert_eq!(to_a, [format!("ai-{kind}-2"), format!("ai-{kind}-4")]);

    // Step 3: the requests carry the persona, the history and the key.
    let reqs = fake.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 4);
    let last = &reqs[3];
    let body = last["body"].to_string();
    assert!(body.contains("a retired sailor"), "{body}");
    for earlier in [
        format!("ai-{kind}-1"),
        format!("ai-{kind}-2"),
        format!("ai-{kind}-3"),
    ] {
        assert!(body.contains(&earlier), "history missing {earlier}: {body}");
    }
    if kind == "openai" {
        assert_eq!(last["key"], "Bearer sk-test-openai");
        assert_eq!(last["body"]["messages"][0]["role"], "system");
        assert_eq!(last["body"]["messages"].as_array().unwrap().len(), 4);
    } else {
        assert_eq!(last["key"], "gm-test-key");
        assert_eq!(last["body"]["contents"].as_array().unwrap().len(), 3);
        assert!(
            last["body"]["systemInstruction"]
                .to_string()
                .contains("sailor")
        );
    }
    // The key is never returned.
    let r = room_status(&api, &room).await;
    assert!(!r.to_string().contains("sk-test"), "{r}");

    // Step 4: a provider failure pauses the room with the reason.
    fake.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    let paused = wait_room(&api, &room, "PAUSED", 60).await;
    let reason = paused["pauseReason"].as_str().unwrap();
    assert!(reason.contains("500"), "{reason}");
    assert!(
        !reason.contains("sk-test") && !reason.contains("gm-test"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ai_room_speaks_through_an_openai_compatible_server() {
    ai_room_runs("openai", "62855500040").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ai_room_speaks_through_gemini() {
    ai_room_runs("gemini", "62855500050").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_writing_to_a_human_room_gets_one_answer_per_cooldown() {
    let fake = fake_ai("openai").await;
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let env = warming_env(&[
        ("AI_DEFAULT_PROVIDER", "openai".to_string()),
        ("OPENAI_API_KEY", "sk-test".into()),
        ("OPENAI_BASE_URL", format!("{}/v1", fake.base)),
        ("WARMING_AUTO_REPLY_ENABLED", "true".into()),
        ("WARMING_AUTO_REPLY_COOLDOWN", "600".into()),
        ("DEFAULT_REPLY_DELAY_MIN", "1".into()),
        ("DEFAULT_REPLY_DELAY_MAX", "2".into()),
    ]);
    let gw = Gateway::start_with_env(data.path(), &db.url(data.path()), &sandbox, &env);
    let api = gw.api(ADMIN_KEY);
    // The "person" is a second session (its messages come from a real device).
    let p = two_sessions(&sandbox, &api, "62855500060").await;
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({
                "name": "human",
                "mode": "ai",
                "actors": [
                    { "id": "BOT", "sessionId": p.a, "persona": "a helpful neighbour" },
                    { "id": "ME", "phone": p.b_phone },
                ],
                "settings": { "intervalMinSecs": 1, "intervalMaxSecs": 1, "maxMessages": 100 },
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    api.post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    // The bot opens.
    eventually("the opener", Duration::from_secs(60), || async {
        (received_texts(&api, &p.b, &p.a_phone).await.len() == 1).then_some(())
    })
    .await;

    // Step 1: the person writes; one answer comes after the delay.
    let (s, _) = api
        .post(
            &format!("/api/sessions/{}/messages/send-text", p.b),
            json!({ "chatId": p.a_phone, "text": "hello bot" }),
        )
        .await;
    assert_eq!(s, 200);
    eventually("the answer", Duration::from_secs(60), || async {
        (received_texts(&api, &p.b, &p.a_phone).await.len() == 2).then_some(())
    })
    .await;
    let reqs = fake.requests.lock().unwrap().clone();
    assert!(
        reqs.last().unwrap()["body"]
            .to_string()
            .contains("hello bot")
    );

    // Step 2: a second message inside the cooldown gets none.
    api.post(
        &format!("/api/sessions/{}/messages/send-text", p.b),
        json!({ "chatId": p.a_phone, "text": "again" }),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(received_texts(&api, &p.b, &p.a_phone).await.len(), 2);
    assert_eq!(fake.requests.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rooms_are_refused() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);
    for body in [
        json!({ "name": "x", "actors": [] }),
        json!({ "name": "x", "actors": [{ "id": "A", "phone": "628111111" }, { "id": "B", "phone": "628222222" }] }),
        json!({ "name": "x", "actors": [{ "id": "A", "sessionId": "nope" }, { "id": "B", "phone": "628222222" }] }),
        json!({ "name": "", "actors": [] }),
    ] {
        let (status, resp) = api.post("/api/warming/rooms", body).await;
        assert!(status == 400 || status == 404, "{status} {resp}");
        assert_eq!(resp["success"], false);
    }
    let (status, _) = api.get("/api/warming/rooms/room_missing").await;
    assert_eq!(status, 404);
    let _ = sandbox;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_circle_makes_a_mesh_room_that_talks_in_a_ring() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);

    // Step 1: three sessions in the circle "warm", one outside it.
    let mut ids = Vec::new();
    for (name, circle) in [
        ("ana", "warm"),
        ("ben", "warm"),
        ("out", "sales"),
        ("cy", "warm"),
    ] {
        let (status, body) = api
            .post("/api/sessions", json!({ "name": name, "circle": circle }))
            .await;
        assert_eq!(status, 201, "{body}");
        if circle == "warm" {
            ids.push(body["data"]["id"].as_str().unwrap().to_string());
        }
    }

    // Step 2: a room of the circle: actors A, B, C in creation order.
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({
                "name": "mesh",
                "circle": "warm",
                "lines": [
                    { "actor": "A", "text": "hi {OTHER_NAME}" },
                    { "actor": "B", "text": "hello {OTHER_NAME}" },
                    { "actor": "C", "text": "hey {OTHER_NAME}" },
                ],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let actors = body["data"]["actors"].as_array().unwrap();
    let got: Vec<(&str, &str)> = actors
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["sessionId"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("A", ids[0].as_str()),
            ("B", ids[1].as_str()),
            ("C", ids[2].as_str())
        ]
    );
    let room = body["data"]["id"].as_str().unwrap().to_string();

    // Step 3: each talks to the next, the last to the first.
    let (status, preview) = api
        .post(&format!("/api/warming/rooms/{room}/preview"), json!({}))
        .await;
    assert_eq!(status, 200, "{preview}");
    let ring: Vec<(String, String, String)> = preview["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap().to_string(),
                m["to"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ring,
        vec![
            ("ana".into(), "ben".into(), "hi ben".into()),
            ("ben".into(), "cy".into(), "hello cy".into()),
            ("cy".into(), "ana".into(), "hey ana".into()),
        ]
    );

    // Step 4: actors and a circle together are refused; an empty circle too.
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({ "name": "both", "circle": "warm", "actors": [
                { "id": "A", "sessionId": ids[0] }, { "id": "B", "sessionId": ids[1] } ] }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            json!({ "name": "none", "circle": "nobody" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_ramp_up_budget_holds_the_room_until_the_next_day() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start_with_env(
        data.path(),
        &db.url(data.path()),
        &sandbox,
        &warming_env(&[]),
    );
    let api = gw.api(ADMIN_KEY);
    let p = two_sessions(&sandbox, &api, "62855500040").await;

    // Step 1: one message a day per number, and a four-line script.
    let (status, body) = api
        .post(
            "/api/warming/rooms",
            script_room(
                &p,
                json!({ "intervalMinSecs": 1, "intervalMaxSecs": 1, "timezone": "UTC",
                        "rampUp": { "start": 1, "step": 0, "max": 1 } }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let room = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        body["data"]["settings"]["rampUp"],
        json!({ "start": 1, "step": 0, "max": 1 })
    );
    let (status, body) = api
        .post(&format!("/api/warming/rooms/{room}/start"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");

    // Step 2: A says line 0 and B line 1; line 2 is A's again, and A's
    // budget for today is spent: the room waits for tomorrow (00:00 UTC).
    const DAY_MS: i64 = 86_400_000;
    let tomorrow = wagate_core::iso_ms((wagate_core::now_ms() / DAY_MS + 1) * DAY_MS);
    // ISO 8601 UTC with milliseconds compares as text.
    let held = eventually(
        "the room held until tomorrow",
        Duration::from_secs(90),
        || async {
            let r = room_status(&api, &room).await;
            let position = r["progress"]["position"].as_i64().unwrap_or_default();
            assert!(position <= 2, "a line over the budget went out: {r}");
            let next = r["nextAt"].as_str().unwrap_or_default().to_string();
            (position == 2 && r["status"] == "RUNNING" && next >= tomorrow).then_some(next)
        },
    )
    .await;
    assert!(
        held >= tomorrow,
        "held until {held}, tomorrow starts {tomorrow}"
    );

    // Step 3: exactly the two lines within budget reached the other side.
    let texts = |from: String, to: String| {
        let sandbox = &sandbox;
        async move {
            relayed_messages(sandbox, &from, &to)
                .await
                .into_iter()
                .filter(|r| r["type"] == "text")
                .count()
        }
    };
    assert_eq!(texts(p.a_phone.clone(), p.b_phone.clone()).await, 1);
    assert_eq!(texts(p.b_phone.clone(), p.a_phone.clone()).await, 1);
}

//! `wagate-bench`: measures the gateway against its sandbox.
//!
//! Starts the sandbox and the gateway as separate processes (from the
//! `wagate` binary built with `--features sandbox`), drives the gateway only
//! through its HTTP API and WebSocket, and prints a JSON report:
//! idle memory at 0, 100 and N connected sessions (the per-session cost is
//! the slope), the send path (API call → the receiving session's
//! `message.received` event), signed webhook deliveries per second to a
//! local receiver, WebSocket fan-out, API overhead, the
//! reconnect storm after a restart, and start-up time.
//!
//! ```sh
//! cargo build --release --features sandbox -p wagate -p wagate-bench
//! target/release/wagate-bench
//! ```

mod procs;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wagate_core::EventKind;

use procs::{ADMIN_KEY, Gateway, Sandbox, rss_bytes};
use stats::Latencies;

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark wagate against its sandbox")]
struct Args {
    /// Connected sessions for the memory and reconnect measurements.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Messages sent in the send-path measurement.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Concurrent API calls in the send-path measurement.
    #[arg(long, default_value_t = 32)]
    send_concurrency: usize,
    /// WebSocket subscribers in the fan-out measurement.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Concurrent pairings while building up sessions.
    #[arg(long, default_value_t = 16)]
    pair_concurrency: usize,
    /// Seconds of load in the API-overhead measurement.
    #[arg(long, default_value_t = 5)]
    api_seconds: u64,
    /// The `wagate` binary (built with `--features sandbox`).
    #[arg(long)]
    wagate: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = args.wagate.clone().unwrap_or_else(procs::default_binary);
    if !binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release --features sandbox -p wagate`",
            binary.display()
        );
    }
    let started = Instant::now();
    let data = tempfile::tempdir()?;
    let sandbox = Sandbox::start(&binary).await?;
    let gw = Gateway::start(&binary, data.path(), &sandbox.ws).await?;
    let startup_empty = gw.startup;
    let api = Api::new(&gw.base);
    eprintln!("gateway up in {startup_empty:?}");

    // ── idle memory ───────────────────────────────────────────────────
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_0 = rss_bytes(gw.pid());
    let n = args.sessions.max(100);
    let phones: Vec<String> = (0..n).map(|i| format!("62899{:07}", i)).collect();
    create_phones(&sandbox, &phones).await?;
    let pair_started = Instant::now();
    let mut sessions = pair_many(&api, &sandbox, &phones[..100], 0, args.pair_concurrency).await?;
    settle().await;
    let rss_100 = rss_bytes(gw.pid());
    sessions.extend(pair_many(&api, &sandbox, &phones[100..], 100, args.pair_concurrency).await?);
    let pair_secs = pair_started.elapsed().as_secs_f64();
    settle().await;
    let rss_n = rss_bytes(gw.pid());
    let per_session = (rss_n.saturating_sub(rss_100)) as f64 / (n - 100).max(1) as f64;
    eprintln!("{n} sessions paired in {pair_secs:.1}s; rss {rss_0} → {rss_100} → {rss_n}");

    // ── API overhead ──────────────────────────────────────────────────
    let list = api_load(&api, "/api/sessions?limit=20", args.api_seconds).await;
    eprintln!("api overhead: {list}");

    // ── send path, with signed webhooks for every sent message ────────
    let receiver = WebhookReceiver::start().await?;
    let senders = (sessions.len() / 2).min(50);
    for pair in 0..senders {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{}/webhooks", sessions[2 * pair]),
                json!({ "url": receiver.url, "events": [EventKind::MessageSent], "secret": "bench-secret" }),
            )
            .await?;
        if status != 201 {
            bail!("register webhook: {status} {body}");
        }
    }
    eprintln!("webhooks registered on {senders} sessions; sending");
    let send_started = Instant::now();
    let send = send_path(
        &api,
        &sessions,
        &phones,
        args.messages,
        args.send_concurrency,
        false,
    )
    .await?;
    eprintln!("sent; waiting for webhook deliveries");
    let webhooks = receiver.wait_for(args.messages, send_started).await;
    eprintln!("webhooks: {webhooks}");
    let queued = send_path(
        &api,
        &sessions,
        &phones,
        args.messages,
        args.send_concurrency,
        true,
    )
    .await?;
    eprintln!("queued sends: {queued}");

    // ── WebSocket fan-out ─────────────────────────────────────────────
    let fanout = ws_fanout(&api, &sessions, &phones, args.subscribers).await?;
    eprintln!("ws fan-out: {fanout}");
    let (connected_before_restart, _) =
        wait_connected(&api, n, Instant::now(), Duration::ZERO).await?;

    // ── reconnect storm and start-up with N sessions ──────────────────
    let sandbox_rss = rss_bytes(sandbox.pid());
    gw.stop();
    let restart = Instant::now();
    let gw = Gateway::start(&binary, data.path(), &sandbox.ws).await?;
    let startup_full = gw.startup;
    let api = Api::new(&gw.base);
    let (reconnected, storm) = wait_connected(&api, n, restart, Duration::from_secs(180)).await?;
    let all_connected = reconnected >= n;
    eprintln!("reconnect storm: {reconnected}/{n} sessions CONNECTED again after {storm:.1}s");
    gw.stop();

    let report = json!({
        "machine": machine(),
        "sessions": n,
        "idleMemory": {
            "rssBytesAt0": rss_0,
            "rssBytesAt100": rss_100,
            "rssBytesAtN": rss_n,
            "perSessionBytes": per_session.round(),
            "perSessionMiB": per_session / 1048576.0,
            "pairingSeconds": pair_secs,
            "sandboxRssBytesAtN": sandbox_rss,
        },
        "sendPath": send,
        "queuedSend": queued,
        "webhooks": webhooks,
        "wsFanout": fanout,
        "apiOverhead": { "getSessions": list },
        "reconnectStorm": { "sessions": n, "connectedBeforeRestart": connected_before_restart, "reconnected": reconnected, "allConnected": all_connected, "secondsUntilLastReconnect": storm },
        "startup": {
            "secondsToHealthEmpty": startup_empty.as_secs_f64(),
            "secondsToHealthWithSessions": startup_full.as_secs_f64(),
        },
        "totalSeconds": started.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "memory": mem,
    })
}

// ── API client ────────────────────────────────────────────────────────

#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap_or_default(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut r = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("X-API-Key", ADMIN_KEY);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let v = resp.json().await.unwrap_or(Value::Null);
        Ok((status, v))
    }

    async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

async fn create_phones(sandbox: &Sandbox, phones: &[String]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    futures::stream::iter(phones.iter().cloned())
        .map(|p| {
            let http = http.clone();
            let url = format!("{}/admin/phones", sandbox.http);
            async move {
                http.post(url)
                    .json(&json!({ "phone": p, "pushName": format!("Bench {p}") }))
                    .send()
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// Creates and pairs one session per phone; returns the session ids in order.
async fn pair_many(
    api: &Api,
    sandbox: &Sandbox,
    phones: &[String],
    offset: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let results = futures::stream::iter(phones.iter().enumerate())
        .map(|(i, phone)| {
            let api = api.clone();
            let scan_url = format!("{}/admin/phones/{phone}/scan", sandbox.http);
            async move { pair_one(&api, &format!("bench-{}", offset + i), &scan_url).await }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    results.into_iter().collect()
}

async fn pair_one(api: &Api, name: &str, scan_url: &str) -> anyhow::Result<String> {
    let (status, body) = api.post("/api/sessions", json!({ "name": name })).await?;
    if status != 201 {
        bail!("create session {name}: {status} {body}");
    }
    let id = body["data"]["id"]
        .as_str()
        .context("session id")?
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = api.get(&format!("/api/sessions/{id}/qr")).await?;
        if status == 200
            && let Some(code) = body["data"]["code"].as_str()
        {
            let r = api
                .http
                .post(scan_url)
                .json(&json!({ "qr": code }))
                .send()
                .await?;
            if r.status().is_success() {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("no scannable QR for {name}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let (_, body) = api.get(&format!("/api/sessions/{id}")).await?;
        if body["data"]["status"] == "CONNECTED" {
            return Ok(id);
        }
        if Instant::now() > deadline {
            bail!("{name} never reached CONNECTED");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `n` sessions are CONNECTED; returns how many were, and when
/// the count last rose (seconds since `since`).
async fn wait_connected(
    api: &Api,
    n: usize,
    since: Instant,
    timeout: Duration,
) -> anyhow::Result<(usize, f64)> {
    let deadline = Instant::now() + timeout;
    let (mut best, mut at) = (0usize, 0.0f64);
    loop {
        let (_, body) = api.get("/health/detailed").await?;
        let connected = body["checks"]["sessions"]["connected"]
            .as_u64()
            .unwrap_or(0) as usize;
        if connected > best {
            best = connected;
            at = since.elapsed().as_secs_f64();
        }
        if connected >= n || Instant::now() > deadline {
            return Ok((best, at));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ── webhook receiver ──────────────────────────────────────────────────

/// A local HTTP receiver counting signed webhook deliveries.
struct WebhookReceiver {
    url: String,
    received: Arc<AtomicUsize>,
    last_at: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl WebhookReceiver {
    async fn start() -> anyhow::Result<WebhookReceiver> {
        let received = Arc::new(AtomicUsize::new(0));
        let last_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
        let (r, l) = (received.clone(), last_at.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (r, l) = (r.clone(), l.clone());
                async move {
                    if headers.contains_key("x-openwa-signature")
                        && headers.contains_key("webhook-signature")
                    {
                        r.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut t) = l.lock() {
                            *t = Some(Instant::now());
                        }
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(WebhookReceiver {
            url,
            received,
            last_at,
        })
    }

    /// Waits until `expected` deliveries arrived (or a minute passes with
    /// none), and reports the rate since `since`.
    async fn wait_for(&self, expected: usize, since: Instant) -> Value {
        let mut last_count = 0;
        let mut idle_since = Instant::now();
        loop {
            let n = self.received.load(Ordering::Relaxed);
            if n >= expected {
                break;
            }
            if n != last_count {
                last_count = n;
                idle_since = Instant::now();
            } else if idle_since.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let n = self.received.load(Ordering::Relaxed);
        let last = self
            .last_at
            .lock()
            .ok()
            .and_then(|t| *t)
            .unwrap_or_else(Instant::now);
        let secs = last.duration_since(since).as_secs_f64();
        json!({
            "expected": expected,
            "delivered": n,
            "secondsFromFirstSendToLastDelivery": secs,
            "deliveriesPerSecond": n as f64 / secs.max(1e-9),
        })
    }
}

// ── measurements ──────────────────────────────────────────────────────

async fn api_load(api: &Api, path: &str, seconds: u64) -> Value {
    let end = Instant::now() + Duration::from_secs(seconds);
    let lat = Arc::new(std::sync::Mutex::new(Latencies::default()));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let api = api.clone();
            let lat = lat.clone();
            let path = path.to_string();
            tokio::spawn(async move {
                while Instant::now() < end {
                    let t = Instant::now();
                    if let Ok((200, _)) = api.get(&path).await
                        && let Ok(mut l) = lat.lock()
                    {
                        l.push(t.elapsed());
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let l = lat.lock().map(|l| l.clone()).unwrap_or_default();
    l.report(Duration::from_secs(seconds))
}

/// Opens an admin WebSocket subscribed to `session` (or `*`) for `events`.
async fn subscribe(
    base: &str,
    session: &str,
    events: &[EventKind],
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let url = format!(
        "{}/ws?apiKey={ADMIN_KEY}",
        base.replacen("http://", "ws://", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(
        json!({ "type": "subscribe", "payload": { "sessionId": session, "events": events }, "requestId": "bench" })
            .to_string(),
    ))
    .await?;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg? {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "subscribed" {
                return Ok(ws);
            }
            if v["type"] == "error" {
                bail!("subscribe failed: {v}");
            }
        }
    }
    bail!("websocket closed before subscribing")
}

/// Senders are the even sessions, each sending to the next odd one's phone.
/// `queued`: the sends use `?async=true&urgent=true` (answered 202 when
/// queued; the send happens behind the answer).
async fn send_path(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    messages: usize,
    concurrency: usize,
    queued: bool,
) -> anyhow::Result<Value> {
    let (query, ok_status, prefix) = if queued {
        ("?async=true&urgent=true", 202, "queued message")
    } else {
        ("", 200, "bench message")
    };
    let pairs = (sessions.len() / 2).min(50);
    let mut ws = subscribe(&api.base, "*", &[EventKind::MessageReceived]).await?;
    let sent_at: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let receiver = {
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            let mut lat = Latencies::default();
            let deadline = Instant::now() + Duration::from_secs(300);
            while lat.len() < messages && Instant::now() < deadline {
                let Ok(Some(Ok(Message::Text(t)))) =
                    tokio::time::timeout(Duration::from_secs(30), ws.next()).await
                else {
                    break;
                };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let body = v["payload"]["data"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(t0) = sent_at.lock().ok().and_then(|m| m.get(&body).copied()) {
                    lat.push(t0.elapsed());
                }
            }
            lat
        })
    };
    let started = Instant::now();
    futures::stream::iter(0..messages)
        .for_each_concurrent(concurrency.max(1), |i| {
            let api = api.clone();
            let sent_at = sent_at.clone();
            let failures = failures.clone();
            let pair = i % pairs.max(1);
            let from = sessions[2 * pair].clone();
            let to = phones[2 * pair + 1].clone();
            async move {
                let body = format!("{prefix} {i}");
                if let Ok(mut m) = sent_at.lock() {
                    m.insert(body.clone(), Instant::now());
                }
                let r = api
                    .post(
                        &format!("/api/sessions/{from}/messages/send-text{query}"),
                        json!({ "chatId": to, "text": body }),
                    )
                    .await;
                if !matches!(r, Ok((status, _)) if status == ok_status) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    let api_secs = started.elapsed().as_secs_f64();
    let lat = receiver.await?;
    let end_to_end_secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "mode": if queued { "async (202, queued)" } else { "sync (200 once sent)" },
        "messages": messages,
        "pairs": pairs,
        "concurrency": concurrency,
        "failedApiCalls": failures.load(Ordering::Relaxed),
        "received": lat.len(),
        "apiMessagesPerSecond": messages as f64 / api_secs,
        "endToEndMessagesPerSecond": lat.len() as f64 / end_to_end_secs,
        "latencyApiToReceivedEvent": lat.summary(),
    }))
}

/// `subscribers` WebSocket clients on one session's events; that session
/// sends messages; how fast do all clients hear all of them?
async fn ws_fanout(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    subscribers: usize,
) -> anyhow::Result<Value> {
    const MESSAGES: usize = 50;
    let from = sessions[0].clone();
    let mut clients = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        clients.push(subscribe(&api.base, &from, &[EventKind::MessageSent]).await?);
    }
    let started = Instant::now();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = 0usize;
                while got < MESSAGES {
                    match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"event\"") => got += 1,
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                got
            })
        })
        .collect();
    futures::stream::iter(0..MESSAGES)
        .for_each_concurrent(16, |i| {
            let api = api.clone();
            let from = from.clone();
            let to = phones[1].clone();
            async move {
                let _ = api
                    .post(
                        &format!("/api/sessions/{from}/messages/send-text"),
                        json!({ "chatId": to, "text": format!("fanout {i}") }),
                    )
                    .await;
            }
        })
        .await;
    let mut delivered = 0usize;
    for r in readers {
        delivered += r.await.unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "subscribers": subscribers,
        "eventsPerSubscriber": MESSAGES,
        "framesDelivered": delivered,
        "framesPerSecond": delivered as f64 / secs,
        "seconds": secs,
    }))
}

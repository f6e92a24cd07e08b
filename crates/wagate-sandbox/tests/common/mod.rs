//! Shared harness: an in-process sandbox, real whatsapp-rust clients with
//! in-memory stores, and an HTTP client that routes the engine's `https://`
//! media URLs to the sandbox's plain-http listener (test code only).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use wacore::net::{HttpClient, HttpRequest, HttpResponse};
use wagate_sandbox::{Sandbox, SandboxConfig};
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::{Client, InboundDurabilityHook, Jid};

pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const VERSION: (u32, u32, u32) = (2, 3000, 1027868167);

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

pub async fn sandbox() -> Sandbox {
    init_logs();
    Sandbox::start(SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// Rewrites `https://<host>/…` to `http://<sandbox>/…` and executes with reqwest.
pub struct RewritingHttp {
    base: String,
    inner: reqwest::Client,
}

impl RewritingHttp {
    pub fn new(base: String) -> Self {
        Self {
            base,
            inner: reqwest::Client::new(),
        }
    }
}

#[async_trait]
impl HttpClient for RewritingHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let url = match request.url.strip_prefix("https://") {
            Some(rest) => {
                let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
                format!("{}{}", self.base, path)
            }
            None => request.url.clone(),
        };
        let mut req = match request.method.as_str() {
            "POST" => self.inner.post(&url),
            _ => self.inner.get(&url),
        };
        for (k, v) in &request.headers {
            req = req.header(k, v);
        }
        if let Some(body) = request.body {
            req = req.body(body);
        }
        let resp = req.send().await?;
        let status_code = resp.status().as_u16();
        let body = resp.bytes().await?.to_vec();
        Ok(HttpResponse { status_code, body })
    }
}

/// Every event a client saw, in order, with a wakeup for waiters.
#[derive(Clone, Default)]
pub struct EventLog {
    events: Arc<Mutex<Vec<Arc<Event>>>>,
    notify: Arc<Notify>,
}

impl EventLog {
    fn push(&self, e: Arc<Event>) {
        self.events.lock().unwrap().push(e);
        self.notify.notify_waiters();
    }

    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| pred(e))
            .count()
    }

    /// Waits until the number of events matching `pred` exceeds `already`,
    /// returning the first new one.
    pub async fn wait_after<T>(
        &self,
        already: usize,
        what: &str,
        pick: impl Fn(&Event) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let notified = self.notify.notified();
            {
                let events = self.events.lock().unwrap();
                if let Some(t) = events.iter().filter_map(|e| pick(e)).nth(already) {
                    return t;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }

    pub async fn wait<T>(&self, what: &str, pick: impl Fn(&Event) -> Option<T>) -> T {
        self.wait_after(0, what, pick).await
    }
}

/// Lends a shared hook to a client (the builder takes it by value).
struct SharedHook(Arc<dyn InboundDurabilityHook>);

#[async_trait]
impl InboundDurabilityHook for SharedHook {
    async fn on_messages(
        &self,
        client: Arc<Client>,
        batch: &[whatsapp_rust::types::events::InboundMessage],
    ) -> anyhow::Result<()> {
        self.0.on_messages(client, batch).await
    }
}

pub struct TestClient {
    pub client: Arc<Client>,
    pub backend: Arc<dyn Backend>,
    pub events: EventLog,
    pub handle: Option<BotHandle>,
}

impl TestClient {
    pub async fn start(sb: &Sandbox, backend: Arc<dyn Backend>) -> TestClient {
        Self::start_with(sb, backend, None).await
    }

    pub async fn start_with(
        sb: &Sandbox,
        backend: Arc<dyn Backend>,
        pair_code: Option<whatsapp_rust::pair_code::PairCodeOptions>,
    ) -> TestClient {
        Self::start_full(sb, backend, pair_code, None).await
    }

    /// A client whose inbound messages are acked only once `hook` commits them.
    pub async fn start_with_hook(
        sb: &Sandbox,
        backend: Arc<dyn Backend>,
        hook: Arc<dyn InboundDurabilityHook>,
    ) -> TestClient {
        Self::start_full(sb, backend, None, Some(hook)).await
    }

    async fn start_full(
        sb: &Sandbox,
        backend: Arc<dyn Backend>,
        pair_code: Option<whatsapp_rust::pair_code::PairCodeOptions>,
        hook: Option<Arc<dyn InboundDurabilityHook>>,
    ) -> TestClient {
        let events = EventLog::default();
        let log = events.clone();
        let mut builder = Bot::builder()
            .with_backend_arc(backend.clone())
            .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(sb.ws_url()))
            .with_http_client(RewritingHttp::new(sb.http_url()))
            .with_version(VERSION)
            .skip_history_sync()
            .on_event(move |e, _c| {
                let log = log.clone();
                async move { log.push(e) }
            });
        if let Some(opts) = pair_code {
            builder = builder.with_pair_code(opts);
        }
        if let Some(hook) = hook {
            builder = builder.with_inbound_durability_hook(SharedHook(hook));
        }
        let bot = builder.build().await.expect("bot builds");
        let client = bot.client();
        let handle = bot.spawn();
        TestClient {
            client,
            backend,
            events,
            handle: Some(handle),
        }
    }

    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }

    pub async fn wait_connected_after(&self, already: usize) {
        self.events
            .wait_after(already, "Connected", |e| {
                matches!(e, Event::Connected(_)).then_some(())
            })
            .await
    }

    pub fn connected_count(&self) -> usize {
        self.events.count(|e| matches!(e, Event::Connected(_)))
    }
}

pub async fn admin_post(
    sb: &Sandbox,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{}", sb.http_url(), path))
        .json(&body)
        .send()
        .await
        .expect("admin request");
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

pub async fn admin_get(sb: &Sandbox, path: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{}{}", sb.http_url(), path))
        .await
        .expect("admin request");
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

pub async fn create_phone(sb: &Sandbox, phone: &str, name: &str) {
    let (status, body) = admin_post(
        sb,
        "/admin/phones",
        serde_json::json!({ "phone": phone, "pushName": name }),
    )
    .await;
    assert_eq!(status, 201, "create phone: {body}");
}

/// Starts a fresh client, scans its first QR with `phone`, waits for Connected.
pub async fn paired_client(sb: &Sandbox, phone: &str) -> (TestClient, String) {
    paired_client_with(sb, phone, None).await
}

/// [`paired_client`], acking inbound messages through `hook` if given.
pub async fn paired_client_with(
    sb: &Sandbox,
    phone: &str,
    hook: Option<Arc<dyn InboundDurabilityHook>>,
) -> (TestClient, String) {
    let backend: Arc<dyn Backend> = Arc::new(wacore::store::InMemoryBackend::new());
    let tc = TestClient::start_full(sb, backend, None, hook).await;
    let qr = tc
        .events
        .wait("QR code", |e| match e {
            Event::PairingQrCode(q) => Some(q.code.clone()),
            _ => None,
        })
        .await;
    let (status, body) = admin_post(
        sb,
        &format!("/admin/phones/{phone}/scan"),
        serde_json::json!({ "qr": qr }),
    )
    .await;
    assert_eq!(status, 200, "scan: {body}");
    let device_jid = body["deviceJid"].as_str().unwrap().to_string();
    tc.wait_connected_after(0).await;
    (tc, device_jid)
}

pub fn pn(phone: &str) -> Jid {
    Jid::pn(phone)
}

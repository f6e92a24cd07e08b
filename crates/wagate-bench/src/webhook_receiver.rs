//! A local HTTP receiver for the gateway's signed webhooks: counts the
//! deliveries that carry both signatures and when the last one arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A local HTTP receiver counting signed webhook deliveries.
pub struct WebhookReceiver {
    pub url: String,
    received: Arc<AtomicUsize>,
    last_at: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl WebhookReceiver {
    pub async fn start() -> anyhow::Result<WebhookReceiver> {
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
    pub async fn wait_for(&self, expected: usize, since: Instant) -> Value {
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

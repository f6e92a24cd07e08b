//! A keep-alive webhook receiver that audits what it is given: every
//! delivery's `X-OpenWA-Signature` is checked over the raw body, and per
//! endpoint (the URL's path) it counts distinct events, duplicates (an
//! idempotency key seen again) and events that arrived after a later one.
//! It answers 200 at once, so the gateway's side is what is measured.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[derive(Default)]
struct Endpoint {
    last_seq: i64,
    out_of_order: u64,
}

#[derive(Default)]
struct Tally {
    endpoints: HashMap<String, Endpoint>,
    keys: HashSet<(String, String)>,
    unique: usize,
    duplicates: usize,
    bad_signatures: usize,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
}

struct Shared {
    secret: Vec<u8>,
    tally: Mutex<Tally>,
}

/// The receiver; `url(i)` is endpoint `i`'s URL.
pub struct ReplayReceiver {
    base: String,
    shared: Arc<Shared>,
}

impl ReplayReceiver {
    /// Listens on a free loopback port; deliveries must be signed with `secret`.
    pub async fn start(secret: &str) -> anyhow::Result<ReplayReceiver> {
        let shared = Arc::new(Shared {
            secret: secret.as_bytes().to_vec(),
            tally: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ReplayReceiver { base, shared })
    }

    pub fn url(&self, endpoint: usize) -> String {
        format!("{}/hook/{endpoint}", self.base)
    }

    /// Distinct events received so far.
    pub fn unique(&self) -> usize {
        self.shared.tally.lock().map(|t| t.unique).unwrap_or(0)
    }

    /// Waits until `expected` distinct events arrived (or 60 s pass with
    /// none new) and reports, `since` being when the replay was asked for.
    pub async fn wait_for(&self, expected: usize, since: Instant) -> Value {
        let mut last = 0;
        let mut idle_since = Instant::now();
        loop {
            let n = self.unique();
            if n >= expected {
                break;
            }
            if n != last {
                last = n;
                idle_since = Instant::now();
            } else if idle_since.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let t = self.shared.tally.lock().expect("tally");
        let first = t.first_at.unwrap_or(since);
        let last = t.last_at.unwrap_or(since);
        let total = last.duration_since(since).as_secs_f64().max(1e-9);
        let steady = last.duration_since(first).as_secs_f64().max(1e-9);
        let delivered = t.unique + t.duplicates;
        json!({
            "expected": expected,
            "distinctEvents": t.unique,
            "duplicates": t.duplicates,
            "outOfOrder": t.endpoints.values().map(|e| e.out_of_order).sum::<u64>(),
            "badSignatures": t.bad_signatures,
            "endpoints": t.endpoints.len(),
            "secondsFromReplayToLast": total,
            "secondsFromFirstToLast": steady,
            "deliveriesPerSecond": (delivered as f64 / total).round(),
            "deliveriesPerSecondFirstToLast": (delivered as f64 / steady).round(),
        })
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&shared.secret).expect("any key length");
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let signed =
        header("x-openwa-signature") == expected && !header("webhook-signature").is_empty();
    let key = header("x-openwa-idempotency-key").to_string();
    // The contract's key ends with the event's sequence number.
    let seq: i64 = key
        .rsplit('_')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let path = uri.path().to_string();
    let now = Instant::now();
    let mut t = shared.tally.lock().expect("tally");
    if !signed {
        t.bad_signatures += 1;
        return StatusCode::OK;
    }
    if t.first_at.is_none() {
        t.first_at = Some(now);
    }
    t.last_at = Some(now);
    if t.keys.insert((path.clone(), key)) {
        t.unique += 1;
        let e = t.endpoints.entry(path).or_default();
        if seq < e.last_seq {
            e.out_of_order += 1;
        }
        e.last_seq = e.last_seq.max(seq);
    } else {
        t.duplicates += 1;
    }
    StatusCode::OK
}

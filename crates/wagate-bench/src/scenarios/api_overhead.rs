//! API overhead: 16 workers calling one endpoint for a fixed time; the
//! latency summary of the successful calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::Api;
use crate::stats::Latencies;

pub async fn api_load(api: &Api, path: &str, seconds: u64) -> Value {
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

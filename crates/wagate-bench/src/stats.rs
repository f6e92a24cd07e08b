//! Latency samples and their summary (count, rate, p50, p90, p99, max).

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Clone, Default)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    pub fn push(&mut self, d: Duration) {
        self.samples.push(d);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    fn percentile(sorted: &[Duration], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
    }

    /// Percentiles in milliseconds.
    pub fn summary(&self) -> Value {
        let mut s = self.samples.clone();
        s.sort();
        json!({
            "count": s.len(),
            "p50Ms": Self::percentile(&s, 0.50),
            "p90Ms": Self::percentile(&s, 0.90),
            "p99Ms": Self::percentile(&s, 0.99),
            "maxMs": s.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        })
    }

    /// Summary plus requests per second over `window`.
    pub fn report(&self, window: Duration) -> Value {
        let mut v = self.summary();
        v["requestsPerSecond"] = json!(self.samples.len() as f64 / window.as_secs_f64().max(1e-9));
        v
    }
}

//! API calls counted per tenant and UTC day, for tenant statistics.
//!
//! Counting is in memory (a map increment per request, where the caller's
//! principal is first established: the rate limiter or the `Auth`
//! extractor); a task adds the counts to the store every few seconds, so
//! the statistics survive restarts while a request costs no write. A crash
//! loses at most the last interval's counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::warn;
use wagate_store::Store;
use wagate_store::app::tenant_stats::DAY_MS;

/// How often counts go to the store.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// Calls not yet stored, by tenant, then by day.
type Pending = HashMap<String, HashMap<i64, u64>>;

#[derive(Default)]
pub struct ApiCalls {
    pending: Mutex<Pending>,
}

impl ApiCalls {
    /// One call by `tenant`, now (no allocation once the tenant was seen
    /// since the last flush: this runs on every request).
    pub fn count(&self, tenant: &str) {
        let day = wagate_core::now_ms() / DAY_MS;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let days = match pending.get_mut(tenant) {
            Some(days) => days,
            None => pending.entry(tenant.to_string()).or_default(),
        };
        *days.entry(day).or_default() += 1;
    }

    /// Adds what was counted to the store (and keeps it on failure).
    pub async fn flush(&self, store: &Store) {
        let taken: Vec<(String, i64, u64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending
                .drain()
                .flat_map(|(t, days)| days.into_iter().map(move |(d, n)| (t.clone(), d, n)))
                .collect()
        };
        if taken.is_empty() {
            return;
        }
        if let Err(e) = store.add_api_calls(&taken).await {
            warn!("cannot store API call counts: {e}");
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (t, d, n) in taken {
                *pending.entry(t).or_default().entry(d).or_default() += n;
            }
        }
    }

    /// Flushes every [`FLUSH_EVERY`] for as long as the process runs.
    pub fn start_flushing(self: &Arc<Self>, store: Store) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                let Some(me) = me.upgrade() else { return };
                me.flush(&store).await;
            }
        });
    }
}

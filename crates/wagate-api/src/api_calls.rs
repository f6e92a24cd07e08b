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

#[derive(Default)]
pub struct ApiCalls {
    pending: Mutex<HashMap<(String, i64), u64>>,
}

impl ApiCalls {
    /// One call by `tenant`, now.
    pub fn count(&self, tenant: &str) {
        let day = wagate_core::now_ms() / DAY_MS;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending.entry((tenant.to_string(), day)).or_default() += 1;
    }

    /// Adds what was counted to the store (and keeps it on failure).
    pub async fn flush(&self, store: &Store) {
        let taken: Vec<(String, i64, u64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().map(|((t, d), n)| (t, d, n)).collect()
        };
        if taken.is_empty() {
            return;
        }
        if let Err(e) = store.add_api_calls(&taken).await {
            warn!("cannot store API call counts: {e}");
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (t, d, n) in taken {
                *pending.entry((t, d)).or_default() += n;
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

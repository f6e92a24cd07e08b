//! The `LISTEN` side of the cluster's `NOTIFY`s.
//!
//! A notification is only a wake-up: what it means is read from the tables,
//! so one lost (the listening connection dropped and came back) only
//! delays until the next heartbeat.
//! - `queue:<session id>`: a send was queued on another node; the session's
//!   holder wakes its dispatcher;
//! - [`LEASES`]: a node let session leases go (it stopped them, or drains);
//!   the others look for sessions to take over now;
//! - `events`: a node published events it appended; the others' live
//!   streams (WebSocket, SSE, webhook wake-ups) read the log now instead of
//!   at their next poll.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tracing::warn;

use super::{Cluster, Sessions};

/// Payload: leases were released.
pub const LEASES: &str = "leases";
const QUEUE: &str = "queue:";
/// Pause before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(2);

/// The payload that wakes a session's dispatcher wherever it runs.
pub fn queue_payload(session_id: &str) -> String {
    format!("{QUEUE}{session_id}")
}

pub(crate) async fn run<M: Sessions>(manager: Weak<M>, cluster: Arc<Cluster>) {
    loop {
        let Some(store) = manager.upgrade().map(|m| m.store().clone()) else {
            return;
        };
        let mut listener = match store.listen_cluster().await {
            Ok(l) => l,
            Err(e) => {
                warn!("cluster: cannot LISTEN: {e}");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // Anything missed while not listening: look now.
        cluster.claim_now.notify_one();
        loop {
            let note = match listener.recv().await {
                Ok(n) => n,
                Err(e) => {
                    warn!("cluster: LISTEN connection lost: {e}");
                    tokio::time::sleep(RETRY).await;
                    break;
                }
            };
            let Some(manager) = manager.upgrade() else {
                return;
            };
            let payload = note.payload();
            if payload == LEASES {
                cluster.claim_now.notify_one();
            } else if payload == wagate_store::app::events::EVENTS_PUBLISHED {
                manager.store().wake_publisher_from_cluster();
            } else if let Some(id) = payload.strip_prefix(QUEUE)
                && cluster.holds(id)
            {
                manager.wake_queue(id).await;
            }
        }
    }
}

//! What every delivery worker shares (the store, the HTTP clients, the
//! configuration, the metrics observer), kept apart so the worker loop and
//! one event's delivery both use it without importing each other.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::DeliveryOutcome;
use wagate_engine::SessionManager;
use wagate_store::Store;

use crate::config::EventsConfig;

/// How often a worker waiting to retry checks whether it was changed,
/// disabled or deleted meanwhile.
pub(crate) const RECHECK: Duration = Duration::from_secs(2);

/// What every worker shares.
pub(crate) struct Shared {
    pub store: Store,
    pub manager: Arc<SessionManager>,
    /// For the operator's global webhook (`WEBHOOK_URL`) only.
    pub http: reqwest::Client,
    /// For every tenant's webhook: the outbound guard, no redirects.
    pub outbound: wagate_outbound::Outbound,
    pub config: EventsConfig,
    /// Told of every attempt's outcome and duration (the metrics).
    pub observer: Option<DeliveryObserver>,
}

/// What hears of each delivery attempt: its outcome and how long it took.
pub type DeliveryObserver = Arc<dyn Fn(DeliveryOutcome, Duration) + Send + Sync>;

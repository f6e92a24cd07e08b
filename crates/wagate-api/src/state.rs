//! What every handler can reach.

use std::sync::Arc;
use std::time::Instant;

use wagate_engine::SessionManager;
use wagate_store::Store;

#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The admin key (`API_KEY`). Compared in constant time, never logged.
    pub admin_key: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long `GET …/qr` waits for a code to appear.
    pub qr_wait: std::time::Duration,
    /// Most webhooks per session (`WEBHOOK_MAX_PER_SESSION`).
    pub webhook_max_per_session: usize,
    /// API rate limits (`RATE_LIMIT_*`).
    pub rate_limit: crate::rate_limit::RateLimitConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub manager: Arc<SessionManager>,
    pub config: Arc<ApiConfig>,
    pub started_at: Instant,
    /// Per-tenant request counters (see [`crate::rate_limit`]).
    pub rate_limiter: Arc<crate::rate_limit::RateLimiter>,
    /// Warming rooms' service (the worker runs only where enabled).
    pub warming: Arc<wagate_engine::warming::Warming>,
}

impl AppState {
    pub fn new(manager: Arc<SessionManager>, config: ApiConfig) -> Self {
        AppState {
            store: manager.store().clone(),
            warming: wagate_engine::warming::Warming::new(
                manager.clone(),
                wagate_engine::warming::WarmingConfig::default(),
            ),
            manager,
            rate_limiter: Arc::new(crate::rate_limit::RateLimiter::new(
                config.rate_limit.clone(),
            )),
            config: Arc::new(config),
            started_at: Instant::now(),
        }
    }

    /// The warming service to use (with the deployment's settings).
    pub fn with_warming(mut self, warming: Arc<wagate_engine::warming::Warming>) -> Self {
        self.warming = warming;
        self
    }
}

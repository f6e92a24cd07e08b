//! What every handler can reach.
//!
//! The state holds components (the limiter, the streams' registry, the login
//! guard, the metrics registry, …) and imports each from the file that
//! defines it, none of which imports the state; the HTTP faces (extractors,
//! middleware, routes) import the state and the components, never the other
//! way round.

use std::sync::Arc;
use std::time::Instant;

use wagate_engine::SessionManager;
use wagate_store::Store;

use crate::api_calls::ApiCalls;
use crate::cors::CorsOrigins;
use crate::login::config::DashboardConfig;
use crate::login::guard::LoginGuard;
use crate::metrics::registry::Metrics;
use crate::rate_limit::limiter::{RateLimitConfig, RateLimiter};
use crate::streams::registry::Streams;

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
    pub rate_limit: RateLimitConfig,
    /// Most WebSocket/SSE streams one tenant holds open
    /// (`STREAMS_MAX_PER_TENANT`; 0: no cap).
    pub streams_max_per_tenant: usize,
    /// Most sessions per tenant unless the tenant has its own quota
    /// (`MAX_SESSIONS_PER_TENANT`; `None`: unlimited).
    pub max_sessions_per_tenant: Option<u64>,
    /// Dashboard login (`DASHBOARD_*`, `JWT_*`); `None`: not enabled.
    pub dashboard: Option<DashboardConfig>,
    /// Browser origins allowed to call the API (`CORS_ALLOW_ORIGINS`).
    pub cors: CorsOrigins,
    /// A bearer token that may read `/metrics` besides the admin key
    /// (`METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// The session of the single-number drop-in routes (`COMPAT_SESSION`):
    /// an id or a name; `None`: the caller's only session.
    pub compat_session: Option<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub manager: Arc<SessionManager>,
    pub config: Arc<ApiConfig>,
    pub started_at: Instant,
    /// Per-tenant request counters (see [`crate::rate_limit`]).
    pub rate_limiter: Arc<RateLimiter>,
    /// Open WebSocket/SSE streams per tenant (see [`crate::streams`]).
    pub streams: Arc<Streams>,
    /// Failed dashboard logins (see [`crate::login`]).
    pub login_guard: Arc<LoginGuard>,
    /// Warming rooms' service (the worker runs only where enabled).
    pub warming: Arc<wagate_engine::warming::Warming>,
    /// Prometheus metrics (see [`crate::metrics`]).
    pub metrics: Arc<Metrics>,
    /// API calls per tenant and day (tenant statistics).
    pub api_calls: Arc<ApiCalls>,
    /// Forwards requests to the node that runs their session
    /// ([`crate::cluster`]).
    pub cluster_http: reqwest::Client,
}

impl AppState {
    /// The state, and the metrics' follower of the live events (so call
    /// it inside the runtime).
    pub fn new(manager: Arc<SessionManager>, config: ApiConfig) -> Self {
        let state = AppState {
            store: manager.store().clone(),
            warming: wagate_engine::warming::Warming::new(
                manager.clone(),
                wagate_engine::warming::WarmingConfig::default(),
            ),
            manager,
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit.clone())),
            streams: Arc::new(Streams::default()),
            login_guard: Arc::default(),
            config: Arc::new(config),
            started_at: Instant::now(),
            metrics: Arc::new(Metrics::new()),
            api_calls: Arc::default(),
            cluster_http: wagate_outbound::client_builder()
                .connect_timeout(std::time::Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        };
        state.metrics.follow(&state.manager);
        state.api_calls.start_flushing(state.store.clone());
        state
    }

    /// The warming service to use (with the deployment's settings).
    pub fn with_warming(mut self, warming: Arc<wagate_engine::warming::Warming>) -> Self {
        self.warming = warming;
        self
    }
}

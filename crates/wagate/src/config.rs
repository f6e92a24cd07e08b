//! Configuration: flags, environment variables and `.env`, with defaults
//! that run with no setup except an admin key.
//!
//! The variable names are a contract (tests outside the project use them):
//! `PORT`, `HOST`, `DATABASE_URL`, `DATA_DIR`, `API_KEY`, `WA_SERVER_URL`,
//! `WA_VERSION`. Every check fails with one line that says what to do.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port of the HTTP API (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 2785)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// `sqlite://path.db` or `postgres://…`; default: `sqlite://$DATA_DIR/wagate.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the SQLite database and media live.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The admin API key (required). Never logged.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// WhatsApp server URL; default WhatsApp's own. A sandbox: `ws://127.0.0.1:2786/ws/chat`.
    #[arg(long, env = "WA_SERVER_URL")]
    pub wa_server_url: Option<String>,
    /// Pin the WhatsApp Web client version, e.g. `2.3000.1027868167`.
    #[arg(long, env = "WA_VERSION")]
    pub wa_version: Option<String>,
    /// Largest request body in megabytes.
    #[arg(long, env = "MAX_BODY_MB", default_value_t = 16)]
    pub max_body_mb: usize,
    /// Say "available" this often while connected (0 turns it off).
    #[arg(long, env = "PRESENCE_HEARTBEAT_SECS", default_value_t = 300)]
    pub presence_heartbeat_secs: u64,
    /// Store the chats and messages the phone pushes when a session links
    /// (WhatsApp's history sync), marked `fromHistory`; `false` skips them.
    #[arg(long, env = "HISTORY_SYNC", default_value_t = true, action = clap::ArgAction::Set)]
    pub history_sync: bool,
    /// Database connections in the shared pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// Most open HTTP connections; more wait until one closes.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 1024)]
    pub http_max_connections: usize,
    /// Seconds a client has to send a request's headers (also the longest
    /// wait for the next request on a kept-alive connection).
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECS", default_value_t = 30)]
    pub http_header_timeout_secs: u64,
    /// Seconds a connection may move no byte (longer than `SEND_SYNC_TIMEOUT_SECS`).
    #[arg(long, env = "HTTP_IDLE_TIMEOUT_SECS", default_value_t = 120)]
    pub http_idle_timeout_secs: u64,
    /// Most WebSocket/SSE streams one tenant holds open (0: no cap).
    #[arg(long, env = "STREAMS_MAX_PER_TENANT", default_value_t = 100)]
    pub streams_max_per_tenant: usize,
    /// Most sessions per tenant (unset: unlimited; a tenant's own quota
    /// wins, see `PUT /api/tenants/{id}/session-limit`).
    #[arg(long, env = "MAX_SESSIONS_PER_TENANT")]
    pub max_sessions_per_tenant: Option<u64>,
    /// Dashboard operator user name (also read as `APP_LOGIN_USERNAME`).
    #[arg(long, env = "DASHBOARD_USERNAME")]
    pub dashboard_username: Option<String>,
    /// Dashboard operator password, plain or an argon2 PHC hash (also read as `APP_LOGIN_PASSWORD`).
    #[arg(long, env = "DASHBOARD_PASSWORD", hide_env_values = true)]
    pub dashboard_password: Option<String>,
    /// Secret that signs login tokens (at least 16 characters).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of a login token: seconds, or with a unit (`30m`, `12h`, `7d`).
    #[arg(long, env = "JWT_EXPIRES_IN", default_value = "24h")]
    pub jwt_expires_in: String,
    /// Always mark the dashboard cookie `Secure` (it is anyway behind a proxy
    /// that sends `X-Forwarded-Proto: https`).
    #[arg(long, env = "DASHBOARD_COOKIE_SECURE", default_value_t = false)]
    pub dashboard_cookie_secure: bool,
    /// Browser origins allowed to call the API: `*`, or a comma list of
    /// origins (which may send credentials); unset: no CORS.
    #[arg(long, env = "CORS_ALLOW_ORIGINS", default_value = "")]
    pub cors_allow_origins: String,
    /// A bearer token that may read `/metrics` (besides the admin key).
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The session the drop-in routes of single-number systems use
    /// (`/compat/wago/…`): an id or a name; unset: the caller's only session.
    #[arg(long, env = "COMPAT_SESSION")]
    pub compat_session: Option<String>,
    /// This node's id in a cluster (several processes on one PostgreSQL
    /// DATABASE_URL); default: generated once and kept in $DATA_DIR/node_id.
    #[arg(long, env = "NODE_ID")]
    pub node_id: Option<String>,
    /// Where the other nodes reach this one, e.g. http://10.0.0.5:2785;
    /// default: http://HOST:PORT, with 127.0.0.1 for an unspecified HOST.
    #[arg(long, env = "NODE_URL")]
    pub node_url: Option<String>,
    /// Shared by every node of a cluster (at least 16 characters): carried
    /// by each request one node forwards to another. Never logged.
    #[arg(long, env = "CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// Seconds a session's lease lives without renewal: a dead node's
    /// sessions move to the others after this.
    #[arg(long, env = "LEASE_TTL_SECS", default_value_t = 15)]
    pub lease_ttl_secs: u64,
    /// Most sessions this node runs (0: no cap).
    #[arg(long, env = "NODE_MAX_SESSIONS", default_value_t = 0)]
    pub node_max_sessions: usize,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Address of the sandbox (WebSocket, admin API and media).
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:2786")]
    pub listen: SocketAddr,
    /// Keep the server key (and state) here across restarts.
    #[arg(long = "data", env = "SANDBOX_DATA_DIR")]
    pub data: Option<PathBuf>,
    /// Emulated network latency in milliseconds: each frame the sandbox
    /// writes is delayed this long, as over a real network (some clients,
    /// e.g. Baileys, need it to pair); 0 turns it off.
    #[arg(long = "latency-ms", env = "SANDBOX_LATENCY_MS", default_value_t = 20)]
    pub latency_ms: u64,
    /// Print the public half of the sandbox's root certificate key (hex) and
    /// exit: what a client that pins WhatsApp's root key pins instead to
    /// verify the sandbox's certificate chain.
    #[arg(long = "print-root-key")]
    pub print_root_key: bool,
}

/// Checked configuration for `serve`.
pub struct ServeConfig {
    pub bind: String,
    /// `HOST`, for the node's default `NODE_URL`.
    pub host: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub api_key: String,
    pub engine: wagate_engine::EngineConfig,
    pub max_body_bytes: usize,
    pub database_max_connections: u32,
    /// `RATE_LIMIT_*`.
    pub rate_limit: wagate_api::rate_limit::RateLimitConfig,
    /// `HTTP_MAX_CONNECTIONS`, `HTTP_HEADER_TIMEOUT_SECS`, `HTTP_IDLE_TIMEOUT_SECS`.
    pub http: crate::http::HttpLimits,
    /// `STREAMS_MAX_PER_TENANT` (0: no cap).
    pub streams_max_per_tenant: usize,
    /// `MAX_SESSIONS_PER_TENANT` (`None`: unlimited).
    pub max_sessions_per_tenant: Option<u64>,
    /// `DASHBOARD_*` and `JWT_*`; `None` when no operator login is configured.
    pub dashboard: Option<wagate_api::login::DashboardConfig>,
    /// `CORS_ALLOW_ORIGINS`.
    pub cors: wagate_api::cors::CorsOrigins,
    /// `METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// `COMPAT_SESSION`.
    pub compat_session: Option<String>,
    /// The node's settings for a cluster (used on PostgreSQL only).
    pub cluster: ClusterArgs,
}

/// `NODE_ID`, `NODE_URL`, `CLUSTER_SECRET`, `LEASE_TTL_SECS`,
/// `NODE_MAX_SESSIONS`: turned into the engine's
/// [`wagate_engine::cluster::ClusterConfig`] once the port is bound.
#[derive(Debug)]
pub struct ClusterArgs {
    pub node_id: Option<String>,
    pub node_url: Option<String>,
    pub secret: Option<String>,
    pub lease_ttl: std::time::Duration,
    pub max_sessions: usize,
}

impl ClusterArgs {
    /// The engine's cluster settings, for a node listening on `bound`.
    pub fn config(
        &self,
        data_dir: &std::path::Path,
        host: &str,
        bound: std::net::SocketAddr,
    ) -> Result<wagate_engine::cluster::ClusterConfig, String> {
        let node_url = match &self.node_url {
            Some(u) => u.clone(),
            None => {
                let unspecified =
                    host.is_empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
                let host = if unspecified {
                    "127.0.0.1".to_string()
                } else {
                    host.to_string()
                };
                format!("http://{host}:{}", bound.port())
            }
        };
        Ok(wagate_engine::cluster::ClusterConfig {
            node_id: wagate_engine::cluster::node_id(self.node_id.as_deref(), data_dir)?,
            node_url,
            secret: self.secret.clone(),
            lease_ttl: self.lease_ttl,
            max_sessions: self.max_sessions,
        })
    }
}

const MIN_API_KEY_LEN: usize = 16;
/// Largest `MAX_BODY_MB` (its bytes must fit any platform's `usize`).
const MAX_BODY_MB_MAX: usize = 4096;
/// Largest `HTTP_MAX_CONNECTIONS` (a semaphore's permits).
const MAX_HTTP_CONNECTIONS: usize = 1_000_000;
/// Longest HTTP timeout: a day.
const MAX_TIMEOUT_SECS: u64 = 86_400;

impl ServeArgs {
    pub fn check(self) -> Result<ServeConfig, String> {
        let dashboard = self.dashboard()?;
        let api_key = self.api_key.filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            "no admin API key: set API_KEY (at least 16 characters), e.g. API_KEY=$(openssl rand -hex 24)".to_string()
        })?;
        if api_key.len() < MIN_API_KEY_LEN {
            return Err(format!(
                "API_KEY is too short: use at least {MIN_API_KEY_LEN} characters"
            ));
        }
        let database_url = match self.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => url,
            None => format!("sqlite://{}/wagate.db", self.data_dir.display()),
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err("DATABASE_URL must start with sqlite:// or postgres://".to_string());
        }
        if let Some(url) = &self.wa_server_url {
            let parsed = url::Url::parse(url).map_err(|e| {
                format!("WA_SERVER_URL is not a URL ({e}): use ws://host:port/ws/chat or wss://…")
            })?;
            if !matches!(parsed.scheme(), "ws" | "wss") {
                return Err("WA_SERVER_URL must be a ws:// or wss:// URL".to_string());
            }
        }
        let version = match &self.wa_version {
            Some(v) => Some(wagate_engine::config::parse_version(v).ok_or_else(|| {
                format!(
                    "WA_VERSION '{v}' is not a version: use three numbers like 2.3000.1027868167"
                )
            })?),
            None => None,
        };
        let media = wagate_engine::media::MediaConfig::from_env(&self.data_dir)?;
        if self.max_body_mb == 0 || self.max_body_mb > MAX_BODY_MB_MAX {
            return Err(format!("MAX_BODY_MB must be 1 to {MAX_BODY_MB_MAX}"));
        }
        if !(1..=MAX_HTTP_CONNECTIONS).contains(&self.http_max_connections) {
            return Err(format!(
                "HTTP_MAX_CONNECTIONS must be 1 to {MAX_HTTP_CONNECTIONS}"
            ));
        }
        for (name, secs) in [
            ("HTTP_HEADER_TIMEOUT_SECS", self.http_header_timeout_secs),
            ("HTTP_IDLE_TIMEOUT_SECS", self.http_idle_timeout_secs),
        ] {
            if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
                return Err(format!("{name} must be 1 to {MAX_TIMEOUT_SECS} seconds"));
            }
        }
        let queue = wagate_engine::queue::QueueConfig::from_env()?;
        if self.http_idle_timeout_secs <= queue.sync_timeout.as_secs() {
            return Err(format!(
                "HTTP_IDLE_TIMEOUT_SECS ({}) must be longer than SEND_SYNC_TIMEOUT_SECS ({}): a synchronous send waits that long without a byte on the wire",
                self.http_idle_timeout_secs,
                queue.sync_timeout.as_secs()
            ));
        }
        let cluster_secret = self.cluster_secret.filter(|s| !s.trim().is_empty());
        if cluster_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_API_KEY_LEN)
        {
            return Err(format!(
                "CLUSTER_SECRET is too short: use at least {MIN_API_KEY_LEN} characters"
            ));
        }
        if !(3..=600).contains(&self.lease_ttl_secs) {
            return Err("LEASE_TTL_SECS must be 3 to 600 seconds".to_string());
        }
        if let Some(url) = self.node_url.as_deref().filter(|u| !u.trim().is_empty()) {
            let parsed = url::Url::parse(url.trim())
                .map_err(|e| format!("NODE_URL is not a URL ({e}): use http://host:port"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err("NODE_URL must be an http:// or https:// URL".to_string());
            }
        }
        if self.max_sessions_per_tenant == Some(0) {
            return Err(
                "MAX_SESSIONS_PER_TENANT must be at least 1 (leave it unset for no limit)"
                    .to_string(),
            );
        }
        Ok(ServeConfig {
            bind: format!("{}:{}", self.host, self.port),
            host: self.host.clone(),
            database_url,
            data_dir: self.data_dir,
            api_key,
            engine: wagate_engine::EngineConfig {
                server_url: self.wa_server_url,
                version,
                media,
                contacts: wagate_engine::contacts::ContactsConfig::from_env()?,
                typing: wagate_engine::presence::TypingConfig::from_env()?,
                presence_heartbeat: (self.presence_heartbeat_secs > 0)
                    .then(|| std::time::Duration::from_secs(self.presence_heartbeat_secs)),
                queue,
                outbound: wagate_outbound::Outbound::new(wagate_outbound::Policy::from_env()?),
                proxy: wagate_engine::config::ProxyConfig::from_env()?,
                session_defaults: wagate_core::SessionSettings {
                    history_sync: self.history_sync,
                    ..wagate_engine::config::session_defaults::from_env()?
                },
                // Set once the port is bound (`serve`).
                cluster: None,
                reconnect: wagate_engine::config::ReconnectConfig::from_env()?,
            },
            max_body_bytes: self.max_body_mb * 1024 * 1024,
            database_max_connections: self.database_max_connections.max(1),
            rate_limit: wagate_api::rate_limit::RateLimitConfig::from_env()?,
            http: crate::http::HttpLimits {
                max_connections: self.http_max_connections,
                header_timeout: std::time::Duration::from_secs(self.http_header_timeout_secs),
                idle_timeout: std::time::Duration::from_secs(self.http_idle_timeout_secs),
            },
            streams_max_per_tenant: self.streams_max_per_tenant,
            max_sessions_per_tenant: self.max_sessions_per_tenant,
            dashboard,
            cors: wagate_api::cors::CorsOrigins::parse(&self.cors_allow_origins)?,
            metrics_token: self.metrics_token.filter(|t| !t.trim().is_empty()),
            cluster: ClusterArgs {
                node_id: self.node_id,
                node_url: self
                    .node_url
                    .map(|u| u.trim().trim_end_matches('/').to_string())
                    .filter(|u| !u.is_empty()),
                secret: cluster_secret,
                lease_ttl: std::time::Duration::from_secs(self.lease_ttl_secs),
                max_sessions: self.node_max_sessions,
            },
            compat_session: self
                .compat_session
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        })
    }

    /// The dashboard login, from `DASHBOARD_USERNAME`/`DASHBOARD_PASSWORD`
    /// (or seed 000's `APP_LOGIN_USERNAME`/`APP_LOGIN_PASSWORD`) and
    /// `JWT_SECRET`: all or nothing.
    fn dashboard(&self) -> Result<Option<wagate_api::login::DashboardConfig>, String> {
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let username = self
            .dashboard_username
            .clone()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| from_env("APP_LOGIN_USERNAME"));
        let password = self
            .dashboard_password
            .clone()
            .filter(|v| !v.is_empty())
            .or_else(|| from_env("APP_LOGIN_PASSWORD"));
        let (username, password) = match (username, password) {
            (None, None) => return Ok(None),
            (Some(u), Some(p)) => (u.trim().to_string(), p),
            _ => {
                return Err("set both DASHBOARD_USERNAME and DASHBOARD_PASSWORD (or neither, to keep the dashboard off)".to_string());
            }
        };
        let secret = self
            .jwt_secret
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                "the dashboard needs JWT_SECRET (at least 16 characters), e.g. JWT_SECRET=$(openssl rand -hex 32)".to_string()
            })?;
        if secret.len() < MIN_API_KEY_LEN {
            return Err(format!(
                "JWT_SECRET is too short: use at least {MIN_API_KEY_LEN} characters"
            ));
        }
        let token_ttl = parse_duration(&self.jwt_expires_in).ok_or_else(|| {
            format!(
                "JWT_EXPIRES_IN '{}' is not a duration: use seconds or 30m, 12h, 7d",
                self.jwt_expires_in
            )
        })?;
        Ok(Some(wagate_api::login::DashboardConfig {
            username,
            password: wagate_api::login::PasswordCheck::parse(&password)?,
            jwt_secret: secret.into_bytes(),
            token_ttl,
            secure_cookie: self.dashboard_cookie_secure,
        }))
    }
}

/// A non-zero duration in the one grammar (`90`, `90s`, `30m`, `12h`, `7d`).
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    wagate_core::parse_duration(text).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("3w"), None);
        assert_eq!(parse_duration(""), None);
    }
}

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
    /// Database connections in the shared pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Address of the sandbox (WebSocket, admin API and media).
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:2786")]
    pub listen: SocketAddr,
    /// Keep the server key (and state) here across restarts.
    #[arg(long = "data", env = "SANDBOX_DATA_DIR")]
    pub data: Option<PathBuf>,
}

/// Checked configuration for `serve`.
pub struct ServeConfig {
    pub bind: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub api_key: String,
    pub engine: wagate_engine::EngineConfig,
    pub max_body_bytes: usize,
    pub database_max_connections: u32,
    /// `RATE_LIMIT_*`.
    pub rate_limit: wagate_api::rate_limit::RateLimitConfig,
}

const MIN_API_KEY_LEN: usize = 16;

impl ServeArgs {
    pub fn check(self) -> Result<ServeConfig, String> {
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
        if self.max_body_mb == 0 {
            return Err("MAX_BODY_MB must be at least 1".to_string());
        }
        Ok(ServeConfig {
            bind: format!("{}:{}", self.host, self.port),
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
                queue: wagate_engine::queue::QueueConfig::from_env()?,
                outbound: wagate_outbound::Outbound::new(wagate_outbound::Policy::from_env()?),
            },
            max_body_bytes: self.max_body_mb * 1024 * 1024,
            database_max_connections: self.database_max_connections.max(1),
            rate_limit: wagate_api::rate_limit::RateLimitConfig::from_env()?,
        })
    }
}

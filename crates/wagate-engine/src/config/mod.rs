//! Engine configuration: which server to dial and what version to claim,
//! and each feature's settings in a room of its own ([`media`],
//! [`queue`], [`contacts`], [`typing`], [`proxy`], [`session_defaults`],
//! [`cluster`]).
//!
//! Settings import only the engine's leaf types (media kinds, the media
//! store, pacing), never a session or a feature that runs one: the
//! session reads its configuration, and nothing here reads a session.

pub mod cluster;
pub mod contacts;
pub mod media;
pub mod proxy;
pub mod queue;
pub mod reconnect;
pub mod session_defaults;
pub mod typing;

pub use contacts::ContactsConfig;
pub use media::MediaConfig;
pub use proxy::ProxyConfig;
pub use queue::QueueConfig;
pub use reconnect::ReconnectConfig;
pub use typing::TypingConfig;

/// The WhatsApp Web version claimed when talking to a sandbox and no version
/// was pinned; a fixed value so that nothing is fetched from the internet.
pub const SANDBOX_DEFAULT_VERSION: (u32, u32, u32) = (2, 3000, 1_027_868_167);

#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// `None`: WhatsApp's own server. `Some(ws://…/ws/chat)`: a sandbox or relay.
    pub server_url: Option<String>,
    /// Pinned client version (`WA_VERSION`); `None` lets the engine fetch the
    /// current one, except against a sandbox, where a fixed one is used.
    pub version: Option<(u32, u32, u32)>,
    /// Media size limits and directory.
    pub media: MediaConfig,
    /// Recipient validation.
    pub contacts: ContactsConfig,
    /// Simulated typing pauses.
    pub typing: TypingConfig,
    /// Say "available" this often while connected (`None`: never).
    pub presence_heartbeat: Option<std::time::Duration>,
    /// The send queue: pacing, retries, idempotency.
    pub queue: QueueConfig,
    /// The guarded client for URLs a tenant chooses (media URLs; webhooks
    /// reuse it): `OUTBOUND_ALLOW_PRIVATE`, `OUTBOUND_ALLOW_HOSTS`.
    pub outbound: wagate_outbound::Outbound,
    /// The operator's proxies: `PROXY_URL`, `PROXY_POOL`.
    pub proxy: ProxyConfig,
    /// What a session does where it chose nothing (`SESSION_*`, and
    /// `HISTORY_SYNC` for `historySync`).
    pub session_defaults: wagate_core::SessionSettings,
    /// This node's place in a cluster (PostgreSQL only; `None`: the one
    /// process runs every session).
    pub cluster: Option<cluster::ClusterConfig>,
    /// Connect pacing when many sessions come back at once
    /// (`RECONNECT_CONCURRENCY`, `RECONNECT_JITTER_MS`).
    pub reconnect: ReconnectConfig,
}

impl EngineConfig {
    /// The version to pin on the client, if any.
    pub fn effective_version(&self) -> Option<(u32, u32, u32)> {
        self.version
            .or_else(|| self.server_url.as_ref().map(|_| SANDBOX_DEFAULT_VERSION))
    }

    /// Where media goes when the server is a plain-`ws://` sandbox: its
    /// `http://host:port` base. WhatsApp's own server is always `wss://`, so
    /// production media traffic is never rerouted.
    pub fn media_base(&self) -> Option<String> {
        let url = self.server_url.as_ref()?;
        let parsed = url::Url::parse(url).ok()?;
        if parsed.scheme() != "ws" {
            return None;
        }
        let host = parsed.host_str()?;
        let port = parsed.port_or_known_default()?;
        Some(format!("http://{host}:{port}"))
    }
}

/// Parses `2.3000.1027868167` into a version triple.
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_rerouted_only_for_plain_ws() {
        let sandbox = EngineConfig {
            server_url: Some("ws://127.0.0.1:2786/ws/chat".into()),
            version: None,
            ..Default::default()
        };
        assert_eq!(
            sandbox.media_base().as_deref(),
            Some("http://127.0.0.1:2786")
        );
        assert_eq!(sandbox.effective_version(), Some(SANDBOX_DEFAULT_VERSION));
        let real = EngineConfig {
            server_url: Some("wss://web.whatsapp.com/ws/chat".into()),
            version: None,
            ..Default::default()
        };
        assert_eq!(real.media_base(), None);
        assert_eq!(EngineConfig::default().effective_version(), None);
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("2.3000.1"), Some((2, 3000, 1)));
        assert_eq!(parse_version("2.3000"), None);
        assert_eq!(parse_version("a.b.c"), None);
    }
}

//! The operator's proxies (`PROXY_URL`, `PROXY_POOL`): where sessions that
//! set no proxy of their own send their WhatsApp traffic.
//!
//! A session's own proxy wins; else the `PROXY_POOL` entry it was assigned
//! (round-robin over new sessions, then kept); else `PROXY_URL`; else it
//! connects directly. Both are the operator's, so they may be internal
//! addresses (the outbound guard is for what tenants choose).

use wagate_core::ProxyUrl;
use wagate_core::proxy::parse_pool;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `PROXY_URL`: the proxy of sessions with no other.
    pub default: Option<ProxyUrl>,
    /// `PROXY_POOL`: handed out to sessions with no proxy of their own.
    pub pool: Vec<ProxyUrl>,
}

impl ProxyConfig {
    /// Reads `PROXY_URL` and `PROXY_POOL`.
    pub fn from_env() -> Result<ProxyConfig, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The errors name the variable and what is wrong, never the URL (it
    /// may hold a password).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ProxyConfig, String> {
        let default = match get("PROXY_URL").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(ProxyUrl::parse(&v).map_err(|e| format!("PROXY_URL {e}"))?),
        };
        let pool = parse_pool(&get("PROXY_POOL").unwrap_or_default())
            .map_err(|e| format!("PROXY_POOL: {e}"))?;
        Ok(ProxyConfig { default, pool })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_and_never_echoes_a_password() {
        let c = ProxyConfig::from_lookup(|k| match k {
            "PROXY_URL" => Some("socks5://u:pw@10.0.0.1:1080".into()),
            "PROXY_POOL" => Some("socks5h://a:1, http://b:3128".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.default.unwrap().masked(), "socks5://u:***@10.0.0.1:1080");
        assert_eq!(c.pool.len(), 2);
        let e =
            ProxyConfig::from_lookup(|k| (k == "PROXY_URL").then(|| "ftp://u:hunter2@h:1".into()))
                .unwrap_err();
        assert!(e.starts_with("PROXY_URL "), "{e}");
        assert!(!e.contains("hunter2"));
        assert_eq!(
            ProxyConfig::from_lookup(|_| None).unwrap(),
            ProxyConfig::default()
        );
    }
}

//! [`Policy`]: which addresses and host names outbound requests may reach,
//! read from the environment, and the checks of a URL made before any
//! request (scheme, host, IP literal). Names are checked later, when
//! resolved (see `resolve.rs` and the client's resolver).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::OutboundError;
use crate::address::{canonical, is_public};

/// Which addresses outbound requests may reach.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `OUTBOUND_ALLOW_PRIVATE`: every address may be reached.
    pub allow_private: bool,
    /// `OUTBOUND_ALLOW_HOSTS`, the CIDRs and addresses.
    pub allow_nets: Vec<IpNet>,
    /// `OUTBOUND_ALLOW_HOSTS`, the host names (lowercase; `.example.com`
    /// or `*.example.com` for a domain and its subdomains).
    pub allow_hosts: Vec<String>,
}

impl Policy {
    /// Reads `OUTBOUND_ALLOW_PRIVATE` (default false) and
    /// `OUTBOUND_ALLOW_HOSTS` (comma list of host names, IPs and CIDRs).
    pub fn from_env() -> Result<Policy, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Policy, String> {
        let allow_private = match get("OUTBOUND_ALLOW_PRIVATE")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(other) => {
                return Err(format!(
                    "OUTBOUND_ALLOW_PRIVATE must be true or false, not '{other}'"
                ));
            }
        };
        let mut policy = Policy {
            allow_private,
            ..Default::default()
        };
        for entry in get("OUTBOUND_ALLOW_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            policy.allow(entry).map_err(|e| {
                format!("OUTBOUND_ALLOW_HOSTS: {e} (use host names, IPs or CIDRs, comma-separated)")
            })?;
        }
        Ok(policy)
    }

    /// Lets one host name, address or CIDR through.
    pub fn allow(&mut self, entry: &str) -> Result<(), String> {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            self.allow_nets.push(net);
        } else if let Ok(ip) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
            self.allow_nets.push(IpNet::from(ip));
        } else {
            let name = entry.trim_end_matches('.').to_ascii_lowercase();
            let bare = name.trim_start_matches("*.").trim_start_matches('.');
            let valid = !bare.is_empty()
                && bare.len() <= 253
                && bare
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(format!("'{entry}' is not a host name, IP or CIDR"));
            }
            self.allow_hosts.push(name);
        }
        Ok(())
    }

    /// Whether `ip` may be reached.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private
            || is_public(ip)
            || self
                .allow_nets
                .iter()
                .any(|n| n.contains(&ip) || canonical(ip).is_some_and(|v4| n.contains(&v4)))
    }

    /// Whether the host name was allowed by name (then any address it
    /// resolves to may be reached).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow_hosts.iter().any(|h| {
            if let Some(domain) = h.strip_prefix("*.").or_else(|| h.strip_prefix('.')) {
                host == domain || host.ends_with(&format!(".{domain}"))
            } else {
                *h == host
            }
        })
    }

    /// Checks a URL before use: http(s), a host, and no forbidden IP
    /// literal. Host names are checked when resolved, at connect time.
    pub fn check_url(&self, url: &str) -> Result<url::Url, OutboundError> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|_| OutboundError::invalid_url("not a valid URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::invalid_url(
                "only http:// and https:// URLs can be used",
            ));
        }
        self.check_host(&parsed)?;
        Ok(parsed)
    }

    pub(crate) fn check_host(&self, url: &url::Url) -> Result<(), OutboundError> {
        match url.host() {
            None => Err(OutboundError::invalid_url("the URL has no host")),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), OutboundError> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(OutboundError::forbidden())
        }
    }
}

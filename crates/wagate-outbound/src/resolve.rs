//! Checking a host ahead of use by resolving it now: a URL (webhook URLs,
//! the outputs API) or a broker's host and port, answered as a [`Reach`]
//! that callers may pin at connect time. Bounded by a resolve timeout; a
//! name that does not resolve now is not refused here.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{OutboundError, Policy};

/// How long resolving a name may take when a URL is checked ahead of use.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

impl Policy {
    /// [`Policy::check_url`], and a host name is resolved too: refused when
    /// it resolves only to forbidden addresses. A name that does not resolve
    /// now is let through (delivery checks again at connect time).
    pub async fn check_url_resolving(&self, url: &str) -> Result<url::Url, OutboundError> {
        let parsed = self.check_url(url)?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        self.check_host_resolving(&parsed, port).await?;
        Ok(parsed)
    }

    /// Where a URL of any scheme (a broker's `nats://`, `amqp://`) may be
    /// reached on `port`: [`Reach::AsNamed`] for a host allowed by name,
    /// [`Reach::Unresolved`] for a name that does not resolve now, else the
    /// first permitted address (an IP literal is checked as it is); refused
    /// when it names or resolves only to forbidden addresses.
    pub async fn check_host_resolving(
        &self,
        url: &url::Url,
        port: u16,
    ) -> Result<Reach, OutboundError> {
        let name = match url.host() {
            None => return Err(OutboundError::invalid_url("the URL has no host")),
            Some(url::Host::Ipv4(ip)) => return self.reach_ip(IpAddr::V4(ip), port),
            Some(url::Host::Ipv6(ip)) => return self.reach_ip(IpAddr::V6(ip), port),
            Some(url::Host::Domain(name)) => name,
        };
        if self.host_allowed(name) {
            return Ok(Reach::AsNamed);
        }
        let lookup = tokio::net::lookup_host((name.to_string(), port));
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(addrs)) => addrs.collect(),
            _ => return Ok(Reach::Unresolved),
        };
        if addrs.is_empty() {
            return Ok(Reach::Unresolved);
        }
        addrs
            .into_iter()
            .find(|a| self.permits(a.ip()))
            .map(Reach::At)
            .ok_or_else(OutboundError::forbidden)
    }

    fn reach_ip(&self, ip: IpAddr, port: u16) -> Result<Reach, OutboundError> {
        self.check_ip(ip)?;
        Ok(Reach::At(SocketAddr::new(ip, port)))
    }
}

/// Where a checked host may be reached (see [`Policy::check_host_resolving`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Allowed by name (`OUTBOUND_ALLOW_HOSTS`): connect to it as named.
    AsNamed,
    /// The name does not resolve now.
    Unresolved,
    /// This permitted address (pin it, so a later answer cannot point inward).
    At(SocketAddr),
}

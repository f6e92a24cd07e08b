//! The one outbound-request policy for every URL that a tenant or a remote
//! WhatsApp user can choose: media URLs, webhook URLs, outbox files.
//!
//! A URL like `http://169.254.169.254/latest/meta-data/` or
//! `http://localhost:5432/` must never be fetched on a tenant's behalf, nor
//! reveal by its error text what listens where. So:
//! - [`Policy`] says which addresses may be reached: by default no loopback,
//!   private (RFC 1918), link-local (169.254/16, fe80::/10), CGNAT,
//!   unique-local, multicast, documentation or unspecified address
//!   (`OUTBOUND_ALLOW_PRIVATE=true` lifts that; `OUTBOUND_ALLOW_HOSTS` lets
//!   named hosts and CIDRs through for on-prem receivers);
//! - [`Outbound`] is the HTTP client that enforces it *at connect time*: a
//!   DNS resolver that drops forbidden addresses (so DNS rebinding cannot
//!   slip past a check made earlier), IP-literal URLs checked before the
//!   request (reqwest does not resolve those), every redirect hop checked
//!   again, no proxy from the environment, timeouts, and a size cap
//!   enforced while the body streams in;
//! - [`OutboundError`] tells the caller the *class* of a failure
//!   ([`Reason`]: `forbidden_address`, `timeout`, `too_large`,
//!   `http_status`, `invalid_url`, `unreachable`), never raw socket text.
//!
//! The engine's own traffic to WhatsApp (or a configured sandbox) does not
//! go through here: those hosts are the operator's, not a tenant's.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How many redirects a fetch follows (each hop is checked again).
pub const MAX_REDIRECTS: usize = 5;
/// How long connecting to one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving a name may take when a URL is checked ahead of use.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The class of an outbound failure: what a tenant is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The URL names (or resolves to, or redirects to) an address the policy
    /// forbids.
    ForbiddenAddress,
    /// No answer in time.
    Timeout,
    /// The body is larger than allowed.
    TooLarge,
    /// The server answered with a non-success status.
    HttpStatus,
    /// Not an http(s) URL with a host.
    InvalidUrl,
    /// Nothing could be reached (no such host, connection refused, TLS,
    /// too many redirects, …): deliberately one class, so the answer does
    /// not map ports.
    Unreachable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ForbiddenAddress => "forbidden_address",
            Reason::Timeout => "timeout",
            Reason::TooLarge => "too_large",
            Reason::HttpStatus => "http_status",
            Reason::InvalidUrl => "invalid_url",
            Reason::Unreachable => "unreachable",
        }
    }

    /// Whether the same request may work later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Reason::Timeout | Reason::Unreachable | Reason::HttpStatus
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed outbound request, by class, with a message safe to show a
/// tenant (no socket text, no resolved address).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutboundError {
    pub reason: Reason,
    /// `http_status`: the status the server answered.
    pub status: Option<u16>,
    /// `too_large`: how many bytes had arrived (or were announced).
    pub size: Option<u64>,
    pub message: String,
}

impl OutboundError {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        OutboundError {
            reason,
            status: None,
            size: None,
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        Self::new(
            Reason::ForbiddenAddress,
            "the URL points to a loopback, private, link-local or otherwise internal address",
        )
    }

    pub fn timeout() -> Self {
        Self::new(Reason::Timeout, "the server did not answer in time")
    }

    pub fn too_large(size: u64, cap: u64) -> Self {
        OutboundError {
            size: Some(size),
            ..Self::new(
                Reason::TooLarge,
                format!("the body is larger than the limit of {cap} bytes"),
            )
        }
    }

    pub fn http_status(status: u16) -> Self {
        OutboundError {
            status: Some(status),
            ..Self::new(
                Reason::HttpStatus,
                format!("the server answered HTTP {status}"),
            )
        }
    }

    pub fn invalid_url(why: &str) -> Self {
        Self::new(Reason::InvalidUrl, why)
    }

    pub fn unreachable() -> Self {
        Self::new(Reason::Unreachable, "the server could not be reached")
    }
}

/// The marker error the resolver and the redirect policy raise; found again
/// in reqwest's error chain by [`classify`].
#[derive(Debug, thiserror::Error)]
#[error("wagate-outbound: forbidden address")]
struct Forbidden;

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

    fn check_host(&self, url: &url::Url) -> Result<(), OutboundError> {
        match url.host() {
            None => Err(OutboundError::invalid_url("the URL has no host")),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), OutboundError> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(OutboundError::forbidden())
        }
    }

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

/// The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64
/// or 6to4), if any.
fn canonical(ip: IpAddr) -> Option<IpAddr> {
    let IpAddr::V6(v6) = ip else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(IpAddr::V4(v4));
    }
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::a.b.c.d (IPv4-compatible) and 64:ff9b::a.b.c.d (NAT64).
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(IpAddr::V4(tail));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(IpAddr::V4(tail));
    }
    // 2002:a.b.c.d::/48 (6to4).
    if s[0] == 0x2002 {
        return Some(IpAddr::V4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )));
    }
    None
}

const FORBIDDEN_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network", unspecified
    "10.0.0.0/8",      // RFC 1918
    "100.64.0.0/10",   // CGNAT
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local, cloud metadata
    "172.16.0.0/12",   // RFC 1918
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation
    "192.88.99.0/24",  // 6to4 relay anycast
    "192.168.0.0/16",  // RFC 1918
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation
    "203.0.113.0/24",  // documentation
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, broadcast
];

const FORBIDDEN_V6: &[&str] = &[
    "::/128",        // unspecified
    "::1/128",       // loopback
    "100::/64",      // discard
    "2001:db8::/32", // documentation
    "fc00::/7",      // unique local
    "fe80::/10",     // link-local
    "fec0::/10",     // site-local (deprecated)
    "ff00::/8",      // multicast
];

/// Whether `ip` is an ordinary public address (none of the loopback,
/// private, link-local, CGNAT, unique-local, multicast, documentation or
/// unspecified ranges, also when wrapped in IPv6).
pub fn is_public(ip: IpAddr) -> bool {
    if let Some(v4) = canonical(ip) {
        return is_public(v4);
    }
    let ranges = match ip {
        IpAddr::V4(_) => FORBIDDEN_V4,
        IpAddr::V6(_) => FORBIDDEN_V6,
    };
    !ranges.iter().any(|r| {
        r.parse::<IpNet>()
            .map(|net| net.contains(&ip))
            .unwrap_or(true)
    })
}

/// The resolver of [`Outbound`]'s client: resolves with the system, then
/// keeps only the addresses the policy permits. Runs at connect time, for
/// every connection, redirects included.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.host_allowed(&host) {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let permitted: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() && !addrs.is_empty() {
                return Err(Box::new(Forbidden) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// The guarded HTTP client and its policy. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    policy: Arc<Policy>,
    client: reqwest::Client,
    /// The same guard, following no redirect at all (webhooks).
    direct: reqwest::Client,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound::new(Policy::default())
    }
}

impl Outbound {
    pub fn new(policy: Policy) -> Outbound {
        let policy = Arc::new(policy);
        let hops = policy.clone();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            let url = attempt.url();
            if !matches!(url.scheme(), "http" | "https") {
                return attempt.error("redirect to a non-http URL");
            }
            match hops.check_host(url) {
                Ok(()) => attempt.follow(),
                Err(e) if e.reason == Reason::ForbiddenAddress => attempt.error(Forbidden),
                Err(_) => attempt.error("redirect to a URL without a host"),
            }
        });
        let build = |redirect: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver {
                    policy: policy.clone(),
                }))
                .no_proxy()
                .redirect(redirect)
                .connect_timeout(CONNECT_TIMEOUT)
                .pool_idle_timeout(Duration::from_secs(60))
                .build()
                .expect("the outbound HTTP client builds with static settings")
        };
        let client = build(redirect);
        let direct = build(reqwest::redirect::Policy::none());
        Outbound {
            policy,
            client,
            direct,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The guarded client, for requests built by the caller (webhooks).
    /// Check the URL with [`Policy::check_url`] first: reqwest does not
    /// resolve IP literals, so the resolver cannot see them.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// [`Outbound::client`] that follows no redirect (a 3xx is an answer).
    pub fn client_without_redirects(&self) -> &reqwest::Client {
        &self.direct
    }

    /// Downloads `url` (following checked redirects) within `timeout`,
    /// refusing bodies larger than `cap` bytes as soon as that many arrive.
    pub async fn fetch(
        &self,
        url: &str,
        cap: u64,
        timeout: Duration,
    ) -> Result<Vec<u8>, OutboundError> {
        let url = self.policy.check_url(url)?;
        let download = async {
            let mut response = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            if !response.status().is_success() {
                return Err(OutboundError::http_status(response.status().as_u16()));
            }
            if let Some(len) = response.content_length()
                && len > cap
            {
                return Err(OutboundError::too_large(len, cap));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
                let size = body.len() as u64 + chunk.len() as u64;
                if size > cap {
                    return Err(OutboundError::too_large(size, cap));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(timeout, download)
            .await
            .map_err(|_| OutboundError::timeout())?
    }
}

/// The class of a reqwest failure, never its text.
pub fn classify(e: &reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut timed_out = e.is_timeout();
    while let Some(err) = source {
        if err.is::<Forbidden>() || err.to_string().contains("wagate-outbound: forbidden") {
            return OutboundError::forbidden();
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            timed_out = true;
        }
        source = err.source();
    }
    if timed_out {
        OutboundError::timeout()
    } else {
        OutboundError::unreachable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_ranges_are_not_public() {
        for s in [
            "127.0.0.1",
            "10.0.0.1",
            "172.20.1.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(!is_public(ip(s)), "{s} must not be public");
        }
        for s in ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(ip(s)), "{s} is public");
        }
    }

    #[test]
    fn the_environment_sets_the_policy() {
        let p = Policy::from_lookup(|_| None).unwrap();
        assert!(!p.allow_private);
        assert!(!p.permits(ip("127.0.0.1")));
        let p = Policy::from_lookup(|k| {
            Some(match k {
                "OUTBOUND_ALLOW_PRIVATE" => "false".into(),
                _ => "10.1.0.0/16, hooks.internal, *.corp.example, 127.0.0.2".into(),
            })
        })
        .unwrap();
        assert!(p.permits(ip("10.1.2.3")));
        assert!(!p.permits(ip("10.2.0.1")));
        assert!(p.permits(ip("127.0.0.2")));
        assert!(p.permits(ip("::ffff:127.0.0.2")));
        assert!(p.host_allowed("HOOKS.internal."));
        assert!(p.host_allowed("a.corp.example"));
        assert!(!p.host_allowed("corp.example.evil"));
        assert!(
            Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_PRIVATE").then(|| "maybe".into()))
                .is_err()
        );
        assert!(
            Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_HOSTS").then(|| "a b".into())).is_err()
        );
        let open = Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_PRIVATE").then(|| "true".into()))
            .unwrap();
        assert!(open.permits(ip("127.0.0.1")));
    }

    #[test]
    fn ip_literals_are_checked_before_any_request() {
        let p = Policy::default();
        for url in [
            "http://127.0.0.1:8080/x",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://[::ffff:7f00:1]/",
        ] {
            assert_eq!(
                p.check_url(url).unwrap_err().reason,
                Reason::ForbiddenAddress,
                "{url}"
            );
        }
        assert_eq!(
            p.check_url("file:///etc/passwd").unwrap_err().reason,
            Reason::InvalidUrl
        );
        assert!(p.check_url("https://example.com/a.jpg").is_ok());
    }

    /// A small real server on loopback: `/file` answers bytes, `/hop`
    /// redirects to `/file` on 127.0.0.1.
    async fn server() -> (u16, tokio::task::JoinHandle<()>) {
        use axum::response::Redirect;
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new()
            .route("/file", get(|| async { vec![7u8; 1000] }))
            .route(
                "/hop",
                get(move || async move {
                    Redirect::temporary(&format!("http://127.0.0.1:{port}/file"))
                }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (port, task)
    }

    #[tokio::test]
    async fn connect_time_checks_names_redirects_and_sizes() {
        let (port, task) = server().await;
        let t = Duration::from_secs(10);
        let closed = Outbound::default();
        // A host name that resolves to loopback: refused when resolved.
        let e = closed
            .fetch(&format!("http://localhost:{port}/file"), 1 << 20, t)
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::ForbiddenAddress, "{e:?}");

        // An allowed host that redirects to a forbidden one: the hop is refused.
        let mut p = Policy::default();
        p.allow("127.0.0.2").unwrap();
        let some = Outbound::new(p);
        assert_eq!(
            some.fetch(&format!("http://127.0.0.2:{port}/file"), 1 << 20, t)
                .await
                .unwrap()
                .len(),
            1000
        );
        let e = some
            .fetch(&format!("http://127.0.0.2:{port}/hop"), 1 << 20, t)
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::ForbiddenAddress, "{e:?}");

        // Allowed: everything works, and the cap holds.
        let open = Outbound::new(Policy {
            allow_private: true,
            ..Default::default()
        });
        let body = open
            .fetch(&format!("http://localhost:{port}/hop"), 1 << 20, t)
            .await
            .unwrap();
        assert_eq!(body.len(), 1000);
        let e = open
            .fetch(&format!("http://127.0.0.1:{port}/file"), 999, t)
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::TooLarge);
        let e = open
            .fetch(&format!("http://127.0.0.1:{port}/missing"), 999, t)
            .await
            .unwrap_err();
        assert_eq!((e.reason, e.status), (Reason::HttpStatus, Some(404)));
        task.abort();
        // Nothing listens any more: one class, no socket text.
        let e = open
            .fetch(&format!("http://127.0.0.1:{port}/file"), 999, t)
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::Unreachable);
        assert!(!e.message.contains("refused"), "{}", e.message);
    }
}

//! [`Outbound`], the guarded HTTP client: a resolver that drops forbidden
//! addresses at connect time (so DNS rebinding cannot slip past an earlier
//! check), every redirect hop checked again, no proxy from the
//! environment, timeouts, and a size cap enforced while a body streams in.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::Forbidden;
use crate::{OutboundError, Policy, Reason, classify};

/// How many redirects a fetch follows (each hop is checked again).
pub const MAX_REDIRECTS: usize = 5;
/// How long connecting to one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
            crate::client_builder()
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

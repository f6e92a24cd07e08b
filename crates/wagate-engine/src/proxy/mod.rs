//! Which proxy a session's WhatsApp traffic goes through, and the
//! connectors that use it.
//!
//! A session's proxy is its own (`proxy` on create or update), else the
//! `PROXY_POOL` entry it was assigned, else `PROXY_URL`, else none. A pool
//! entry is assigned on a session's first start, round-robin (the entry
//! fewest sessions hold, the pool's order breaking ties), and stored, so
//! the session keeps it across restarts for as long as the entry stays in
//! the pool.
//!
//! Both the WebSocket ([`transport`]) and the engine's HTTP client (media
//! upload and download, the version fetch) go through it; with a proxy
//! nothing of the session's WhatsApp traffic goes out directly, and a
//! proxy that cannot be used fails the attempt with why instead.
//!
//! The outbound guard: the operator's proxies (`PROXY_URL`, `PROXY_POOL`)
//! and the admin tenant's sessions' proxies may be anywhere, internal
//! networks included, where proxies usually are. A tenant's own proxy is
//! an address a tenant chose, so it must be one the outbound policy lets
//! the gateway reach (`OUTBOUND_ALLOW_HOSTS` / `OUTBOUND_ALLOW_PRIVATE`
//! open internal ones): checked when it is set and again at every start,
//! pinned to the address checked, so a name that later resolves inward
//! cannot slip in. Media URLs a client gives (send by URL) are not
//! WhatsApp traffic: they are fetched by the guarded client as before.

mod transport;
pub mod tunnel;

use tracing::warn;
use wagate_core::{ProxySource, ProxyUrl, StatusReason};
use wagate_outbound::Reach;
use wagate_store::Store;
use wagate_store::app::{ADMIN_TENANT_ID, SessionRecord};
use whatsapp_rust::transport::TransportFactory;
use whatsapp_rust::wacore::net::WHATSAPP_WEB_WS_URL;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::http::GatewayHttpClient;
pub use tunnel::ProxyError;

/// The proxy a session uses and where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyChoice {
    pub url: ProxyUrl,
    pub source: ProxySource,
}

/// Serialises pool assignments in this process, so two sessions created
/// at once do not both take the same "least used" entry.
static ASSIGNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn parsed(stored: Option<String>, what: &str, session: &str) -> Option<ProxyUrl> {
    let text = stored?;
    match ProxyUrl::parse(&text) {
        Ok(p) => Some(p),
        Err(e) => {
            warn!(session = %session, "the stored {what} proxy is not usable and is ignored: it {e}");
            None
        }
    }
}

/// The session's proxy as it stands, without assigning a pool entry.
pub(crate) async fn current(
    store: &Store,
    config: &EngineConfig,
    session_id: &str,
) -> Result<Option<ProxyChoice>, EngineError> {
    let row = store.session_proxy(session_id).await?;
    if let Some(url) = parsed(row.own, "session's", session_id) {
        return Ok(Some(ProxyChoice {
            url,
            source: ProxySource::Session,
        }));
    }
    let pool = &config.proxy.pool;
    if let Some(url) = parsed(row.pool, "pool", session_id).filter(|p| pool.contains(p)) {
        return Ok(Some(ProxyChoice {
            url,
            source: ProxySource::Pool,
        }));
    }
    Ok(config.proxy.default.clone().map(|url| ProxyChoice {
        url,
        source: ProxySource::Default,
    }))
}

/// The session's proxy for a start: as [`current`], and a session with no
/// proxy of its own and no (still pooled) assignment is given the next
/// pool entry first.
pub(crate) async fn choose(
    store: &Store,
    config: &EngineConfig,
    session_id: &str,
) -> Result<Option<ProxyChoice>, EngineError> {
    let pool = &config.proxy.pool;
    let choice = current(store, config, session_id).await?;
    if pool.is_empty()
        || choice
            .as_ref()
            .is_some_and(|c| c.source != ProxySource::Default)
    {
        return Ok(choice);
    }
    let _one_at_a_time = ASSIGNING.lock().await;
    let counts = store.pool_proxy_counts().await?;
    let held = |p: &ProxyUrl| {
        counts
            .iter()
            .filter(|(url, _)| ProxyUrl::parse(url).is_ok_and(|u| u == *p))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let Some(next) = pool.iter().min_by_key(|p| held(p)) else {
        return Ok(choice);
    };
    store
        .set_session_pool_proxy(session_id, &next.secret_url())
        .await?;
    Ok(Some(ProxyChoice {
        url: next.clone(),
        source: ProxySource::Pool,
    }))
}

/// How a bot run reaches WhatsApp.
enum Route {
    Direct,
    Via(ProxyUrl),
    Refused(ProxyError),
}

/// The transport factory and HTTP client (made from `http`) of one bot
/// run of `record`, and whether they go through a proxy.
pub(crate) async fn connectors(
    store: &Store,
    config: &EngineConfig,
    http: &GatewayHttpClient,
    record: &SessionRecord,
) -> Result<(Box<dyn TransportFactory>, GatewayHttpClient, bool), EngineError> {
    let route = match choose(store, config, &record.id).await? {
        None => Route::Direct,
        Some(choice) if guarded(&choice, record) => {
            match check(&config.outbound, &choice.url).await {
                Ok(pinned) => Route::Via(pinned),
                Err(why) => Route::Refused(why),
            }
        }
        Some(choice) => Route::Via(choice.url),
    };
    let url = config.server_url.clone();
    Ok(match route {
        Route::Direct => {
            let url = url.unwrap_or_else(|| WHATSAPP_WEB_WS_URL.to_string());
            (
                Box::new(transport::DirectTransport { url }),
                http.clone(),
                false,
            )
        }
        Route::Via(proxy) => {
            let http = http.through(&proxy)?;
            let url = url.unwrap_or_else(|| WHATSAPP_WEB_WS_URL.to_string());
            (
                Box::new(transport::ProxiedTransport { proxy, url }),
                http,
                true,
            )
        }
        Route::Refused(why) => (
            Box::new(transport::RefusedTransport(why.clone())),
            http.refusing(why.message),
            true,
        ),
    })
}

/// Whether the outbound policy applies: a tenant's own proxy.
fn guarded(choice: &ProxyChoice, record: &SessionRecord) -> bool {
    choice.source == ProxySource::Session && record.tenant_id != ADMIN_TENANT_ID
}

/// Checks a tenant's proxy against the outbound policy: the proxy to use
/// (its host pinned to a permitted address), or why it may not be used.
pub async fn check(
    outbound: &wagate_outbound::Outbound,
    proxy: &ProxyUrl,
) -> Result<ProxyUrl, ProxyError> {
    let url =
        url::Url::parse(&format!("http://{}:{}", proxy.host(), proxy.port())).map_err(|_| {
            ProxyError::new(
                StatusReason::ProxyUnreachable,
                "the proxy's host is not usable",
            )
        })?;
    match outbound
        .policy()
        .check_host_resolving(&url, proxy.port())
        .await
    {
        Ok(Reach::AsNamed) => Ok(proxy.clone()),
        Ok(Reach::At(addr)) => Ok(proxy.with_host(match addr.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        })),
        Ok(Reach::Unresolved) => Err(ProxyError::new(
            StatusReason::ProxyUnreachable,
            format!("the proxy {proxy}: its host name does not resolve"),
        )),
        Err(_) => Err(ProxyError::new(
            StatusReason::ProxyRefused,
            format!(
                "the proxy {proxy} is at an address tenants may not reach (ask the operator to allow it with OUTBOUND_ALLOW_HOSTS)"
            ),
        )),
    }
}

//! A session's proxy as the API takes and shows it: `proxy: {url}` on
//! create and update (`null` on update removes it), checked here, and
//! `proxy: {url, source}` on the session with the password as `***`.
//!
//! A proxy on a session of the admin tenant may be anywhere (the operator's
//! own, usually on an internal network); a tenant's must be an address the
//! outbound policy lets the gateway reach (`OUTBOUND_ALLOW_HOSTS` opens
//! internal ones), like a tenant's broker. The engine checks it again and
//! pins its address at every start (`wagate_engine::proxy`).

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use wagate_core::ProxyUrl;
use wagate_store::app::ADMIN_TENANT_ID;

use crate::error::ApiError;
use crate::state::AppState;

/// The proxy a session's WhatsApp traffic (WebSocket and media) goes through.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProxyInput {
    /// `socks5://user:pass@host:port`, `socks5h://…` (the proxy resolves
    /// names) or `http://user:pass@host:port` (CONNECT). The password is
    /// write-only.
    #[schema(example = "socks5://user:pass@10.0.0.5:1080")]
    pub url: String,
}

/// The proxy a session goes through, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProxyDto {
    /// The proxy URL with its password as `***`.
    #[schema(example = "socks5://user:***@10.0.0.5:1080")]
    pub url: String,
    /// Where it was set: `session` (its own), `pool` (`PROXY_POOL`) or
    /// `default` (`PROXY_URL`).
    #[schema(example = "session")]
    pub source: &'static str,
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
pub fn nullable<'de, D>(d: D) -> Result<Option<Option<ProxyInput>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<ProxyInput>::deserialize(d).map(Some)
}

/// A proxy URL for a session of `tenant_id`: well formed, and for a tenant
/// not at an address the outbound policy refuses (a name that does not
/// resolve now is let through: every start checks again).
pub async fn checked(
    state: &AppState,
    tenant_id: &str,
    input: &ProxyInput,
) -> Result<ProxyUrl, ApiError> {
    let proxy =
        ProxyUrl::parse(&input.url).map_err(|e| ApiError::validation(format!("proxy.url {e}")))?;
    if tenant_id == ADMIN_TENANT_ID {
        return Ok(proxy);
    }
    let url = url::Url::parse(&format!("http://{}:{}", proxy.host(), proxy.port()))
        .map_err(|_| ApiError::validation("proxy.url has a host that cannot be used"))?;
    let policy = state.manager.config().outbound.policy();
    if let Err(e) = policy.check_host_resolving(&url, proxy.port()).await {
        return Err(ApiError::validation(format!(
            "proxy.url: {} (ask the operator to allow the proxy's address with OUTBOUND_ALLOW_HOSTS)",
            e.message
        ))
        .with_details(serde_json::json!({ "reason": e.reason.as_str() })));
    }
    Ok(proxy)
}

/// The proxy the session goes through now, as shown.
pub async fn view(state: &AppState, session_id: &str) -> Result<Option<ProxyDto>, ApiError> {
    Ok(state
        .manager
        .session_proxy(session_id)
        .await?
        .map(|choice| ProxyDto {
            url: choice.url.masked(),
            source: choice.source.as_str(),
        }))
}

//! API keys.
//!
//! A key arrives in `X-API-Key` (or `?apiKey=`, for browsers and WebSocket
//! clients). The admin key from the environment is compared in constant
//! time; any other key is looked up by its SHA-256 hash. The result is the
//! caller's [`Principal`]: which tenant it acts for, and whether it is admin.
//!
//! A dashboard login token (see [`crate::login`]) is accepted too: as
//! `Authorization: Bearer <jwt>`, or from the dashboard's session cookie,
//! which on state-changing requests also needs the `X-CSRF-Token` header;
//! the token itself is read by [`crate::login::token`], and who it stands
//! for is decided here ([`dashboard_principal`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagate_store::app::Principal;

use crate::error::ApiError;
use crate::login::token::{Claims, check_csrf, looks_like_jwt, session_cookie, verify};
use crate::secret::same_secret;
use crate::state::AppState;

/// The authenticated caller.
pub struct Auth(pub Principal);

/// An authenticated admin.
pub struct Admin(pub Principal);

pub fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    if let Some(v) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(v.trim().to_string());
    }
    let query = parts.uri.query()?;
    url_query_value(query, "apiKey")
}

fn url_query_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub async fn authenticate(state: &AppState, key: Option<String>) -> Result<Principal, ApiError> {
    let key = key
        .filter(|k| !k.is_empty())
        .ok_or_else(ApiError::unauthorized)?;
    if same_secret(&key, &state.config.admin_key) {
        return Ok(Principal::admin());
    }
    match state.store.resolve_api_key(&key).await? {
        Some(tenant_id) => Ok(Principal {
            tenant_id,
            is_admin: false,
        }),
        None => Err(ApiError::unauthorized()),
    }
}

/// The header with which the admin key acts as one tenant (the outbox
/// worker runs each tenant's configuration this way): the caller is then
/// that tenant, and sees nothing else.
pub const ACT_AS_TENANT: &str = "x-act-as-tenant";

/// The caller of a request: its key, narrowed to a tenant when the admin
/// asks with [`ACT_AS_TENANT`] (an unknown tenant is refused; a tenant key
/// ignores the header, it sees only its own anyway).
pub async fn principal_of(state: &AppState, parts: &Parts) -> Result<Principal, ApiError> {
    let principal = authenticate_request(state, parts).await?;
    acting_as(state, parts, principal).await
}

/// `principal` (already authenticated) narrowed by [`ACT_AS_TENANT`].
pub async fn acting_as(
    state: &AppState,
    parts: &Parts,
    principal: Principal,
) -> Result<Principal, ApiError> {
    let Some(tenant) = parts
        .headers
        .get(ACT_AS_TENANT)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(principal);
    };
    if !principal.is_admin {
        return Ok(principal);
    }
    if state.store.get_tenant(tenant).await?.is_none() {
        return Err(ApiError::forbidden(format!(
            "{ACT_AS_TENANT}: no tenant {tenant}"
        )));
    }
    Ok(Principal {
        tenant_id: tenant.to_string(),
        is_admin: false,
    })
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The caller of a request: a login token (Bearer), an API key (header or
/// query), or the dashboard's session cookie, in that order.
pub async fn authenticate_request(state: &AppState, parts: &Parts) -> Result<Principal, ApiError> {
    let dashboard = state.config.dashboard.as_ref();
    if let (Some(cfg), Some(token)) = (dashboard, bearer(parts))
        && looks_like_jwt(token)
        && let Some(claims) = verify(cfg, token)
    {
        return dashboard_principal(state, &claims).await;
    }
    let key = presented_key(parts).filter(|k| !k.is_empty());
    if key.is_some() {
        return authenticate(state, key).await;
    }
    if let (Some(cfg), Some(token)) = (dashboard, session_cookie(&parts.headers)) {
        let claims = verify(cfg, &token).ok_or_else(ApiError::unauthorized)?;
        check_csrf(parts, &claims)?;
        return dashboard_principal(state, &claims).await;
    }
    Err(ApiError::unauthorized())
}

/// The caller a valid login token stands for: a tenant's token only while
/// the key it logged in with exists.
pub async fn dashboard_principal(state: &AppState, claims: &Claims) -> Result<Principal, ApiError> {
    if claims.adm {
        return Ok(Principal::admin());
    }
    let key_id = claims.kid.as_deref().ok_or_else(ApiError::unauthorized)?;
    match state.store.api_key_tenant(key_id).await? {
        Some(tenant) if tenant == claims.tid => Ok(Principal {
            tenant_id: tenant,
            is_admin: false,
        }),
        _ => Err(ApiError::unauthorized()),
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Auth(p.clone()));
        }
        let principal = principal_of(state, parts).await?;
        state.api_calls.count(&principal.tenant_id);
        parts.extensions.insert(principal.clone());
        Ok(Auth(principal))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        if !principal.is_admin {
            return Err(ApiError::forbidden("this needs the admin API key"));
        }
        Ok(Admin(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_are_decoded() {
        assert_eq!(
            url_query_value("a=1&apiKey=ab%2Bc", "apiKey").as_deref(),
            Some("ab+c")
        );
        assert_eq!(url_query_value("apiKey=x", "apiKey").as_deref(), Some("x"));
        assert_eq!(url_query_value("apikey=x", "apiKey"), None);
    }
}

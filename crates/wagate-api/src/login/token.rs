//! The login token: its claims, signing and checking it (HS256 with
//! `JWT_SECRET`), the session cookie that carries it, and the CSRF check a
//! cookie-authenticated request must pass.
//!
//! A component: [`crate::auth`] reads tokens through this file and the
//! login routes issue them, so it imports neither the state nor either of
//! them.

use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wagate_core::ErrorCode;
use wagate_store::app::Principal;

use super::config::DashboardConfig;
use crate::error::ApiError;
use crate::secret::same_secret;

/// The cookie holding the token.
pub const SESSION_COOKIE: &str = "wagate_session";
/// The header a cookie-authenticated state-changing request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a token says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The operator's user name, or the tenant id.
    pub sub: String,
    /// The tenant acted for.
    pub tid: String,
    /// Operator (admin) rights.
    pub adm: bool,
    /// The API key a tenant logged in with (its id, not the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The value `X-CSRF-Token` must carry with the cookie.
    pub csrf: String,
    pub iat: i64,
    pub exp: i64,
}

pub(super) fn new_claims(
    cfg: &DashboardConfig,
    principal: &Principal,
    subject: String,
    key_id: Option<String>,
) -> Claims {
    let now = wagate_core::now_ms() / 1000;
    Claims {
        sub: subject,
        tid: principal.tenant_id.clone(),
        adm: principal.is_admin,
        kid: key_id,
        csrf: uuid::Uuid::new_v4().simple().to_string(),
        iat: now,
        exp: now + i64::try_from(cfg.token_ttl.as_secs()).unwrap_or(i64::MAX / 2),
    }
}

pub(super) fn sign(cfg: &DashboardConfig, claims: &Claims) -> Result<String, ApiError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&cfg.jwt_secret),
    )
    .map_err(|e| {
        ApiError::new(
            ErrorCode::InternalError,
            format!("cannot sign a token: {e}"),
        )
    })
}

/// The claims of a valid, unexpired token signed with our secret.
pub fn verify(cfg: &DashboardConfig, token: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&cfg.jwt_secret),
        &validation,
    )
    .ok()
    .map(|d| d.claims)
}

/// Whether a string has the shape of a JWT (three base64url parts).
pub fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && s.starts_with("eyJ")
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A cookie-authenticated request that changes state must prove it comes
/// from our own page.
pub fn check_csrf(parts: &Parts, claims: &Claims) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !sent.is_empty() && same_secret(sent, &claims.csrf) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a request authenticated by the dashboard cookie needs the X-CSRF-Token header",
        ))
    }
}

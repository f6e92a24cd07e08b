//! Dashboard login: the operator's username and password, or a tenant's
//! API key, exchanged for a signed token.
//!
//! `POST /api/auth/login` answers with an HS256 JWT signed with
//! `JWT_SECRET`. The token works as `Authorization: Bearer` on the whole API
//! with the rights of who logged in (the operator: admin; a tenant: that
//! tenant only, and only while the key it logged in with still exists). The
//! browser gets the same token in an `HttpOnly; SameSite=Strict` cookie; a
//! request authenticated by that cookie that changes state must also carry
//! `X-CSRF-Token` equal to the token's `csrf` claim (double submit: the
//! claim is readable by the page through the login answer and
//! `GET /api/auth/me`, never by another site). Wrong passwords are counted
//! per user name and refused for a minute after [`MAX_FAILURES`]; the log
//! says who failed, never with what.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};
use utoipa::ToSchema;
use wagate_core::ErrorCode;
use wagate_store::app::Principal;

use crate::auth::Auth;
use crate::envelope;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// The cookie holding the token.
pub const SESSION_COOKIE: &str = "wagate_session";
/// The header a cookie-authenticated state-changing request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Failed logins for one user name within [`FAILURE_WINDOW`] before refusing.
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// How the operator's password is given.
#[derive(Clone)]
pub enum PasswordCheck {
    Plain(String),
    /// A PHC string (`$argon2id$v=19$…`).
    Argon2(String),
}

impl std::fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordCheck::Plain(_) => f.write_str("Plain(<hidden>)"),
            PasswordCheck::Argon2(_) => f.write_str("Argon2(<hidden>)"),
        }
    }
}

impl PasswordCheck {
    /// A value from the environment: an argon2 PHC string is a hash,
    /// anything else the password itself.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("$argon2") {
            argon2::PasswordHash::new(value).map_err(|e| {
                format!("DASHBOARD_PASSWORD looks like an argon2 hash but is not one ({e})")
            })?;
            Ok(PasswordCheck::Argon2(value.to_string()))
        } else {
            Ok(PasswordCheck::Plain(value.to_string()))
        }
    }

    fn verify(&self, given: &str) -> bool {
        match self {
            PasswordCheck::Plain(p) => crate::auth::same_secret(p, given),
            PasswordCheck::Argon2(hash) => {
                use argon2::PasswordVerifier;
                match argon2::PasswordHash::new(hash) {
                    Ok(parsed) => argon2::Argon2::default()
                        .verify_password(given.as_bytes(), &parsed)
                        .is_ok(),
                    Err(_) => false,
                }
            }
        }
    }
}

/// `DASHBOARD_*` / `JWT_*` settings; absent when no operator credentials
/// are configured (then the dashboard only says how to enable it).
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    pub username: String,
    pub password: PasswordCheck,
    pub jwt_secret: Vec<u8>,
    pub token_ttl: Duration,
    /// Always mark the cookie `Secure` (it is also when the request came
    /// through a proxy that says `X-Forwarded-Proto: https`).
    pub secure_cookie: bool,
}

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

/// Failed attempts per user name.
#[derive(Default)]
pub struct LoginGuard {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginGuard {
    fn blocked(&self, who: &str) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(who)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    fn failed(&self, who: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(who.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, who: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(who);
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

/// A login: the operator's `username` and `password`, or a tenant's `apiKey`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[schema(example = "operator")]
    pub username: Option<String>,
    pub password: Option<String>,
    /// A tenant's API key (instead of username and password).
    pub api_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResult {
    /// A JWT usable as `Authorization: Bearer`.
    pub token: String,
    pub expires_at: String,
    /// Send as `X-CSRF-Token` with cookie-authenticated POST/PUT/PATCH/DELETE.
    pub csrf_token: String,
    pub tenant_id: String,
    pub is_admin: bool,
    pub username: String,
}

fn config(state: &AppState) -> Result<&DashboardConfig, ApiError> {
    state.config.dashboard.as_ref().ok_or_else(|| {
        // Not a server fault: the operator chose not to enable it.
        ApiError::forbidden(
            "login is not enabled: set DASHBOARD_USERNAME, DASHBOARD_PASSWORD and JWT_SECRET",
        )
    })
}

/// Log in to the dashboard or the API; the answer's token works as a Bearer token.
#[utoipa::path(
    post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; also sets the HttpOnly session cookie", body = LoginResult),
        (status = 401, description = "Wrong credentials (`UNAUTHORIZED`)"),
        (status = 429, description = "Too many wrong passwords (`RATE_LIMITED`)"),
        (status = 403, description = "Login is not configured (`FORBIDDEN`)"),
    ),
    security(())
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let cfg = config(&state)?;
    let (principal, subject, key_id) = match (&req.api_key, &req.username) {
        (Some(key), _) => tenant_login(&state, key).await?,
        (None, Some(username)) => {
            operator_login(&state, cfg, username, req.password.as_deref().unwrap_or(""))?
        }
        (None, None) => {
            return Err(ApiError::validation(
                "send {username, password} or {apiKey}",
            ));
        }
    };
    let claims = new_claims(cfg, &principal, subject, key_id);
    let token = sign(cfg, &claims)?;
    let secure = cfg.secure_cookie || behind_https(&headers);
    let body = LoginResult {
        token: token.clone(),
        expires_at: wagate_core::iso_ms(claims.exp * 1000),
        csrf_token: claims.csrf.clone(),
        tenant_id: claims.tid.clone(),
        is_admin: claims.adm,
        username: claims.sub.clone(),
    };
    let mut response = envelope::ok(body).into_response();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        cfg.token_ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

fn operator_login(
    state: &AppState,
    cfg: &DashboardConfig,
    username: &str,
    password: &str,
) -> Result<(Principal, String, Option<String>), ApiError> {
    let who = username.trim().to_lowercase();
    let guard = &state.login_guard;
    if guard.blocked(&who) {
        warn!(username = %who, "dashboard login refused: too many wrong passwords");
        return Err(too_many());
    }
    let name_ok = crate::auth::same_secret(username.trim(), &cfg.username);
    let password_ok = cfg.password.verify(password);
    if !(name_ok && password_ok) {
        guard.failed(&who);
        warn!(username = %who, "dashboard login refused: wrong user name or password");
        return Err(wrong_credentials());
    }
    guard.succeeded(&who);
    info!(username = %who, "operator logged in");
    Ok((Principal::admin(), cfg.username.clone(), None))
}

async fn tenant_login(
    state: &AppState,
    key: &str,
) -> Result<(Principal, String, Option<String>), ApiError> {
    const WHO: &str = "<api key>";
    let guard = &state.login_guard;
    if guard.blocked(WHO) {
        warn!("dashboard login refused: too many wrong API keys");
        return Err(too_many());
    }
    let key = key.trim();
    if !key.is_empty() && crate::auth::same_secret(key, &state.config.admin_key) {
        guard.succeeded(WHO);
        info!("operator logged in with the admin key");
        return Ok((Principal::admin(), "admin".to_string(), None));
    }
    match state.store.resolve_api_key_id(key).await? {
        Some((key_id, tenant_id)) if !key.is_empty() => {
            info!(tenant = %tenant_id, "tenant logged in");
            Ok((
                Principal {
                    tenant_id: tenant_id.clone(),
                    is_admin: false,
                },
                tenant_id,
                Some(key_id),
            ))
        }
        _ => {
            guard.failed(WHO);
            warn!("dashboard login refused: unknown API key");
            Err(wrong_credentials())
        }
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "wrong user name or password")
}

fn too_many() -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        "too many failed logins: wait a minute and try again",
    )
}

fn behind_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn new_claims(
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

fn sign(cfg: &DashboardConfig, claims: &Claims) -> Result<String, ApiError> {
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

/// The caller a valid token stands for: a tenant's token only while the
/// key it logged in with exists.
pub async fn principal_of(state: &AppState, claims: &Claims) -> Result<Principal, ApiError> {
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
    if !sent.is_empty() && crate::auth::same_secret(sent, &claims.csrf) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a request authenticated by the dashboard cookie needs the X-CSRF-Token header",
        ))
    }
}

/// Forget the session cookie.
#[utoipa::path(
    post, path = "/api/auth/logout", tag = "auth",
    responses((status = 200, description = "The session cookie is cleared")),
    security(())
)]
pub async fn logout() -> Response {
    let mut response = envelope::ok(json!({ "loggedOut": true })).into_response();
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

/// Who the caller is; with the dashboard cookie, also its CSRF token.
#[utoipa::path(
    get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, description = "The caller"), (status = 401, description = "Not logged in"))
)]
pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    let claims = state
        .config
        .dashboard
        .as_ref()
        .and_then(|cfg| session_cookie(&headers).and_then(|t| verify(cfg, &t)));
    Ok(envelope::ok(json!({
        "tenantId": principal.tenant_id,
        "isAdmin": principal.is_admin,
        "username": claims.as_ref().map(|c| c.sub.clone()),
        "csrfToken": claims.as_ref().map(|c| c.csrf.clone()),
        "expiresAt": claims.as_ref().map(|c| wagate_core::iso_ms(c.exp * 1000)),
    }))
    .into_response())
}

#[cfg(test)]
mod tests;

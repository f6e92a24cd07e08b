//! The login routes: `POST /api/auth/login` (the operator's password or a
//! tenant's key, exchanged for a token and the session cookie),
//! `POST /api/auth/logout` and `GET /api/auth/me`.
//!
//! The HTTP face of the login: it takes the [`AppState`] and the caller
//! ([`Auth`]), and uses the components beside it (settings, failure guard,
//! tokens), which never import it back.

use axum::Router;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};
use utoipa::ToSchema;
use wagate_core::ErrorCode;
use wagate_store::app::Principal;

use super::config::DashboardConfig;
use super::token::{SESSION_COOKIE, new_claims, session_cookie, sign, verify};
use crate::auth::Auth;
use crate::envelope;
use crate::error::ApiError;
use crate::extract::Json;
use crate::secret::same_secret;
use crate::state::AppState;

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
    let name_ok = same_secret(username.trim(), &cfg.username);
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
    if !key.is_empty() && same_secret(key, &state.config.admin_key) {
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

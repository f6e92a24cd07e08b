//! Sessions: create, list, get, delete; start, stop, restart, logout; QR and
//! pairing codes.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::chat_id::normalize_phone;
use wagate_core::limits::SESSION_NAME_MAX_CHARS;
use wagate_core::{ErrorCode, SessionStatus, StatusReason, iso_ms};
use wagate_store::app::{Principal, SessionFilter, SessionMeta, SessionMetaPatch, SessionRecord};

use crate::auth::Auth;
use crate::envelope::{self, Envelope, Pagination};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::owned::owned_session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(create_session).get(list_sessions))
        .route(
            "/sessions/{id}",
            get(get_session)
                .patch(update_session)
                .delete(delete_session),
        )
        .route("/circles", get(list_circles))
        .route(
            "/circles/{name}",
            axum::routing::put(rename_circle).delete(delete_circle),
        )
        .route("/sessions/{id}/start", post(start_session))
        .route("/sessions/{id}/stop", post(stop_session))
        .route("/sessions/{id}/restart", post(restart_session))
        .route("/sessions/{id}/logout", post(logout_session))
        .route("/sessions/{id}/qr", get(get_qr))
        .route("/sessions/{id}/qr/regenerate", post(regenerate_qr))
        .route("/sessions/{id}/pair-code", post(pair_code))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSession {
    /// Unique per tenant, 1–100 characters.
    #[schema(example = "my-bot")]
    pub name: String,
    /// A webhook to register on the new session.
    pub webhook: Option<crate::webhook_config::CreateWebhook>,
    /// Availability flag for external apps (default false).
    #[serde(default)]
    pub used: bool,
    /// Free text, up to 1000 characters.
    pub notes: Option<String>,
    /// The circle (named group of sessions) to put it in.
    #[schema(example = "sales")]
    pub circle: Option<String>,
    /// The name the phone shows under Linked Devices (default: the OS).
    pub device_name: Option<String>,
    /// The OS the linked device reports (default `DEVICE_OS`, else one of
    /// Windows, macOS, Ubuntu, Linux, Fedora at random).
    #[schema(example = "macOS")]
    pub device_os: Option<String>,
}

/// A partial update: fields left out stay as they are; an empty `notes` or
/// `circle` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSession {
    pub used: Option<bool>,
    pub notes: Option<String>,
    pub circle: Option<String>,
    /// A new name (unique per tenant).
    pub name: Option<String>,
    /// The device name the phone shows, from the next pairing on; empty clears it.
    pub device_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircleDto {
    #[schema(example = "sales")]
    pub name: String,
    /// How many sessions are in it.
    pub sessions: u64,
}

const NOTES_MAX_CHARS: usize = 1000;
const CIRCLE_MAX_CHARS: usize = 100;
const DEVICE_FIELD_MAX_CHARS: usize = 50;

/// `notes` checked: `None` when empty, an error when too long.
fn checked_notes(notes: &str) -> Result<Option<String>, ApiError> {
    if notes.chars().count() > NOTES_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "notes must be at most {NOTES_MAX_CHARS} characters"
        )));
    }
    Ok((!notes.is_empty()).then(|| notes.to_string()))
}

/// A session's new name: trimmed, 1 to the contract's maximum characters.
fn checked_new_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > SESSION_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {SESSION_NAME_MAX_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

/// A trimmed optional name field: `None` when blank, an error when too long.
fn checked_name(field: &str, value: &str, max: usize) -> Result<Option<String>, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::validation(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok((!value.is_empty()).then(|| value.to_string()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    #[schema(example = "sess_abc123def456")]
    pub id: String,
    pub name: String,
    /// INITIALIZING, SCAN_QR, CONNECTING, CONNECTED, DISCONNECTED or FAILED.
    #[schema(example = "CONNECTED")]
    pub status: &'static str,
    /// Why a session is DISCONNECTED or FAILED (stopped, logged_out, banned, qr_expired, fatal), or why a CONNECTING one cannot reach WhatsApp (dns_failed, connection_refused, network_unreachable, tls_failed, connect_timeout, version_fetch_failed, handshake_failed).
    pub status_reason: Option<&'static str>,
    /// With a connection problem: the latest attempt's error, one line.
    pub last_error: Option<String>,
    /// With a connection problem: when the next attempt is due (about: ±10 %).
    pub next_retry_at: Option<String>,
    pub phone_number: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
    pub connected_at: Option<String>,
    pub created_at: String,
    /// The current QR code, when one is waiting to be scanned.
    pub qr: Option<String>,
    /// Availability flag kept for external apps.
    pub used: bool,
    pub notes: Option<String>,
    pub circle: Option<String>,
    /// What the phone shows under Linked Devices.
    pub device_name: Option<String>,
    pub device_os: Option<String>,
}

impl SessionDto {
    fn from_record(r: &SessionRecord, live: Option<&wagate_engine::LiveState>) -> Self {
        let (status, reason) = match live {
            Some(l) => (l.status, l.reason),
            None => (r.status, r.status_reason),
        };
        SessionDto {
            id: r.id.clone(),
            name: r.name.clone(),
            status: status.api(),
            status_reason: reason.map(StatusReason::as_str),
            last_error: live.and_then(|l| l.last_error.clone()),
            next_retry_at: live.and_then(|l| l.next_retry_at_ms).map(iso_ms),
            phone_number: r.phone.clone(),
            push_name: r.push_name.clone(),
            platform: r.platform.clone(),
            connected_at: r.connected_at.map(iso_ms),
            created_at: iso_ms(r.created_at),
            qr: live
                .and_then(|l| l.qr.clone())
                .filter(|_| status == SessionStatus::QrReady),
            used: r.used,
            notes: r.notes.clone(),
            circle: r.circle.clone(),
            device_name: r.device_name.clone(),
            device_os: r.device_os.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSessionsQuery {
    /// Filter by status (API or internal name).
    pub status: Option<String>,
    /// Filter by the `used` flag: `true` or `false`.
    pub used: Option<String>,
    /// Only sessions in this circle.
    pub circle: Option<String>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// Only this tenant's sessions (the admin's filter; a tenant may name
    /// only itself).
    #[serde(rename = "tenantId")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QrDto {
    /// The raw QR payload.
    pub code: String,
    /// The QR as a PNG data URL.
    pub image: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairCodeRequest {
    /// The number to link, with country code (digits, `+` allowed).
    #[schema(example = "628123456789")]
    pub phone_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairCodeDto {
    /// Enter this on the phone: WhatsApp › Linked devices › Link with phone number.
    #[schema(example = "ABCD1234")]
    pub code: String,
}

/// Create a session and start pairing it.
#[utoipa::path(post, path = "/api/sessions", tag = "sessions", request_body = CreateSession,
    security(("api_key" = [])),
    responses((status = 201, description = "Created", body = SessionDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 409, description = "SESSION_ALREADY_EXISTS")))]
pub async fn create_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateSession>,
) -> Result<Envelope<SessionDto>, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > SESSION_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {SESSION_NAME_MAX_CHARS} characters"
        )));
    }
    if let Some(webhook) = &body.webhook {
        crate::webhook_config::validate(&state, webhook).await?;
    }
    let meta = SessionMeta {
        used: body.used,
        notes: body
            .notes
            .as_deref()
            .map(checked_notes)
            .transpose()?
            .flatten(),
        circle: body
            .circle
            .as_deref()
            .map(|c| checked_name("circle", c, CIRCLE_MAX_CHARS))
            .transpose()?
            .flatten(),
        device_name: body
            .device_name
            .as_deref()
            .map(|c| checked_name("deviceName", c, DEVICE_FIELD_MAX_CHARS))
            .transpose()?
            .flatten(),
        device_os: body
            .device_os
            .as_deref()
            .map(|c| checked_name("deviceOs", c, DEVICE_FIELD_MAX_CHARS))
            .transpose()?
            .flatten(),
    };
    if !principal.is_admin {
        check_session_quota(&state, &principal.tenant_id).await?;
    }
    // Where the new session's webhook starts: before its first event.
    let webhook_start = state.store.last_event_seq().await?;
    let (record, session) = match state.manager.create(&principal.tenant_id, name, meta).await {
        Ok(v) => v,
        Err(wagate_engine::EngineError::Store(wagate_store::StoreError::Conflict(m))) => {
            return Err(ApiError::new(ErrorCode::SessionAlreadyExists, m));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(webhook) = body.webhook {
        crate::webhook_config::create_for_session(&state, &record, webhook, Some(webhook_start))
            .await?;
    }
    let live = session.live();
    Ok(envelope::created(SessionDto::from_record(
        &record,
        Some(&live),
    )))
}

/// 403 `SESSION_LIMIT_REACHED` when the tenant holds its quota already: its
/// own (`PUT /api/tenants/{id}/session-limit`), else
/// `MAX_SESSIONS_PER_TENANT` (default: unlimited).
async fn check_session_quota(state: &AppState, tenant: &str) -> Result<(), ApiError> {
    let own = state.store.tenant_session_limit(tenant).await?.flatten();
    let Some(max) = own.or(state.config.max_sessions_per_tenant) else {
        return Ok(());
    };
    if state.store.count_tenant_sessions(tenant).await? >= max {
        return Err(ApiError::new(
            ErrorCode::SessionLimitReached,
            format!("this tenant may hold at most {max} sessions: delete one first"),
        )
        .with_details(serde_json::json!({ "limit": max })));
    }
    Ok(())
}

/// List sessions (a tenant sees its own; the admin sees all).
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(ListSessionsQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "A page of sessions", body = [SessionDto])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ListSessionsQuery>,
) -> Result<Envelope<Vec<SessionDto>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(SessionStatus::parse(s).ok_or_else(|| {
            ApiError::validation(format!(
                "unknown status '{s}': use INITIALIZING, SCAN_QR, CONNECTING, CONNECTED, DISCONNECTED or FAILED"
            ))
        })?),
    };
    let page = q.page.unwrap_or(1);
    let limit = q.limit.unwrap_or(20);
    if page == 0 || !(1..=100).contains(&limit) {
        return Err(ApiError::validation("page starts at 1; limit is 1 to 100"));
    }
    let used = match q.used.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(u) => {
            return Err(ApiError::validation(format!(
                "used must be true or false, not '{u}'"
            )));
        }
    };
    let tenant_id = match q.tenant_id.filter(|t| !t.is_empty()) {
        Some(t) if principal.can_access(&t) => Some(t),
        Some(_) => {
            return Err(ApiError::forbidden(
                "only the admin may name another tenant",
            ));
        }
        None => (!principal.is_admin).then(|| principal.tenant_id.clone()),
    };
    let filter = SessionFilter {
        tenant_id,
        status,
        used,
        circle: q.circle.filter(|c| !c.trim().is_empty()),
        page,
        limit,
    };
    let (records, total) = state.store.list_sessions(&filter).await?;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let live = state.manager.attach(r).await.live();
        out.push(SessionDto::from_record(r, Some(&live)));
    }
    Ok(envelope::paginated(
        out,
        Pagination::new(page, limit, total),
    ))
}

/// Get one session.
#[utoipa::path(get, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")), security(("api_key" = [])),
    responses((status = 200, description = "The session", body = SessionDto),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn get_session(
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<SessionDto>, ApiError> {
    Ok(envelope::ok(SessionDto::from_record(
        &record,
        Some(&session.live()),
    )))
}

/// Update a session's metadata: `used`, `notes`, `circle`.
#[utoipa::path(patch, path = "/api/sessions/{id}", tag = "sessions", request_body = UpdateSession,
    params(("id" = String, Path, description = "Session id or its phone number")),
    security(("api_key" = [])),
    responses((status = 200, description = "The updated session", body = SessionDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn update_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateSession>,
) -> Result<Envelope<SessionDto>, ApiError> {
    let patch = SessionMetaPatch {
        used: body.used,
        notes: body.notes.as_deref().map(checked_notes).transpose()?,
        circle: body
            .circle
            .as_deref()
            .map(|c| checked_name("circle", c, CIRCLE_MAX_CHARS))
            .transpose()?,
        name: body.name.as_deref().map(checked_new_name).transpose()?,
        device_name: body
            .device_name
            .as_deref()
            .map(|c| checked_name("deviceName", c, DEVICE_FIELD_MAX_CHARS))
            .transpose()?,
    };
    let (record, session) = owned_session(&state, &principal, &id).await?;
    match state.store.update_session_meta(&record.id, &patch).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::session_not_found(&id)),
        Err(wagate_store::StoreError::Conflict(m)) => {
            return Err(ApiError::new(ErrorCode::SessionAlreadyExists, m));
        }
        Err(e) => return Err(e.into()),
    }
    refreshed(&state, &record.id, &session).await
}

/// Circles (named groups of sessions) with how many sessions each holds; a
/// tenant sees its own, the admin all.
#[utoipa::path(get, path = "/api/circles", tag = "sessions", security(("api_key" = [])),
    responses((status = 200, description = "Circles", body = [CircleDto])))]
pub async fn list_circles(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Envelope<Vec<CircleDto>>, ApiError> {
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let circles = state.store.list_circles(tenant).await?;
    Ok(envelope::ok(
        circles
            .into_iter()
            .map(|(name, sessions)| CircleDto { name, sessions })
            .collect(),
    ))
}

/// Whose circle: circles are per tenant, so the admin names the tenant
/// (default: its own).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CircleQuery {
    /// Admin only: the tenant whose circle this is (default: the admin's own).
    pub tenant_id: Option<String>,
}

/// The tenant a circle route acts on: the caller's own; the admin may name
/// another with `?tenantId=`.
fn circle_tenant<'a>(
    principal: &'a Principal,
    asked: Option<&'a str>,
) -> Result<&'a str, ApiError> {
    match asked.filter(|t| !t.is_empty()) {
        None => Ok(principal.tenant_id.as_str()),
        Some(t) if principal.can_access(t) => Ok(t),
        Some(_) => Err(ApiError::forbidden(
            "only the admin may name another tenant",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameCircle {
    /// The circle's new name.
    pub name: String,
}

/// Rename a circle: every session in it moves to the new name (merging into
/// that circle if it exists). A circle exists while a session is in it: put a
/// session in a new one with `PATCH /api/sessions/{id}` `{circle}`.
#[utoipa::path(put, path = "/api/circles/{name}", tag = "sessions",
    params(("name" = String, Path)), request_body = RenameCircle, security(("api_key" = [])),
    responses((status = 200, description = "Renamed", body = CircleDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "NOT_FOUND: no session is in that circle")))]
pub async fn rename_circle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(name): Path<String>,
    Query(q): Query<CircleQuery>,
    Json(body): Json<RenameCircle>,
) -> Result<Envelope<CircleDto>, ApiError> {
    let to = checked_name("name", &body.name, CIRCLE_MAX_CHARS)?
        .ok_or_else(|| ApiError::validation("name must not be empty"))?;
    let tenant = Some(circle_tenant(&principal, q.tenant_id.as_deref())?);
    let moved = state.store.rename_circle(tenant, &name, &to).await?;
    if moved == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no session is in circle '{name}'"),
        ));
    }
    let sessions = state
        .store
        .list_circles(tenant)
        .await?
        .into_iter()
        .find(|(n, _)| *n == to)
        .map_or(moved, |(_, n)| n);
    Ok(envelope::ok(CircleDto { name: to, sessions }))
}

/// Delete a circle: its sessions stay, outside any circle.
#[utoipa::path(delete, path = "/api/circles/{name}", tag = "sessions",
    params(("name" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted"),
              (status = 404, description = "NOT_FOUND: no session is in that circle")))]
pub async fn delete_circle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(name): Path<String>,
    Query(q): Query<CircleQuery>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let tenant = Some(circle_tenant(&principal, q.tenant_id.as_deref())?);
    let cleared = state.store.clear_circle(tenant, &name).await?;
    if cleared == 0 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no session is in circle '{name}'"),
        ));
    }
    Ok(envelope::ok(
        serde_json::json!({ "name": name, "sessionsReleased": cleared }),
    ))
}

/// Delete a session: unlinks the device and wipes its keys.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted"), (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn delete_session(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let id = record.id;
    state.manager.delete(&id).await?;
    Ok(envelope::message("Session deleted successfully"))
}

/// Start (or resume) a session.
#[utoipa::path(post, path = "/api/sessions/{id}/start", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Started", body = SessionDto)))]
pub async fn start_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<SessionDto>, ApiError> {
    let (record, session) = owned_session(&state, &principal, &id).await?;
    let id = record.id;
    session.start(None).await?;
    refreshed(&state, &id, &session).await
}

/// Stop a session; it stays stopped across restarts until started again.
#[utoipa::path(post, path = "/api/sessions/{id}/stop", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Stopped", body = SessionDto)))]
pub async fn stop_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<SessionDto>, ApiError> {
    let (record, session) = owned_session(&state, &principal, &id).await?;
    let id = record.id;
    state.manager.stop(&id).await?;
    refreshed(&state, &id, &session).await
}

/// Stop and start a session again.
#[utoipa::path(post, path = "/api/sessions/{id}/restart", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Restarted", body = SessionDto)))]
pub async fn restart_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<SessionDto>, ApiError> {
    let (record, session) = owned_session(&state, &principal, &id).await?;
    let id = record.id;
    state.manager.stop(&id).await?;
    session.start(None).await?;
    refreshed(&state, &id, &session).await
}

/// Log out: unlink the device and wipe its keys, keeping the session so it
/// can be paired again.
#[utoipa::path(post, path = "/api/sessions/{id}/logout", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Logged out")))]
pub async fn logout_session(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    session.logout().await?;
    Ok(envelope::message("Session logged out successfully"))
}

/// The current QR code (raw and as a PNG data URL). Starts pairing when the
/// session is idle, and waits briefly for a code to appear.
#[utoipa::path(get, path = "/api/sessions/{id}/qr", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "QR code", body = QrDto),
              (status = 400, description = "SESSION_QR_EXPIRED when connected, SESSION_INITIALIZING when no code yet")))]
pub async fn get_qr(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<QrDto>, ApiError> {
    let code = session.wait_for_qr(state.config.qr_wait).await?;
    let image = wagate_core::qr::png_data_url(&code);
    Ok(envelope::ok(QrDto { code, image }))
}

/// A fresh QR code: the pairing flow starts over (the codes shown before
/// stop working), for a code that was shown too long or scanned too late.
#[utoipa::path(post, path = "/api/sessions/{id}/qr/regenerate", tag = "sessions",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "A new QR code", body = QrDto),
              (status = 400, description = "SESSION_QR_EXPIRED: the session is already connected; SESSION_INITIALIZING (with the cause when WhatsApp cannot be reached)"),
              (status = 403, description = "SESSION_BANNED")))]
pub async fn regenerate_qr(
    State(state): State<AppState>,
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<QrDto>, ApiError> {
    if session.status() == SessionStatus::Ready {
        return Err(ApiError::new(
            ErrorCode::SessionQrExpired,
            "the session is already connected: log it out to pair it again",
        ));
    }
    state.manager.stop(&record.id).await?;
    let code = session.wait_for_qr(state.config.qr_wait).await?;
    let image = wagate_core::qr::png_data_url(&code);
    Ok(envelope::ok(QrDto { code, image }))
}

/// Link by phone number: returns the 8-character code to enter on the phone.
#[utoipa::path(post, path = "/api/sessions/{id}/pair-code", tag = "sessions",
    params(("id" = String, Path)), request_body = PairCodeRequest, security(("api_key" = [])),
    responses((status = 200, description = "Pairing code", body = PairCodeDto)))]
pub async fn pair_code(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<PairCodeRequest>,
) -> Result<Envelope<PairCodeDto>, ApiError> {
    let phone = normalize_phone(&body.phone_number).ok_or_else(|| {
        ApiError::validation("phoneNumber must be 7 to 15 digits with country code")
    })?;
    let code = session
        .request_pair_code(phone, state.config.qr_wait)
        .await?;
    Ok(envelope::ok(PairCodeDto { code }))
}

async fn refreshed(
    state: &AppState,
    id: &str,
    session: &wagate_engine::Session,
) -> Result<Envelope<SessionDto>, ApiError> {
    let record = state
        .store
        .get_session(id)
        .await?
        .ok_or_else(|| ApiError::session_not_found(id))?;
    Ok(envelope::ok(SessionDto::from_record(
        &record,
        Some(&session.live()),
    )))
}

//! Sessions: create, list, get, update, delete; start, stop, restart,
//! logout; QR and pairing codes. What a session looks like and how one is
//! created live in [`crate::session_admin`], shared with the drop-in modes.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::chat_id::normalize_phone;
use wagate_core::{ErrorCode, SessionStatus};
use wagate_store::app::{SessionFilter, SessionMetaPatch};

use crate::auth::Auth;
use crate::envelope::{self, Envelope, Pagination};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::session_admin::{
    self, CIRCLE_MAX_CHARS, CreateSession, DEVICE_FIELD_MAX_CHARS, QrDto, SessionDto, checked_name,
    checked_new_name, checked_notes,
};
use crate::session_proxy::ProxyInput;
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
        .route("/sessions/{id}/start", post(start_session))
        .route("/sessions/{id}/stop", post(stop_session))
        .route("/sessions/{id}/restart", post(restart_session))
        .route("/sessions/{id}/logout", post(logout_session))
        .route("/sessions/{id}/qr", get(get_qr))
        .route("/sessions/{id}/qr/regenerate", post(regenerate_qr))
        .route("/sessions/{id}/pair-code", post(pair_code))
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
    /// A new proxy for the session's WhatsApp traffic; `null` removes it
    /// (back to its `PROXY_POOL` entry or `PROXY_URL`, else direct). A
    /// running session reconnects through the new route at once.
    #[serde(default, deserialize_with = "crate::session_proxy::nullable")]
    #[schema(value_type = Option<ProxyInput>)]
    pub proxy: Option<Option<ProxyInput>>,
    /// A change of what the session does by itself, merged into its
    /// settings field by field; it takes effect at once.
    #[schema(value_type = Option<crate::session_settings::SessionSettingsChange>)]
    pub settings: Option<wagate_core::SettingsPatch>,
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
    Ok(envelope::created(
        session_admin::create(&state, &principal, body).await?,
    ))
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
    // In a cluster: which node runs each; another node's live state is the
    // stored one.
    let cluster = state.manager.cluster();
    let nodes = match cluster {
        Some(c) => Some(c.session_nodes().await?),
        None => None,
    };
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let live = state.manager.attach(r).await.live();
        let here = cluster.is_none_or(|c| c.holds(&r.id));
        let mut dto = SessionDto::from_record(r, here.then_some(&live));
        if !here {
            dto.settings = live.settings.clone();
        }
        dto.node = nodes.as_ref().map(|n| n.get(&r.id).cloned());
        out.push(dto.with_proxy(&state).await?);
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
    State(state): State<AppState>,
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<SessionDto>, ApiError> {
    Ok(envelope::ok(
        SessionDto::from_record(&record, Some(&session.live()))
            .with_proxy(&state)
            .await?
            .with_node(&state)
            .await?,
    ))
}

/// Update a session's metadata (`used`, `notes`, `circle`, `name`,
/// `deviceName`), its proxy and its behaviour `settings`.
#[utoipa::path(patch, path = "/api/sessions/{id}", tag = "sessions", request_body = UpdateSession,
    params(("id" = String, Path, description = "Session id or its phone number")),
    security(("api_key" = [])),
    responses((status = 200, description = "The updated session", body = SessionDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn update_session(
    State(state): State<AppState>,
    OwnedSession { record, session }: OwnedSession,
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
    let proxy = match &body.proxy {
        Some(Some(p)) => Some(Some(
            crate::session_proxy::checked(&state, &record.tenant_id, p).await?,
        )),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(change) = &body.settings {
        crate::session_settings::checked(change)?;
    }
    match state.store.update_session_meta(&record.id, &patch).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::session_not_found(&id)),
        Err(wagate_store::StoreError::Conflict(m)) => {
            return Err(ApiError::new(ErrorCode::SessionAlreadyExists, m));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(proxy) = proxy {
        state
            .manager
            .set_session_proxy(&record.id, proxy.as_ref())
            .await?;
    }
    if let Some(change) = &body.settings {
        state.manager.change_settings(&record.id, change).await?;
    }
    refreshed(&state, &record.id, &session).await
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
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<SessionDto>, ApiError> {
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
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<SessionDto>, ApiError> {
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
    OwnedSession { record, session }: OwnedSession,
) -> Result<Envelope<SessionDto>, ApiError> {
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
    Ok(envelope::ok(QrDto::of(code)))
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
    let qr = session_admin::fresh_qr(&state, &record, &session).await?;
    Ok(envelope::ok(qr))
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
    Ok(envelope::ok(
        SessionDto::from_record(&record, Some(&session.live()))
            .with_proxy(state)
            .await?,
    ))
}

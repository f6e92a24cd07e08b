//! Seed 003's session routes: health, list, create, delete, disconnect,
//! QR, regenerate, status.

use super::*;

/// Liveness (seed 003's `/health`).
#[utoipa::path(get, path = "/compat/microservice/health", tag = "compat-microservice",
    responses((status = 200, description = "Up")))]
pub async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// The caller's sessions.
#[utoipa::path(get, path = "/compat/microservice/tenant/sessions", tag = "compat-microservice",
    security(("api_key" = [])), responses((status = 200, description = "`{success, sessions}`")))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Value>, ApiError> {
    let mut list = Vec::new();
    for r in tenant_sessions(&state, &principal).await? {
        let status = state.manager.attach(&r).await.status();
        list.push(view(&r, status));
    }
    Ok(ok(json!({ "sessions": list })))
}

/// Create a session with the client's own id; pairing starts at once (QR).
#[utoipa::path(post, path = "/compat/microservice/tenant/sessions", tag = "compat-microservice",
    request_body = MsCreateSession, security(("api_key" = [])),
    responses((status = 201, description = "`{success, session}`"),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 403, description = "SESSION_LIMIT_REACHED"),
              (status = 409, description = "SESSION_ALREADY_EXISTS")))]
pub async fn create_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<MsCreateSession>,
) -> Result<Response, ApiError> {
    let native = crate::session_admin::CreateSession {
        name: body.session_id,
        webhook: None,
        used: false,
        notes: body.description.filter(|d| !d.trim().is_empty()),
        circle: None,
        device_name: body.name.filter(|n| !n.trim().is_empty()),
        device_os: None,
        proxy: None,
        settings: None,
    };
    let created = crate::session_admin::create(&state, &principal, native).await?;
    let record = state
        .store
        .get_session(&created.id)
        .await?
        .ok_or_else(|| ApiError::session_not_found(&created.id))?;
    let status = SessionStatus::parse(created.status).unwrap_or(record.status);
    Ok((
        axum::http::StatusCode::CREATED,
        ok(json!({ "session": view(&record, status) })),
    )
        .into_response())
}

/// Delete a session completely (unlinks the device).
#[utoipa::path(delete, path = "/compat/microservice/session/{id}", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "`{success}`"), (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn delete_session(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
) -> Result<axum::Json<Value>, ApiError> {
    state.manager.delete(&owned.record.id).await?;
    Ok(ok(json!({})))
}

/// Disconnect (stop) a session; its pairing is kept.
#[utoipa::path(post, path = "/compat/microservice/session/{id}/disconnect", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "`{success, status}`"), (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn disconnect(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
) -> Result<axum::Json<Value>, ApiError> {
    state.manager.stop(&owned.record.id).await?;
    Ok(ok(json!({ "status": status_word(owned.session.status()) })))
}

fn qr_answer(code: String) -> axum::Json<Value> {
    let image = wagate_core::qr::png_data_url(&code);
    ok(json!({ "qr": code, "qr_image": image }))
}

/// The current QR code (raw and as a PNG data URL).
#[utoipa::path(get, path = "/compat/microservice/session/{id}/qr", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "`{success, qr, qr_image}`"),
              (status = 400, description = "SESSION_INITIALIZING (with the cause), SESSION_QR_EXPIRED"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn qr(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
) -> Result<axum::Json<Value>, ApiError> {
    let code = owned.session.wait_for_qr(state.config.qr_wait).await?;
    Ok(qr_answer(code))
}

/// Start pairing over for a fresh QR code.
#[utoipa::path(post, path = "/compat/microservice/session/{id}/regenerate-qr", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "`{success, qr, qr_image}`"),
              (status = 400, description = "SESSION_QR_EXPIRED: already connected"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn regenerate_qr(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
) -> Result<axum::Json<Value>, ApiError> {
    let fresh = crate::session_admin::fresh_qr(&state, &owned.record, &owned.session).await?;
    Ok(qr_answer(fresh.code))
}

/// Connection status.
#[utoipa::path(get, path = "/compat/microservice/session/{id}/status", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "`{success, session_id, status, phone_number}`"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn status(ClientSession(owned): ClientSession) -> Result<axum::Json<Value>, ApiError> {
    let live = owned.session.live();
    Ok(ok(json!({
        "session_id": owned.record.name,
        "status": status_word(live.status),
        "phone_number": live.phone.or(owned.record.phone),
        "status_reason": live.reason.map(|r| r.as_str()),
    })))
}

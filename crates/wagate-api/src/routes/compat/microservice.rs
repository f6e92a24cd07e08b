//! Seed 003's API (the multi-tenant WhatsApp microservice) under
//! `/compat/microservice`, so its clients change only their base URL:
//! sessions with client-chosen ids (`/tenant/sessions`, `/session/:id/…`),
//! text and media sends, QR, status, history, the per-session SSE stream,
//! tenant-wide messages and statistics, and stored files. `X-Api-Key` is
//! any wagate key (a tenant's key sees its own sessions).
//!
//! A client-chosen `session_id` is the native session's *name* (unique per
//! tenant); `name` becomes the name the phone shows under Linked Devices
//! and `description` the session's notes. Every route is a translation onto
//! the native handlers (the same checks, queue and history); answers are
//! flat `{success: true, …}` objects as the microservice's were, errors
//! keep wagate's envelope and codes. Its webhook is the `microservice`
//! webhook format.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{SessionStatus, iso_ms};
use wagate_engine::media::MediaKind;
use wagate_store::app::{MessageFeed, MessageRecord, Principal, SessionFilter, SessionRecord};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::{IdempotencyKey, SendMode};
use crate::state::AppState;
use crate::streams::StreamKey;

const BASE: &str = "/compat/microservice";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/health"), get(health))
        .route(
            &format!("{BASE}/tenant/sessions"),
            get(list_sessions).post(create_session),
        )
        .route(&format!("{BASE}/tenant/messages"), get(tenant_messages))
        .route(&format!("{BASE}/tenant/stats"), get(tenant_stats))
        .route(&format!("{BASE}/session/{{id}}"), delete(delete_session))
        .route(
            &format!("{BASE}/session/{{id}}/disconnect"),
            post(disconnect),
        )
        .route(&format!("{BASE}/session/{{id}}/qr"), get(qr))
        .route(
            &format!("{BASE}/session/{{id}}/regenerate-qr"),
            post(regenerate_qr),
        )
        .route(&format!("{BASE}/session/{{id}}/status"), get(status))
        .route(&format!("{BASE}/session/{{id}}/send"), post(send))
        .route(
            &format!("{BASE}/session/{{id}}/send-image"),
            post(send_image),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-video"),
            post(send_video),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-document"),
            post(send_document),
        )
        .route(
            &format!("{BASE}/session/{{id}}/send-audio"),
            post(send_audio),
        )
        .route(&format!("{BASE}/session/{{id}}/messages"), get(messages))
        .route(
            &format!("{BASE}/session/{{id}}/messages/stream"),
            get(stream),
        )
        .route(&format!("{BASE}/files/{{id}}/{{file_name}}"), get(file))
}

// ── shapes ─────────────────────────────────────────────────────────────

#[derive(Debug, Deserialize, ToSchema)]
pub struct MsCreateSession {
    /// The client's own id for the session (1–100 characters).
    #[schema(example = "main")]
    pub session_id: String,
    /// Shown on the phone under Linked Devices.
    #[schema(example = "Main WhatsApp Number")]
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MsSession {
    pub session_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `connected`, `qr`, `connecting`, `disconnected` or `failed`.
    pub status: &'static str,
    pub phone_number: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MsSendText {
    /// Digits with country code, or a chat id.
    #[schema(example = "393331234567")]
    pub to: String,
    pub message: String,
}

/// A media send: the file (a URL, a data URL or plain base64) in the field
/// named after its kind.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MsSendMedia {
    #[schema(example = "393331234567")]
    pub to: String,
    pub image: Option<String>,
    pub video: Option<String>,
    pub document: Option<String>,
    pub audio: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
    /// Audio as a voice note.
    #[serde(default)]
    pub ptt: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MsMessage {
    /// WhatsApp's id of the message.
    pub id: String,
    pub session_id: String,
    /// Its place in the feed: pass it as `after`.
    pub seq: i64,
    pub from: String,
    pub to: String,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub from_me: bool,
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub media_url: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MsPage {
    /// Only messages after this `seq`.
    pub after: Option<i64>,
    /// At most this many (1–500, default 50).
    pub limit: Option<u32>,
}

fn status_word(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Ready => "connected",
        SessionStatus::QrReady => "qr",
        SessionStatus::Initializing | SessionStatus::Connecting => "connecting",
        SessionStatus::Disconnected => "disconnected",
        SessionStatus::Error => "failed",
    }
}

fn view(r: &SessionRecord, status: SessionStatus) -> MsSession {
    MsSession {
        session_id: r.name.clone(),
        name: r.device_name.clone(),
        description: r.notes.clone(),
        status: status_word(status),
        phone_number: r.phone.clone(),
        created_at: iso_ms(r.created_at),
    }
}

fn message_view(m: &MessageRecord, names: &dyn Fn(&str) -> String) -> MsMessage {
    let session_id = names(&m.session_id);
    MsMessage {
        id: m.wa_id.clone(),
        seq: m.seq,
        from: wagate_core::ChatId::api_from_jid(&m.sender),
        to: wagate_core::ChatId::api_from_jid(&m.recipient),
        message: m.body.clone(),
        msg_type: m.msg_type.to_string(),
        from_me: m.from_me,
        timestamp: m.wa_timestamp,
        media_url: m
            .media
            .as_ref()
            .map(|f| format!("{BASE}/files/{session_id}/{}", f.file_id)),
        session_id,
    }
}

fn ok(mut body: Value) -> axum::Json<Value> {
    body["success"] = json!(true);
    axum::Json(body)
}

// ── sessions by the client's id ────────────────────────────────────────

async fn tenant_sessions(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<SessionRecord>, ApiError> {
    let (sessions, _) = state
        .store
        .list_sessions(&SessionFilter {
            tenant_id: Some(principal.tenant_id.clone()),
            page: 1,
            limit: 1000,
            ..Default::default()
        })
        .await?;
    Ok(sessions)
}

/// The caller's session whose name is the client's `session_id`.
async fn by_client_id(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<OwnedSession, ApiError> {
    let record = tenant_sessions(state, principal)
        .await?
        .into_iter()
        .find(|s| s.name == id)
        .ok_or_else(|| ApiError::session_not_found(id))?;
    let session = state.manager.attach(&record).await;
    Ok(OwnedSession { record, session })
}

/// The caller's session named by the path's `id` (the client's id),
/// resolved before any body is read: another tenant's is 404, as missing.
pub struct ClientSession(pub OwnedSession);

impl axum::extract::FromRequestParts<AppState> for ClientSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let id = crate::owned::path_param(parts, state, "id").await?;
        Ok(ClientSession(by_client_id(state, &principal, &id).await?))
    }
}

// ── routes ─────────────────────────────────────────────────────────────

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
    state: State<AppState>,
    auth: Auth,
    Json(body): Json<MsCreateSession>,
) -> Result<Response, ApiError> {
    let native = crate::routes::sessions::CreateSession {
        name: body.session_id,
        webhook: None,
        used: false,
        notes: body.description.filter(|d| !d.trim().is_empty()),
        circle: None,
        device_name: body.name.filter(|n| !n.trim().is_empty()),
        device_os: None,
    };
    let created = crate::routes::sessions::create_session(state.clone(), auth, Json(native))
        .await?
        .into_data();
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
    state: State<AppState>,
    ClientSession(owned): ClientSession,
) -> Result<axum::Json<Value>, ApiError> {
    let fresh = crate::routes::sessions::regenerate_qr(state, owned)
        .await?
        .into_data();
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

fn sent(result: crate::send::SendResultDto) -> axum::Json<Value> {
    let wa_id = wagate_core::ids::parse_message_id(&result.message_id)
        .2
        .to_string();
    ok(json!({ "message_id": wa_id, "status": result.status }))
}

/// Send a text (immediate delivery: it skips the drip pace).
#[utoipa::path(post, path = "/compat/microservice/session/{id}/send", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")),
    request_body = MsSendText, security(("api_key" = [])),
    responses((status = 200, description = "`{success, message_id, status}`"),
              (status = 400, description = "MESSAGE_INVALID_CHAT_ID, MESSAGE_TEXT_TOO_LONG, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn send(
    state: State<AppState>,
    ClientSession(owned): ClientSession,
    key: IdempotencyKey,
    Json(body): Json<MsSendText>,
) -> Result<axum::Json<Value>, ApiError> {
    let native: crate::routes::messages::SendText = serde_json::from_value(json!({
        "chatId": body.to.trim().trim_start_matches('+'),
        "text": body.message,
    }))
    .map_err(|e| ApiError::validation(e.to_string()))?;
    let result = crate::routes::messages::send_text(
        state,
        owned,
        Query(SendMode::default()),
        key,
        Json(native),
    )
    .await?
    .into_data();
    Ok(sent(result))
}

/// The native media send's JSON body, from the microservice's.
fn media_body(kind: MediaKind, body: MsSendMedia) -> Result<Value, ApiError> {
    let (field, file) = match kind {
        MediaKind::Image => ("image", body.image),
        MediaKind::Video => ("video", body.video),
        MediaKind::Document => ("document", body.document),
        _ => ("audio", body.audio),
    };
    let file = file.filter(|f| !f.trim().is_empty()).ok_or_else(|| {
        ApiError::validation(format!("{field} is required: a URL, a data URL or base64"))
    })?;
    let source = if file.starts_with("http://") || file.starts_with("https://") {
        json!({ "url": file })
    } else {
        json!({ "base64": file })
    };
    let mut native = json!({ "chatId": body.to.trim().trim_start_matches('+') });
    native[field] = source;
    if let Some(c) = body.caption {
        native["caption"] = json!(c);
    }
    if let Some(f) = body.filename {
        native["filename"] = json!(f);
    }
    if kind == MediaKind::Audio && body.ptt {
        native["ptt"] = json!(true);
    }
    Ok(native)
}

async fn send_media(
    state: State<AppState>,
    owned: OwnedSession,
    headers: HeaderMap,
    body: MsSendMedia,
    kind: MediaKind,
) -> Result<axum::Json<Value>, ApiError> {
    let native = media_body(kind, body)?;
    let mut request = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/json");
    if let Some(k) = headers.get("idempotency-key") {
        request = request.header("idempotency-key", k);
    }
    let request = request
        .body(Body::from(native.to_string()))
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let result = match kind {
        MediaKind::Image => crate::routes::media::send_image(state, owned, request).await,
        MediaKind::Video => crate::routes::media::send_video(state, owned, request).await,
        MediaKind::Document => crate::routes::media::send_document(state, owned, request).await,
        _ => crate::routes::media::send_audio(state, owned, request).await,
    }?
    .into_data();
    Ok(sent(result))
}

macro_rules! media_route {
    ($name:ident, $kind:expr, $path:literal, $what:literal) => {
        #[doc = concat!("Send ", $what, " (`{to, ", $what, ", caption}`: a URL, a data URL or base64).")]
        #[utoipa::path(post, path = $path, tag = "compat-microservice",
            params(("id" = String, Path, description = "The client's session id")),
            request_body = MsSendMedia, security(("api_key" = [])),
            responses((status = 200, description = "`{success, message_id, status}`"),
                      (status = 400, description = "VALIDATION_ERROR, MESSAGE_MEDIA_INVALID_FORMAT, MESSAGE_MEDIA_DOWNLOAD_FAILED, SESSION_NOT_READY"),
                      (status = 404, description = "SESSION_NOT_FOUND"),
                      (status = 413, description = "MESSAGE_MEDIA_TOO_LARGE")))]
        pub async fn $name(
            state: State<AppState>,
            ClientSession(owned): ClientSession,
            headers: HeaderMap,
            Json(body): Json<MsSendMedia>,
        ) -> Result<axum::Json<Value>, ApiError> {
            send_media(state, owned, headers, body, $kind).await
        }
    };
}

media_route!(
    send_image,
    MediaKind::Image,
    "/compat/microservice/session/{id}/send-image",
    "image"
);
media_route!(
    send_video,
    MediaKind::Video,
    "/compat/microservice/session/{id}/send-video",
    "video"
);
media_route!(
    send_document,
    MediaKind::Document,
    "/compat/microservice/session/{id}/send-document",
    "document"
);
media_route!(
    send_audio,
    MediaKind::Audio,
    "/compat/microservice/session/{id}/send-audio",
    "audio"
);

fn limit_of(page: &MsPage) -> Result<u32, ApiError> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit is 1 to 500"));
    }
    Ok(limit)
}

fn page_answer(list: Vec<MsMessage>) -> axum::Json<Value> {
    let next = list.last().map(|m| m.seq);
    ok(json!({ "messages": list, "next_after": next }))
}

/// A session's messages after a cursor, oldest first.
#[utoipa::path(get, path = "/compat/microservice/session/{id}/messages", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id"), MsPage), security(("api_key" = [])),
    responses((status = 200, description = "`{success, messages, next_after}`"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn messages(
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
    Query(page): Query<MsPage>,
) -> Result<axum::Json<Value>, ApiError> {
    let limit = limit_of(&page)?;
    let feed = state
        .store
        .message_feed(&MessageFeed {
            tenant_id: None,
            session_id: Some(owned.record.id.clone()),
            chat_id: None,
            incoming_only: false,
            after: page.after.unwrap_or(0).max(0),
            limit,
        })
        .await?;
    let name = owned.record.name.clone();
    let names = move |_: &str| name.clone();
    Ok(page_answer(
        feed.iter().map(|m| message_view(m, &names)).collect(),
    ))
}

/// Every message of the caller's sessions after a cursor, oldest first.
#[utoipa::path(get, path = "/compat/microservice/tenant/messages", tag = "compat-microservice",
    params(MsPage), security(("api_key" = [])),
    responses((status = 200, description = "`{success, messages, next_after}`")))]
pub async fn tenant_messages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(page): Query<MsPage>,
) -> Result<axum::Json<Value>, ApiError> {
    let limit = limit_of(&page)?;
    let sessions = tenant_sessions(&state, &principal).await?;
    let feed = state
        .store
        .message_feed(&MessageFeed {
            tenant_id: Some(principal.tenant_id.clone()),
            session_id: None,
            chat_id: None,
            incoming_only: false,
            after: page.after.unwrap_or(0).max(0),
            limit,
        })
        .await?;
    let names = move |id: &str| {
        sessions
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    Ok(page_answer(
        feed.iter().map(|m| message_view(m, &names)).collect(),
    ))
}

/// The caller's statistics: API calls, messages per day, sessions by status.
#[utoipa::path(get, path = "/compat/microservice/tenant/stats", tag = "compat-microservice",
    security(("api_key" = [])), responses((status = 200, description = "`{success, stats}`")))]
pub async fn tenant_stats(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Value>, ApiError> {
    let stats = crate::routes::stats::build(&state, Some(&principal.tenant_id), 7).await?;
    Ok(ok(json!({ "stats": stats })))
}

/// The session's live events as Server-Sent Events.
#[utoipa::path(get, path = "/compat/microservice/session/{id}/messages/stream", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn stream(
    state: State<AppState>,
    Auth(principal): Auth,
    ClientSession(owned): ClientSession,
    key: StreamKey,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sse = crate::routes::sse::session_events(
        state,
        Auth(principal),
        Path(owned.record.id),
        Query(crate::routes::sse::SseQuery {
            events: None,
            last_event_id: None,
        }),
        key,
        headers,
    )
    .await?;
    Ok(sse.into_response())
}

/// A stored media file of a session's message.
#[utoipa::path(get, path = "/compat/microservice/files/{id}/{file_name}", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id"), ("file_name" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, description = "The file"), (status = 404, description = "SESSION_NOT_FOUND, NOT_FOUND")))]
pub async fn file(
    state: State<AppState>,
    ClientSession(owned): ClientSession,
    Path((_id, file_name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file_id = file_name.split('.').next().unwrap_or_default().to_string();
    let session_id = owned.record.id.clone();
    crate::routes::media::get_file(state, owned, Path((session_id, file_id))).await
}

//! Warming rooms over HTTP (`/api/warming/…`): create, list, read, change
//! and delete rooms; `start`, `pause`, `resume`, `stop`; the script's
//! lines (add, edit, delete, reorder); the history of what a room said; a
//! dry-run `preview`; and each session's warming health. The worker in the
//! engine does the talking; a room belongs to its tenant and joins only
//! that tenant's sessions.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use wagate_core::warming::{MAX_ACTORS, MAX_LINES, MAX_TEXT_CHARS, RoomMode, RoomStatus};
use wagate_core::{ErrorCode, iso_ms, now_ms};
use wagate_engine::warming::{Actor, Room, RoomSettings};
use wagate_store::app::{Principal, WarmingRoom};

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::owned_session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/warming/rooms", post(create_room).get(list_rooms))
        .route(
            "/warming/rooms/{room_id}",
            get(get_room).put(update_room).delete(delete_room),
        )
        .route("/warming/rooms/{room_id}/start", post(start_room))
        .route("/warming/rooms/{room_id}/pause", post(pause_room))
        .route("/warming/rooms/{room_id}/resume", post(resume_room))
        .route("/warming/rooms/{room_id}/stop", post(stop_room))
        .route("/warming/rooms/{room_id}/preview", post(preview_room))
        .route("/warming/rooms/{room_id}/messages", get(room_messages))
        .route(
            "/warming/rooms/{room_id}/lines",
            get(list_lines).post(add_line),
        )
        .route("/warming/rooms/{room_id}/lines/order", put(reorder_lines))
        .route(
            "/warming/rooms/{room_id}/lines/{line_id}",
            put(update_line).delete(delete_line),
        )
        .route("/warming/sessions/{id}/health", get(session_health))
}

/// A room as the API shows it (`data`).
#[derive(Debug, serde::Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct RoomDto(pub Value);

/// A new room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRoom {
    pub name: String,
    /// `script` (default) or `ai`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Two or more of the tenant's sessions, or one session and a person
    /// (`{"id": "B", "phone": "628…"}`). Leave out to use `circle`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub actors: Vec<Actor>,
    /// A mesh of every session in this circle (actors `A`, `B`, … in
    /// creation order, named by session; each talks to the next, the last
    /// to the first). Instead of `actors`.
    #[serde(default)]
    pub circle: Option<String>,
    /// `intervalMinSecs`, `intervalMaxSecs`, `loop`, `timezone`,
    /// `activeHours`, `autoResume`, `dryRun`, `rampUp`, `maxMessages`, `ai`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Option<RoomSettings>,
    /// Script mode: the lines, in order.
    #[serde(default)]
    pub lines: Vec<LineBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRoom {
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub actors: Option<Vec<Actor>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<RoomSettings>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineBody {
    /// The actor who says it (its `id`).
    pub actor: String,
    /// Spintax and variables allowed: `{Hi|Hello} {OTHER_NAME}, {TIME_GREETING}`.
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineOrder {
    /// Every line id of the room, in the new order.
    pub order: Vec<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PauseBody {
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewBody {
    /// Messages to render (default: the whole script, or 6 in AI mode; at most 50).
    pub limit: Option<usize>,
}

// ── handlers ───────────────────────────────────────────────────────────

#[utoipa::path(post, path = "/api/warming/rooms", tag = "warming",
    request_body = CreateRoom, security(("api_key" = [])),
    responses((status = 201, description = "Created (DRAFT)", body = RoomDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn create_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateRoom>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let name = checked_name(&body.name)?;
    let mode = match body.mode.as_deref() {
        None => RoomMode::Script,
        Some(m) => {
            RoomMode::parse(m).ok_or_else(|| ApiError::validation("mode must be script or ai"))?
        }
    };
    let settings = body.settings.unwrap_or_default();
    settings.validate().map_err(ApiError::validation)?;
    let actors = match (&body.circle, body.actors.is_empty()) {
        (Some(circle), true) => circle_actors(&state, &principal, circle).await?,
        (None, _) => body.actors,
        (Some(_), false) => {
            return Err(ApiError::validation("give actors or circle, not both"));
        }
    };
    let tenant = check_actors(&state, &principal, &actors).await?;
    if body.lines.len() > MAX_LINES {
        return Err(ApiError::validation(format!("at most {MAX_LINES} lines")));
    }
    for l in &body.lines {
        check_line(&actors, l)?;
    }
    let now = now_ms();
    let record = WarmingRoom {
        id: wagate_engine::warming::new_room_id(),
        tenant_id: tenant.unwrap_or_else(|| principal.tenant_id.clone()),
        name,
        mode: mode.as_str().into(),
        status: RoomStatus::Draft.as_str().into(),
        pause_reason: None,
        pause_auto: false,
        actors: to_json(&actors)?,
        settings: to_json(&settings)?,
        round: 0,
        position: 0,
        next_at: 0,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    };
    let lines: Vec<_> = body
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| wagate_engine::warming::line(&record.id, i as i64, &l.actor, &l.text))
        .collect();
    state.store.insert_warming_room(&record, &lines).await?;
    let room = load(&state, &principal, &record.id).await?;
    Ok(envelope::created(dto(&state, &room).await?))
}

#[utoipa::path(get, path = "/api/warming/rooms", tag = "warming", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's rooms", body = Vec<RoomDto>)))]
pub async fn list_rooms(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Envelope<Vec<RoomDto>>, ApiError> {
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let mut out = Vec::new();
    for r in state.store.list_warming_rooms(tenant).await? {
        if let Ok(room) = Room::from_record(r) {
            out.push(dto(&state, &room).await?);
        }
    }
    Ok(envelope::ok(out))
}

#[utoipa::path(get, path = "/api/warming/rooms/{room_id}", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The room, its progress and its members' health", body = RoomDto),
              (status = 404, description = "NOT_FOUND")))]
pub async fn get_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    Ok(envelope::ok(dto(&state, &room).await?))
}

#[utoipa::path(put, path = "/api/warming/rooms/{room_id}", tag = "warming",
    params(("room_id" = String, Path)), request_body = UpdateRoom, security(("api_key" = [])),
    responses((status = 200, description = "Changed", body = RoomDto),
              (status = 400, description = "VALIDATION_ERROR")))]
pub async fn update_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
    Json(body): Json<UpdateRoom>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    let name = match &body.name {
        Some(n) => checked_name(n)?,
        None => room.record.name.clone(),
    };
    let actors = match body.actors {
        Some(a) => {
            check_actors(&state, &principal, &a).await?;
            a
        }
        None => room.actors.clone(),
    };
    let settings = match body.settings {
        Some(mut s) => {
            s.validate().map_err(ApiError::validation)?;
            // The key is write-only: leaving it out keeps the stored one.
            if s.ai.api_key.is_none() {
                s.ai.api_key = room.settings.ai.api_key.clone();
            }
            s
        }
        None => room.settings.clone(),
    };
    state
        .store
        .update_warming_room(room.id(), &name, &to_json(&actors)?, &to_json(&settings)?)
        .await?;
    let room = load(&state, &principal, &room_id).await?;
    Ok(envelope::ok(dto(&state, &room).await?))
}

#[utoipa::path(delete, path = "/api/warming/rooms/{room_id}", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted (with its lines and history)")))]
pub async fn delete_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<Value>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    state.store.delete_warming_room(room.id()).await?;
    Ok(envelope::ok(json!({ "id": room.id(), "deleted": true })))
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/start", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "RUNNING", body = RoomDto),
              (status = 409, description = "CONFLICT: already running or paused")))]
pub async fn start_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    state.warming.start_room(&room).await?;
    reload(&state, &principal, &room_id).await
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/pause", tag = "warming",
    params(("room_id" = String, Path)), request_body = PauseBody, security(("api_key" = [])),
    responses((status = 200, description = "PAUSED", body = RoomDto),
              (status = 409, description = "CONFLICT: not running")))]
pub async fn pause_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Envelope<RoomDto>, ApiError> {
    let body: PauseBody = if body.is_empty() {
        PauseBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?
    };
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::validation("reason is at most 500 characters"));
    }
    let room = load(&state, &principal, &room_id).await?;
    state
        .warming
        .pause_room(&room, body.reason.as_deref())
        .await?;
    reload(&state, &principal, &room_id).await
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/resume", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "RUNNING", body = RoomDto),
              (status = 409, description = "CONFLICT: not paused")))]
pub async fn resume_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    state.warming.resume_room(&room).await?;
    reload(&state, &principal, &room_id).await
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/stop", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "STOPPED", body = RoomDto),
              (status = 409, description = "CONFLICT: already finished or stopped")))]
pub async fn stop_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    state.warming.stop_room(&room).await?;
    reload(&state, &principal, &room_id).await
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/preview", tag = "warming",
    params(("room_id" = String, Path)), request_body = PreviewBody, security(("api_key" = [])),
    responses((status = 200, description = "The conversation, rendered; nothing is sent"),
              (status = 409, description = "CONFLICT: the AI provider failed")))]
pub async fn preview_room(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Envelope<Value>, ApiError> {
    let body: PreviewBody = if body.is_empty() {
        PreviewBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))?
    };
    let room = load(&state, &principal, &room_id).await?;
    let default = if room.mode == RoomMode::Ai {
        6
    } else {
        MAX_LINES
    };
    let limit = body.limit.unwrap_or(default).clamp(
        1,
        if room.mode == RoomMode::Ai {
            50
        } else {
            MAX_LINES
        },
    );
    let messages = state.warming.preview(&room, limit).await?;
    Ok(envelope::ok(
        json!({ "roomId": room.id(), "dryRun": true, "messages": messages }),
    ))
}

#[utoipa::path(get, path = "/api/warming/rooms/{room_id}/messages", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "What the room said, oldest first (the last 500)")))]
pub async fn room_messages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<Vec<Value>>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    let out = state
        .store
        .warming_messages(room.id(), 500)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id, "round": m.round, "line": m.line, "actor": m.actor,
                "fromSession": m.from_session, "toSession": m.to_session,
                "to": wagate_core::ChatId::api_from_jid(&m.to_chat),
                "text": m.text, "status": m.status, "queueId": m.queue_id,
                "error": m.error, "createdAt": iso_ms(m.created_at), "updatedAt": iso_ms(m.updated_at),
            })
        })
        .collect();
    Ok(envelope::ok(out))
}

#[utoipa::path(get, path = "/api/warming/rooms/{room_id}/lines", tag = "warming",
    params(("room_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The script, in order")))]
pub async fn list_lines(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
) -> Result<Envelope<Vec<Value>>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    Ok(envelope::ok(lines_json(&state, room.id()).await?))
}

#[utoipa::path(post, path = "/api/warming/rooms/{room_id}/lines", tag = "warming",
    params(("room_id" = String, Path)), request_body = LineBody, security(("api_key" = [])),
    responses((status = 201, description = "Added at the end")))]
pub async fn add_line(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
    Json(body): Json<LineBody>,
) -> Result<Envelope<Value>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    check_line(&room.actors, &body)?;
    let lines = state.store.warming_lines(room.id()).await?;
    if lines.len() >= MAX_LINES {
        return Err(ApiError::validation(format!("at most {MAX_LINES} lines")));
    }
    let seq = lines.last().map_or(0, |l| l.seq + 1);
    let line = wagate_engine::warming::line(room.id(), seq, &body.actor, &body.text);
    state.store.insert_warming_line(&line).await?;
    Ok(envelope::created(json!({
        "id": line.id, "position": lines.len(), "actor": line.actor, "text": line.text,
    })))
}

#[utoipa::path(put, path = "/api/warming/rooms/{room_id}/lines/{line_id}", tag = "warming",
    params(("room_id" = String, Path), ("line_id" = String, Path)), request_body = LineBody,
    security(("api_key" = [])),
    responses((status = 200, description = "Changed"), (status = 404, description = "NOT_FOUND")))]
pub async fn update_line(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((room_id, line_id)): Path<(String, String)>,
    Json(body): Json<LineBody>,
) -> Result<Envelope<Value>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    check_line(&room.actors, &body)?;
    if !state
        .store
        .update_warming_line(room.id(), &line_id, &body.actor, &body.text)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no line '{line_id}'"),
        ));
    }
    Ok(envelope::ok(
        json!({ "id": line_id, "actor": body.actor, "text": body.text }),
    ))
}

#[utoipa::path(delete, path = "/api/warming/rooms/{room_id}/lines/{line_id}", tag = "warming",
    params(("room_id" = String, Path), ("line_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Deleted"), (status = 404, description = "NOT_FOUND")))]
pub async fn delete_line(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((room_id, line_id)): Path<(String, String)>,
) -> Result<Envelope<Value>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    if !state.store.delete_warming_line(room.id(), &line_id).await? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no line '{line_id}'"),
        ));
    }
    Ok(envelope::ok(json!({ "id": line_id, "deleted": true })))
}

#[utoipa::path(put, path = "/api/warming/rooms/{room_id}/lines/order", tag = "warming",
    params(("room_id" = String, Path)), request_body = LineOrder, security(("api_key" = [])),
    responses((status = 200, description = "The script in its new order"),
              (status = 400, description = "VALIDATION_ERROR: not exactly the room's line ids")))]
pub async fn reorder_lines(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(room_id): Path<String>,
    Json(body): Json<LineOrder>,
) -> Result<Envelope<Vec<Value>>, ApiError> {
    let room = load(&state, &principal, &room_id).await?;
    let lines = state.store.warming_lines(room.id()).await?;
    let mut given = body.order.clone();
    given.sort();
    given.dedup();
    let mut have: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    have.sort();
    if given != have || body.order.len() != lines.len() {
        return Err(ApiError::validation(
            "order must list every line id of the room exactly once",
        ));
    }
    state
        .store
        .reorder_warming_lines(room.id(), &body.order)
        .await?;
    Ok(envelope::ok(lines_json(&state, room.id()).await?))
}

#[utoipa::path(get, path = "/api/warming/sessions/{id}/health", tag = "warming",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Days warmed, messages sent/received, last pause reason"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn session_health(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<Value>, ApiError> {
    let (record, _) = owned_session(&state, &principal, &id).await?;
    Ok(envelope::ok(health(&state, &record.id).await?))
}

// ── helpers ────────────────────────────────────────────────────────────

/// The room as `principal` may see it (another tenant's is a 404).
async fn load(state: &AppState, principal: &Principal, id: &str) -> Result<Room, ApiError> {
    let record = state
        .store
        .get_warming_room(id)
        .await?
        .filter(|r| principal.can_access(&r.tenant_id))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no warming room '{id}'")))?;
    Room::from_record(record).map_err(|e| ApiError::internal("warming room", e))
}

async fn reload(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Envelope<RoomDto>, ApiError> {
    let room = load(state, principal, id).await?;
    Ok(envelope::ok(dto(state, &room).await?))
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("name must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::internal("warming json", e))
}

/// Checks a room's actors: ids unique, each a session of the caller's
/// tenant or a person's number, two or more with at most one person.
/// Returns the sessions' tenant (for an admin creating a room).
/// The sessions of the caller's `circle`, oldest first, as actors `A`, `B`,
/// … (at most the room limit).
async fn circle_actors(
    state: &AppState,
    principal: &Principal,
    circle: &str,
) -> Result<Vec<Actor>, ApiError> {
    let filter = wagate_store::app::SessionFilter {
        tenant_id: Some(principal.tenant_id.clone()),
        circle: Some(circle.to_string()),
        page: 1,
        limit: MAX_ACTORS as u32 + 1,
        ..Default::default()
    };
    let (mut sessions, _) = state.store.list_sessions(&filter).await?;
    sessions.sort_by_key(|s| s.created_at);
    if sessions.len() > MAX_ACTORS {
        return Err(ApiError::validation(format!(
            "circle '{circle}' has more than {MAX_ACTORS} sessions: name the actors instead"
        )));
    }
    Ok(sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| Actor {
            id: actor_id(i),
            name: Some(s.name),
            session_id: Some(s.id),
            phone: None,
            persona: None,
        })
        .collect())
}

/// `A`, `B`, … `Z`, then `A2`, `B2`, ….
fn actor_id(i: usize) -> String {
    let letter = char::from(b'A' + (i % 26) as u8);
    match i / 26 {
        0 => letter.to_string(),
        n => format!("{letter}{}", n + 1),
    }
}

async fn check_actors(
    state: &AppState,
    principal: &Principal,
    actors: &[Actor],
) -> Result<Option<String>, ApiError> {
    if actors.len() < 2 || actors.len() > MAX_ACTORS {
        return Err(ApiError::validation(format!(
            "a room needs 2 to {MAX_ACTORS} actors (sessions, or one session and a person)"
        )));
    }
    let mut tenant: Option<String> = None;
    let mut ids = std::collections::HashSet::new();
    let mut humans = 0;
    for a in actors {
        if a.id.is_empty() || a.id.chars().count() > 32 || !ids.insert(a.id.clone()) {
            return Err(ApiError::validation(
                "actor ids must be unique, 1 to 32 characters",
            ));
        }
        if a.name.as_ref().is_some_and(|n| n.chars().count() > 100)
            || a.persona
                .as_ref()
                .is_some_and(|p| p.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(ApiError::validation(format!(
                "an actor's name is at most 100 characters and its persona at most {MAX_TEXT_CHARS}"
            )));
        }
        match (&a.session_id, &a.phone) {
            (Some(sid), None) => {
                let (record, _) = owned_session(state, principal, sid).await?;
                if tenant.as_ref().is_some_and(|t| *t != record.tenant_id) {
                    return Err(ApiError::validation(
                        "a room's sessions must belong to one tenant",
                    ));
                }
                tenant = Some(record.tenant_id);
            }
            (None, Some(phone)) => {
                let digits = phone.trim_start_matches('+');
                if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(ApiError::validation(
                        "an actor's phone must be 7 to 15 digits",
                    ));
                }
                humans += 1;
            }
            _ => {
                return Err(ApiError::validation(
                    "each actor needs exactly one of sessionId or phone",
                ));
            }
        }
    }
    if humans > 1 || humans == actors.len() {
        return Err(ApiError::validation(
            "a room has at most one person, and at least one session",
        ));
    }
    Ok(tenant)
}

fn check_line(actors: &[Actor], l: &LineBody) -> Result<(), ApiError> {
    if !actors.iter().any(|a| a.id == l.actor) {
        return Err(ApiError::validation(format!(
            "line actor '{}' is not one of the room's actors",
            l.actor
        )));
    }
    let n = l.text.chars().count();
    if l.text.trim().is_empty() || n > MAX_TEXT_CHARS {
        return Err(ApiError::validation(format!(
            "a line's text must be 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

async fn lines_json(state: &AppState, room_id: &str) -> Result<Vec<Value>, ApiError> {
    Ok(state
        .store
        .warming_lines(room_id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, l)| json!({ "id": l.id, "position": i, "actor": l.actor, "text": l.text }))
        .collect())
}

async fn health(state: &AppState, session_id: &str) -> Result<Value, ApiError> {
    let h = state.store.warming_health(session_id).await?;
    let last_pause = state
        .store
        .list_warming_rooms(None)
        .await?
        .into_iter()
        .filter(|r| r.actors.contains(session_id) && r.pause_reason.is_some())
        .max_by_key(|r| r.updated_at)
        .and_then(|r| r.pause_reason);
    Ok(json!({
        "sessionId": session_id,
        "daysWarmed": h.days_warmed,
        "messagesSent": h.sent,
        "messagesReceived": h.received,
        "messagesFailed": h.failed,
        "firstAt": h.first_at.map(iso_ms),
        "lastAt": h.last_at.map(iso_ms),
        "lastPauseReason": last_pause,
    }))
}

async fn dto(state: &AppState, room: &Room) -> Result<RoomDto, ApiError> {
    let r = &room.record;
    let total = match room.mode {
        RoomMode::Script => state.store.warming_lines(room.id()).await?.len() as i64,
        RoomMode::Ai => i64::from(room.settings.max_messages.unwrap_or(20)),
    };
    let mut members = Vec::new();
    for a in &room.actors {
        let mut m = serde_json::to_value(a).unwrap_or_default();
        if let Some(sid) = &a.session_id {
            m["health"] = health(state, sid).await?;
        }
        members.push(m);
    }
    Ok(RoomDto(json!({
        "id": r.id,
        "name": r.name,
        "mode": r.mode,
        "status": r.status,
        "pauseReason": r.pause_reason,
        "pausedAutomatically": r.pause_auto,
        "actors": members,
        "settings": room.settings.public(),
        "progress": { "round": r.round, "position": r.position, "total": total },
        "nextAt": (r.next_at > 0 && r.status == "RUNNING").then(|| iso_ms(r.next_at)),
        "createdAt": iso_ms(r.created_at),
        "updatedAt": iso_ms(r.updated_at),
        "startedAt": r.started_at.map(iso_ms),
        "finishedAt": r.finished_at.map(iso_ms),
    })))
}

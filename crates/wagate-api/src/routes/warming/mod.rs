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

mod lines;
mod rooms;

pub use lines::*;
pub use rooms::*;

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

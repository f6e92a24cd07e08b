//! A warming room's routes: create, read, update, delete, start, pause,
//! resume, stop, the dry-run preview, its history; and a number's health.

use super::*;

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

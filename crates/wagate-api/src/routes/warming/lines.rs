//! A script room's lines: list, add, edit, delete and reorder.

use super::*;

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

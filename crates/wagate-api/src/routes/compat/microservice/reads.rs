//! Seed 003's reads: a session's and the tenant's messages after a cursor,
//! the live SSE stream, statistics and stored files.

use super::*;

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
    let stats = crate::statistics::build(&state, Some(&principal.tenant_id), 7).await?;
    Ok(ok(json!({ "stats": stats })))
}

/// The session's live events as Server-Sent Events.
#[utoipa::path(get, path = "/compat/microservice/session/{id}/messages/stream", tag = "compat-microservice",
    params(("id" = String, Path, description = "The client's session id")), security(("api_key" = [])),
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn stream(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientSession(owned): ClientSession,
    key: StreamKey,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = crate::sse::SseRequest {
        events: None,
        last_event_id: None,
        headers: &headers,
    };
    let tenant = Some(owned.record.tenant_id);
    let session = Some(owned.record.id);
    let sse = crate::sse::open(
        &state,
        &principal.tenant_id,
        key.0,
        tenant,
        session,
        request,
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
    State(state): State<AppState>,
    ClientSession(owned): ClientSession,
    Path((_id, file_name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file_id = file_name.split('.').next().unwrap_or_default().to_string();
    crate::media_files::serve(&state, &owned.record.id, &file_id).await
}

//! Server-Sent Events: `GET /api/sessions/{id}/events` (one session) and
//! `GET /api/events` (every session the caller may see).
//!
//! Each event is one SSE message whose `id:` is the event's sequence number
//! and whose `data:` is the contract's event object plus `seq`. A client
//! that reconnects with `Last-Event-ID` (which browsers send by themselves;
//! or `?lastEventId=`) first receives every event after it from the durable
//! log, then live ones, with no gap and no duplicate (see [`crate::feed`]).
//! `?events=message.received,session.status` filters by name. A comment
//! line every 15 s keeps proxies from closing an idle stream. Streams count
//! against the tenant's `STREAMS_MAX_PER_TENANT` and close when their key is
//! deleted (see [`crate::streams`]).

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::owned::OwnedSession;
use crate::sse::{self, SseRequest};
use crate::state::AppState;
use crate::streams::StreamKey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(tenant_events))
        .route("/sessions/{id}/events", get(session_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SseQuery {
    /// Comma-separated event names (`*` or absent: every event; `message.*` allowed).
    pub events: Option<String>,
    /// Resume after this sequence number (the `Last-Event-ID` header wins).
    pub last_event_id: Option<i64>,
}

/// One session's events as Server-Sent Events.
#[utoipa::path(get, path = "/api/sessions/{id}/events", tag = "events",
    params(("id" = String, Path, description = "Session id"), SseQuery,
           ("Last-Event-ID" = Option<String>, Header, description = "Resume after this sequence number")),
    security(("api_key" = [])),
    responses((status = 200, description = "An endless text/event-stream; `id` is the event's seq", content_type = "text/event-stream"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn session_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OwnedSession { record, .. }: OwnedSession,
    Query(q): Query<SseQuery>,
    StreamKey(key): StreamKey,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    // The record's id: the path's `id` may be the phone number the session
    // is linked to.
    let (tenant, session) = (Some(record.tenant_id), Some(record.id));
    let req = request(&q, &headers);
    sse::open(&state, &principal.tenant_id, key, tenant, session, req).await
}

/// Every event the caller may see (a tenant: its sessions; the admin: all).
#[utoipa::path(get, path = "/api/events", tag = "events",
    params(SseQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this sequence number")),
    security(("api_key" = [])),
    responses((status = 200, description = "An endless text/event-stream; `id` is the event's seq", content_type = "text/event-stream")))]
pub async fn tenant_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<SseQuery>,
    StreamKey(key): StreamKey,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    let tenant = (!principal.is_admin).then(|| principal.tenant_id.clone());
    sse::open(
        &state,
        &principal.tenant_id,
        key,
        tenant,
        None,
        request(&q, &headers),
    )
    .await
}

fn request<'a>(q: &'a SseQuery, headers: &'a HeaderMap) -> SseRequest<'a> {
    SseRequest {
        events: q.events.as_deref(),
        last_event_id: q.last_event_id,
        headers,
    }
}

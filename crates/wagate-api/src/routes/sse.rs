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
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use wagate_store::app::webhooks::event_matches;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::feed::Feed;
use crate::owned::owned_session;
use crate::state::AppState;
use crate::streams::{KEY_RECHECK, KeyCheck, StreamKey, StreamSlot, admit, check_filter};

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How errors name the resume point.
const RESUME_FIELD: &str = "Last-Event-ID (lastEventId)";

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

fn resume_point(headers: &HeaderMap, q: &SseQuery) -> Result<Option<i64>, ApiError> {
    match headers.get("last-event-id") {
        Some(v) => {
            let text = v.to_str().unwrap_or_default().trim();
            if text.is_empty() {
                return Ok(q.last_event_id);
            }
            text.parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::validation("Last-Event-ID must be an event sequence number"))
        }
        None => Ok(q.last_event_id),
    }
}

fn filter(q: &SseQuery) -> Result<Vec<String>, ApiError> {
    let list: Vec<String> = q
        .events
        .as_deref()
        .unwrap_or("*")
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    check_filter("events", &list)?;
    Ok(if list.is_empty() {
        vec!["*".to_string()]
    } else {
        list
    })
}

fn stream(
    feed: Feed,
    events: Vec<String>,
    slot: StreamSlot,
    key: KeyCheck,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let recheck = tokio::time::interval_at(tokio::time::Instant::now() + KEY_RECHECK, KEY_RECHECK);
    futures::stream::unfold(
        (feed, events, slot, key, recheck),
        |(mut feed, events, slot, key, mut recheck)| async move {
            loop {
                // `Feed::next` is cancel-safe: losing the race to the key
                // check loses nothing.
                let next = tokio::select! {
                    next = feed.next() => next,
                    _ = recheck.tick() => {
                        if key.still_valid().await {
                            continue;
                        }
                        return None;
                    }
                };
                match next {
                    Ok(e) if event_matches(&events, e.event.as_str()) => {
                        let message = Event::default()
                            .id(e.seq.to_string())
                            .data(e.to_json().to_string());
                        return Some((Ok(message), (feed, events, slot, key, recheck)));
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        },
    )
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
    Path(id): Path<String>,
    Query(q): Query<SseQuery>,
    StreamKey(key): StreamKey,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (record, _) = owned_session(&state, &principal, &id).await?;
    let after =
        crate::feed::checked_resume(&state, RESUME_FIELD, resume_point(&headers, &q)?).await?;
    let events = filter(&q)?;
    let (slot, key) = admit(&state, &principal.tenant_id, key)?;
    // The record's id: `id` may be the phone number the session is linked to.
    let feed = Feed::new(&state, Some(record.tenant_id), Some(record.id), after).await?;
    Ok(Sse::new(stream(feed, events, slot, key)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
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
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after =
        crate::feed::checked_resume(&state, RESUME_FIELD, resume_point(&headers, &q)?).await?;
    let events = filter(&q)?;
    let (slot, key) = admit(&state, &principal.tenant_id, key)?;
    let tenant = (!principal.is_admin).then(|| principal.tenant_id.clone());
    let feed = Feed::new(&state, tenant, None, after).await?;
    Ok(Sse::new(stream(feed, events, slot, key)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

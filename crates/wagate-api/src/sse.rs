//! An event feed as Server-Sent Events: where a client resumes
//! (`Last-Event-ID`, or `?lastEventId=`), which events it asked for, the
//! stream itself (closed when the key stops working), and a keep-alive
//! comment every 15 s. The native SSE routes and the drop-in modes' streams
//! open theirs here.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use wagate_store::app::webhooks::event_matches;

use crate::error::ApiError;
use crate::feed::Feed;
use crate::state::AppState;
use crate::streams::{KEY_RECHECK, KeyCheck, StreamSlot, admit, check_filter};

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How the resume point is named in errors.
const RESUME_FIELD: &str = "Last-Event-ID (lastEventId)";

/// What a client asked of its stream.
pub struct SseRequest<'a> {
    /// Comma-separated event names (`None`: every event).
    pub events: Option<&'a str>,
    /// `?lastEventId=` (the `Last-Event-ID` header wins).
    pub last_event_id: Option<i64>,
    pub headers: &'a HeaderMap,
}

/// The events of `tenant` (every tenant's for `None`), or of one session,
/// after the client's resume point, as SSE. The stream counts against
/// `caller_tenant`'s open streams.
pub async fn open(
    state: &AppState,
    caller_tenant: &str,
    key: Option<String>,
    tenant: Option<String>,
    session: Option<String>,
    req: SseRequest<'_>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    let resume = resume_point(req.headers, req.last_event_id)?;
    let after = crate::feed::checked_resume(state, RESUME_FIELD, resume).await?;
    let events = filter(req.events)?;
    let (slot, key) = admit(state, caller_tenant, key)?;
    let feed = Feed::new(state, tenant, session, after).await?;
    Ok(Sse::new(stream(feed, events, slot, key)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn resume_point(headers: &HeaderMap, fallback: Option<i64>) -> Result<Option<i64>, ApiError> {
    match headers.get("last-event-id") {
        Some(v) => {
            let text = v.to_str().unwrap_or_default().trim();
            if text.is_empty() {
                return Ok(fallback);
            }
            text.parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::validation("Last-Event-ID must be an event sequence number"))
        }
        None => Ok(fallback),
    }
}

fn filter(events: Option<&str>) -> Result<Vec<String>, ApiError> {
    let list: Vec<String> = events
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

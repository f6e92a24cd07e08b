//! A gap-free, duplicate-free stream of events for one client (WebSocket,
//! SSE): replay from the durable log after a sequence number, then live.
//!
//! The feed subscribes to the live broadcast *before* it reads the log, so
//! nothing can fall between the two. It remembers `seen`, the sequence number
//! up to which every event has been considered, and takes a broadcast event
//! directly only when it is exactly `seen + 1`. Anything else (a gap: the
//! store's publisher broadcasts in sequence order, but the feed may have
//! subscribed mid-way, or the client fell behind and the broadcast lagged)
//! sends it back to the log, read in pages up to the head below which no
//! event can appear any more. So memory stays bounded (one page) and a slow
//! client never misses or repeats an event.
//!
//! `next` is cancel-safe: state changes only after every await completed.

use std::collections::VecDeque;

use tokio::sync::broadcast;
use wagate_engine::GatewayEvent;
use wagate_store::app::EventQuery;
use wagate_store::{Store, StoreError};

use crate::error::ApiError;
use crate::state::AppState;

/// Events read from the log at once.
const BATCH: u32 = 500;

/// One event of the log, as clients see it (the one event type; its
/// `to_json` is the contract's event object plus `seq`).
pub type FeedEvent = wagate_core::Event;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the gateway is shutting down")]
    Closed,
}

pub struct Feed {
    store: Store,
    live: broadcast::Receiver<GatewayEvent>,
    tenant: Option<String>,
    session: Option<String>,
    seen: i64,
    backlog: VecDeque<FeedEvent>,
    catch_up: bool,
}

impl Feed {
    /// A feed of `tenant`'s events (`None`: every tenant), optionally of one
    /// session. With `after`, every event after that sequence number comes
    /// first, from the log; without, only events from now on.
    pub async fn new(
        state: &AppState,
        tenant: Option<String>,
        session: Option<String>,
        after: Option<i64>,
    ) -> Result<Feed, StoreError> {
        let live = state.manager.subscribe();
        let (seen, catch_up) = match after {
            Some(n) => (n.max(0), true),
            None => (state.store.last_event_seq().await?, false),
        };
        Ok(Feed {
            store: state.store.clone(),
            live,
            tenant,
            session,
            seen,
            backlog: VecDeque::new(),
            catch_up,
        })
    }

    /// Every event up to this sequence number has been handed out (or was
    /// not this feed's).
    pub fn seen(&self) -> i64 {
        self.seen
    }

    fn in_scope(&self, tenant: &str, session: &str) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == tenant)
            && self.session.as_deref().is_none_or(|s| s == session)
    }

    /// The next event, in sequence order.
    pub async fn next(&mut self) -> Result<FeedEvent, FeedError> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                return Ok(e);
            }
            if self.catch_up {
                self.read_log().await?;
                continue;
            }
            match self.live.recv().await {
                Ok(e) if e.seq <= self.seen => {}
                Ok(e) if e.seq == self.seen + 1 => {
                    self.seen = e.seq;
                    if self.in_scope(&e.tenant_id, &e.session_id) {
                        return Ok(e);
                    }
                }
                // A gap or a lag: the log has the truth.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up = true,
                Err(broadcast::error::RecvError::Closed) => return Err(FeedError::Closed),
            }
        }
    }

    async fn read_log(&mut self) -> Result<(), StoreError> {
        // Everything up to `high` is committed: a read after it sees it all.
        let high = self.store.last_event_seq().await?;
        let batch = self
            .store
            .read_events(&EventQuery {
                after: self.seen,
                session_id: self.session.clone(),
                tenant_id: self.tenant.clone(),
                limit: BATCH,
                upto: Some(high),
            })
            .await?;
        let last = batch.last().map(|e| e.seq).unwrap_or(self.seen);
        if batch.len() < BATCH as usize {
            self.catch_up = false;
            self.seen = last.max(high).max(self.seen);
        } else {
            self.seen = last;
        }
        self.backlog.extend(batch);
        Ok(())
    }
}

/// One page of the log in `(after, upto]` (at most [`BATCH`] events), for
/// a replay alongside a live feed: the caller pages on from the last seq.
pub async fn read_range(
    store: &Store,
    tenant: Option<&str>,
    session: Option<&str>,
    after: i64,
    upto: i64,
) -> Result<Vec<FeedEvent>, StoreError> {
    store
        .read_events(&EventQuery {
            after,
            session_id: session.map(str::to_owned),
            tenant_id: tenant.map(str::to_owned),
            limit: BATCH,
            upto: Some(upto),
        })
        .await
}

/// A resume point within the log: not negative, not past its last event
/// (a feed resumed there would stay silent).
pub async fn checked_resume(
    state: &AppState,
    field: &str,
    after: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    let Some(n) = after else { return Ok(None) };
    if n < 0 {
        return Err(ApiError::validation(format!(
            "{field} must not be negative"
        )));
    }
    let last = state.store.last_event_seq().await?;
    if n > last {
        return Err(ApiError::validation(format!(
            "{field} {n} is past the last event ({last})"
        )));
    }
    Ok(Some(n))
}

//! Limits on long-lived streams (WebSocket and SSE): how many one tenant may
//! hold open, how large a subscription filter may be, and closing a stream
//! whose API key was deleted (or whose tenant was) since it opened.
//!
//! A stream takes a [`StreamSlot`] before it upgrades; the slot counts
//! against its tenant until dropped, so the count cannot drift when a
//! stream ends in any way. A full tenant gets 429 `RATE_LIMITED`. Every
//! [`KEY_RECHECK`] a stream asks [`KeyCheck::still_valid`] and closes when
//! the key no longer authenticates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagate_core::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// How often an open stream checks that its key still works (a deleted key
/// closes its streams within this).
pub const KEY_RECHECK: Duration = Duration::from_secs(30);
/// Most event names in one subscription filter.
pub const FILTER_MAX_EVENTS: usize = 64;
/// Longest event name (or pattern) in a filter.
pub const FILTER_MAX_NAME: usize = 100;
/// Most subscriptions one `/ws` connection holds at once.
pub const WS_MAX_SUBSCRIPTIONS: usize = 100;

/// Open streams per tenant.
#[derive(Debug, Default)]
pub struct Streams {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; counts against its tenant until dropped.
#[derive(Debug)]
pub struct StreamSlot {
    streams: Arc<Streams>,
    tenant: String,
}

impl Streams {
    /// A slot for one more stream of `tenant`, unless it holds `max`
    /// already (`0`: no cap).
    pub fn open(self: &Arc<Self>, tenant: &str, max: usize) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(tenant.to_string()).or_default();
        if max > 0 && *n >= max {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this tenant already has {max} open streams (STREAMS_MAX_PER_TENANT): close one first"
                ),
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            streams: self.clone(),
            tenant: tenant.to_string(),
        })
    }

    /// Streams open now, every tenant's.
    pub fn total(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    /// Streams `tenant` holds open now.
    pub fn count(&self, tenant: &str) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.tenant);
            }
        }
    }
}

/// The key a stream was opened with, to check again later.
#[derive(Clone)]
pub struct KeyCheck {
    state: AppState,
    key: Option<String>,
}

impl KeyCheck {
    pub fn new(state: &AppState, key: Option<String>) -> Self {
        KeyCheck {
            state: state.clone(),
            key,
        }
    }

    /// Whether the key still authenticates. A store error counts as valid:
    /// a database hiccup should not drop every stream.
    pub async fn still_valid(&self) -> bool {
        match crate::auth::authenticate(&self.state, self.key.clone()).await {
            Ok(_) => true,
            Err(e) => e.code != ErrorCode::Unauthorized,
        }
    }
}

/// The API key a request presented (already authenticated by `Auth`), kept
/// by a stream to check it again later.
pub struct StreamKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for StreamKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(StreamKey(crate::auth::presented_key(parts)))
    }
}

/// A stream's slot and key check, taken before the upgrade.
pub fn admit(
    state: &AppState,
    tenant: &str,
    key: Option<String>,
) -> Result<(StreamSlot, KeyCheck), ApiError> {
    let slot = state
        .streams
        .open(tenant, state.config.streams_max_per_tenant)?;
    Ok((slot, KeyCheck::new(state, key)))
}

/// An events filter checked: at most [`FILTER_MAX_EVENTS`] names of at
/// most [`FILTER_MAX_NAME`] characters each.
pub fn check_filter(field: &str, events: &[String]) -> Result<(), ApiError> {
    if events.len() > FILTER_MAX_EVENTS {
        return Err(ApiError::validation(format!(
            "{field} names at most {FILTER_MAX_EVENTS} events"
        )));
    }
    if events.iter().any(|e| e.chars().count() > FILTER_MAX_NAME) {
        return Err(ApiError::validation(format!(
            "{field}: an event name is at most {FILTER_MAX_NAME} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_until_dropped() {
        let streams = Arc::new(Streams::default());
        let a = streams.open("t1", 2).unwrap();
        let _b = streams.open("t1", 2).unwrap();
        assert!(streams.open("t1", 2).is_err());
        assert_eq!(streams.open("t2", 2).map(|_| ()).ok(), Some(()));
        drop(a);
        assert_eq!(streams.count("t1"), 1);
        let _c = streams.open("t1", 2).unwrap();
        assert!(streams.open("t1", 0).is_ok());
    }

    #[test]
    fn filters_are_bounded() {
        assert!(check_filter("events", &["message.*".to_string()]).is_ok());
        let many: Vec<String> = (0..=FILTER_MAX_EVENTS).map(|i| format!("e{i}")).collect();
        assert!(check_filter("events", &many).is_err());
        assert!(check_filter("events", &["x".repeat(FILTER_MAX_NAME + 1)]).is_err());
    }
}

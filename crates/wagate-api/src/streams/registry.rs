//! The registry of open streams: the count per tenant ([`Streams`], whose
//! [`StreamSlot`]s give a place back when dropped), the streams' limits and
//! the check of a subscription filter.
//!
//! A component: [`crate::state::AppState`] holds the [`Streams`], so this
//! file imports neither the state nor the API keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wagate_core::ErrorCode;

use crate::error::ApiError;

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

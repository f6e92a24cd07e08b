//! Limits on long-lived streams (WebSocket and SSE): how many one tenant may
//! hold open, how large a subscription filter may be, and closing a stream
//! whose API key was deleted (or whose tenant was) since it opened.
//!
//! A stream takes a [`StreamSlot`] before it upgrades; the slot counts
//! against its tenant until dropped, so the count cannot drift when a
//! stream ends in any way. A full tenant gets 429 `RATE_LIMITED`. Every
//! [`KEY_RECHECK`] a stream asks [`KeyCheck::still_valid`] and closes when
//! the key no longer authenticates.
//!
//! Here: the registry ([`registry`]: [`Streams`], [`StreamSlot`], the
//! limits, [`check_filter`]), a component the state holds, and admitting
//! a stream and rechecking its key ([`access`]), over the state and the
//! API keys.

pub mod access;
pub mod registry;

pub use access::{KeyCheck, StreamKey, admit};
pub use registry::{
    FILTER_MAX_EVENTS, FILTER_MAX_NAME, KEY_RECHECK, StreamSlot, Streams, WS_MAX_SUBSCRIPTIONS,
    check_filter,
};

//! Gateway events: what sessions tell the rest of the program.
//!
//! One type serves the log, the live broadcast, webhooks, WebSocket and SSE:
//! [`wagate_core::Event`] (the contract's event plus `seq` and the owning
//! tenant), with kinds from [`wagate_core::EventKind`]. Live events come from
//! the store's publisher, after their commit, in sequence order.

pub use wagate_core::{Event, EventKind};

/// The live broadcast's item.
pub type GatewayEvent = Event;

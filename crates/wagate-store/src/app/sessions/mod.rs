//! Session rows: name, owner, status (internal names), the linked device and
//! the identity WhatsApp reported for it.
//!
//! `desired` is what the operator asked for (`running` or `stopped`); at
//! start-up every session that should be running is started again, so a
//! restart of the gateway brings paired sessions back by themselves.
//!
//! One concept per file:
//! - `record`: the row types and their SQL;
//! - `registry`: creating, finding, listing, deleting sessions;
//! - `meta`: metadata patches and circles;
//! - `status`: status, desired state, start-up reset and resume;
//! - `identity`: the linked device and WhatsApp identity;
//! - `proxy`: the proxy it goes through (its own, its pool assignment).
//! - `settings`: the behaviour settings a session chose.

mod identity;
mod meta;
mod proxy;
mod record;
mod registry;
mod settings;
mod status;

pub use proxy::SessionProxyRow;
pub use record::{NewSession, SessionFilter, SessionMeta, SessionMetaPatch, SessionRecord};

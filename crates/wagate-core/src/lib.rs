//! Domain types and rules of wagate, with no I/O.
//!
//! Everything here is shared vocabulary: the session status machine and its
//! API names, chat-id parsing, the API's error codes, identifiers. The store,
//! the engine and the HTTP layer all speak these types so that a rule (say,
//! what a valid chatId is) lives in exactly one place.

pub mod chat_id;
pub mod error_code;
pub mod event;
pub mod ids;
pub mod limits;
pub mod qr;
pub mod status;
pub mod warming;

pub use chat_id::{ChatId, ChatIdError};
pub use error_code::ErrorCode;
pub use event::{Event, EventKind};
pub use status::{SessionStatus, StatusReason};

/// The version string reported in every response's `meta.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Milliseconds since the Unix epoch, the store's timestamp unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// ISO 8601 UTC with milliseconds, the API's timestamp format
/// (`2026-02-02T10:00:00.000Z`).
pub fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

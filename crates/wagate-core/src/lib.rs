//! Domain types and rules of wagate, with no I/O.
//!
//! Everything here is shared vocabulary: the session status machine and its
//! API names, chat-id parsing, the API's error codes, identifiers, the send
//! queue's statuses and lanes ([`queue`]), messages' types and statuses
//! ([`message`]); the word lists are declared with [`wire`]'s macro. The store,
//! the engine and the HTTP layer all speak these types so that a rule (say,
//! what a valid chatId is) lives in exactly one place.

#[macro_use]
pub mod wire;

pub mod call;
pub mod channel;
pub mod chat_id;
pub mod error_code;
pub mod event;
pub mod ids;
pub mod label;
pub mod limits;
pub mod message;
pub mod output;
pub mod proxy;
pub mod qr;
pub mod queue;
pub mod schedule;
pub mod session_settings;
pub mod status;
pub mod status_post;
pub mod warming;

pub use call::CallEndReason;
pub use channel::{ChannelId, ChannelIdError, ChannelRef, ChannelRole};
pub use chat_id::{ChatId, ChatIdError};
pub use error_code::ErrorCode;
pub use event::{DeliveryOutcome, Event, EventKind, MediaStatus, WebhookFormat};
pub use label::LabelColor;
pub use message::{MessageStatus, MessageType};
pub use output::OutputKind;
pub use proxy::{ProxyScheme, ProxySource, ProxyUrl};
pub use queue::{BatchStatus, Lane, MessageKind, QueueStatus};
pub use schedule::{RetrySchedule, parse_duration};
pub use session_settings::{SessionSettings, SettingsPatch};
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

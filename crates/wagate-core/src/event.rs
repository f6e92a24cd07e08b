//! The gateway's events: one vocabulary of kinds and one event type.
//!
//! [`EventKind`] names every event the gateway can emit, with the API
//! contract's wire names (`message.received`, `session.status`, …). The log,
//! the live broadcast, webhooks, WebSocket and SSE all carry [`Event`], so a
//! kind that does not exist cannot be emitted, stored or subscribed to.
//! Subscription filters (webhooks) are checked with [`validate_filter`]: an
//! exact kind, a family `prefix.*` whose prefix some kind has, or `*`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

macro_rules! kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Every event kind the gateway emits, by its contract name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)+];

            /// The contract's wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)+
                }
            }

            /// The kind named `name` (exactly), if there is one.
            pub fn parse(name: &str) -> Option<EventKind> {
                match name {
                    $($name => Some(EventKind::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    SessionStatus => "session.status",
    SessionQr => "session.qr",
    SessionAuthenticated => "session.authenticated",
    SessionDisconnected => "session.disconnected",
    SessionHistorySynced => "session.history_synced",
    MessageReceived => "message.received",
    MessageSent => "message.sent",
    MessageAck => "message.ack",
    MessageRevoked => "message.revoked",
    MessageEdited => "message.edited",
    MessageFailed => "message.failed",
    MessageMedia => "message.media",
    PollVote => "poll.vote",
    BatchProgress => "batch.progress",
    BatchCompleted => "batch.completed",
    BatchCancelled => "batch.cancelled",
    GroupJoin => "group.join",
    GroupLeave => "group.leave",
    GroupUpdate => "group.update",
    ChatState => "chat.state",
    ChatUpdate => "chat.update",
    LabelUpdate => "label.update",
    PresenceUpdate => "presence.update",
    CallReceived => "call.received",
    CallEnded => "call.ended",
    StatusReceived => "status.received",
    StatusRevoked => "status.revoked",
    WebhookDisabled => "webhook.disabled",
    WarmingMessage => "warming.message",
    WarmingPaused => "warming.paused",
    WarmingResumed => "warming.resumed",
    WarmingFinished => "warming.finished",
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownEvent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::parse(s).ok_or_else(|| UnknownEvent(s.to_string()))
    }
}

impl PartialEq<str> for EventKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A filter entry that names no event kind (nor a family of them).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event '{0}': use an event name (e.g. message.received), a family (e.g. message.*) or *"
)]
pub struct UnknownEvent(pub String);

/// Checks an events filter: each entry is `*`, a kind's exact name, or
/// `family.*` for a family that has kinds (`message.*`, `session.*`, …).
pub fn validate_filter(filter: &[String]) -> Result<(), UnknownEvent> {
    for entry in filter {
        let ok = entry == "*"
            || EventKind::parse(entry).is_some()
            || entry.strip_suffix('*').is_some_and(|prefix| {
                prefix.ends_with('.')
                    && EventKind::ALL
                        .iter()
                        .any(|k| k.as_str().starts_with(prefix))
            });
        if !ok {
            return Err(UnknownEvent(entry.clone()));
        }
    }
    Ok(())
}

/// Whether an events filter lets `event` through (`*` is every event,
/// `message.*` every event starting with `message.`).
pub fn filter_matches(filter: &[String], event: &str) -> bool {
    filter.iter().any(|f| {
        f == "*"
            || f == event
            || f.strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && event.starts_with(prefix))
    })
}

/// One event of the log: what the live broadcast, webhooks, WebSocket and
/// SSE carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the durable event log (commit order).
    pub seq: i64,
    pub session_id: String,
    /// The tenant that owns the session, so any consumer can scope it.
    pub tenant_id: String,
    pub event: EventKind,
    pub data: Value,
    /// Epoch milliseconds when the gateway observed it.
    pub created_at: i64,
}

impl Event {
    /// The contract's event object (`event`, `timestamp`, `sessionId`,
    /// `data`) plus `seq`.
    pub fn to_json(&self) -> Value {
        json!({
            "event": self.event.as_str(),
            "timestamp": crate::iso_ms(self.created_at),
            "sessionId": self.session_id,
            "seq": self.seq,
            "data": self.data,
        })
    }
}

wire_enum! {
    /// How one webhook delivery attempt ended.
    pub enum DeliveryOutcome {
        Delivered => "delivered",
        /// Failed, and another attempt is scheduled.
        Retrying => "retrying",
        /// Failed, and it was the last attempt.
        Failed => "failed",
    }
}

wire_enum! {
    /// Where an incoming message's file is (the `message.media` event).
    pub enum MediaStatus {
        Stored => "stored",
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                Value::String(k.as_str().into())
            );
        }
        assert_eq!(EventKind::parse("message.recieved"), None);
    }

    #[test]
    fn filters_are_validated() {
        let ok = |v: &[&str]| validate_filter(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["*"]).is_ok());
        assert!(ok(&["message.*", "session.status", "webhook.disabled"]).is_ok());
        assert_eq!(
            ok(&["message.received", "message.recieved"]),
            Err(UnknownEvent("message.recieved".into()))
        );
        assert!(ok(&["nothing.*"]).is_err());
        assert!(ok(&["message*"]).is_err());
        assert!(ok(&[""]).is_err());
    }

    #[test]
    fn filters_match() {
        let some = vec!["message.*".to_string(), "session.status".to_string()];
        assert!(filter_matches(&some, "message.ack"));
        assert!(filter_matches(&some, "session.status"));
        assert!(!filter_matches(&some, "session.qr"));
        assert!(filter_matches(&["*".to_string()], "batch.progress"));
    }
}

wire_enum! {
    /// The shape of a webhook's deliveries: the contract's, or that of a
    /// system wagate replaces (its receivers keep working unchanged).
    pub enum WebhookFormat {
        /// The contract's body and `X-OpenWA-*` / Standard Webhooks headers.
        Openwa => "openwa",
        /// Seed 002 (WAGO): incoming messages only, a flat
        /// `{chat_id, sender_id, text, kind, timestamp}` body, signed with
        /// `X-Wago-Signature` (hex HMAC-SHA256 of the body).
        Wago => "wago",
        /// Seed 000 (SUDEVWA): incoming messages only, its
        /// `{event: "incoming_message", timestamp, data: {instance_id, from,
        /// from_me, message, timestamp, is_group, message_id, push_name}}`,
        /// signed with `X-SUDEVWA-Signature` (hex HMAC-SHA256 of the body).
        Sudevwa => "sudevwa",
        /// Seed 003 (the multi-tenant microservice): `{type, session_id,
        /// timestamp, data}` with its event names (`message.received|sent|failed`,
        /// `session.connected|disconnected|qr_code`), headers
        /// `X-Webhook-Source`, `X-Webhook-Event`, `X-Webhook-Attempt`, and
        /// `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`.
        Microservice => "microservice",
    }
}

// `wire_enum!` derives a fixed list, without `Default`.
#[allow(clippy::derivable_impls)]
impl Default for WebhookFormat {
    fn default() -> Self {
        WebhookFormat::Openwa
    }
}

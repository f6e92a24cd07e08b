//! Warming rooms: the rules a room follows, with no I/O.
//!
//! A room joins a tenant's own sessions (or one session and a person) in a
//! conversation that runs for days before real traffic, so a fresh number
//! does not start life as a bulk sender. This module owns the vocabulary
//! (status, mode), the text renderer ([`render`]: spintax and variables),
//! the daily ramp-up budget ([`RampUp`]) and the active-hours window
//! ([`ActiveHours`]); the store keeps rooms, the engine drives them.

pub mod render;
pub mod schedule;

pub use render::{Variables, render, spintax};
pub use schedule::{ActiveHours, RampUp, parse_utc_offset};

use serde::{Deserialize, Serialize};

/// Where a room is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoomStatus {
    /// Created, not started.
    Draft,
    Running,
    /// Held, with a reason (by the operator, or automatically).
    Paused,
    /// The script (or message budget) ran out.
    Finished,
    /// Stopped by the operator for good.
    Stopped,
}

impl RoomStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Draft => "DRAFT",
            RoomStatus::Running => "RUNNING",
            RoomStatus::Paused => "PAUSED",
            RoomStatus::Finished => "FINISHED",
            RoomStatus::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<RoomStatus> {
        [
            RoomStatus::Draft,
            RoomStatus::Running,
            RoomStatus::Paused,
            RoomStatus::Finished,
            RoomStatus::Stopped,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether the operator may `start` a room in this status (a finished
    /// or stopped room starts over from its first line).
    pub fn can_start(self) -> bool {
        !matches!(self, RoomStatus::Running | RoomStatus::Paused)
    }
}

/// How a room's messages are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomMode {
    /// Ordered lines, each with its actor and a spintax text.
    Script,
    /// Each actor has a persona; an AI model writes the next message.
    Ai,
}

impl RoomMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomMode::Script => "script",
            RoomMode::Ai => "ai",
        }
    }

    pub fn parse(s: &str) -> Option<RoomMode> {
        match s {
            "script" => Some(RoomMode::Script),
            "ai" => Some(RoomMode::Ai),
            _ => None,
        }
    }
}

/// The idempotency key of a room's line in a round: the send queue keeps
/// one message per key, so a line is never sent twice.
pub fn line_key(room_id: &str, round: i64, line: i64) -> String {
    format!("warming-{room_id}-{round}-{line}")
}

/// Most lines a room may hold, and most actors.
pub const MAX_LINES: usize = 500;
pub const MAX_ACTORS: usize = 20;
/// Longest line text and persona, in characters.
pub const MAX_TEXT_CHARS: usize = 4_096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_modes_round_trip() {
        for s in ["DRAFT", "RUNNING", "PAUSED", "FINISHED", "STOPPED"] {
            assert_eq!(RoomStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(RoomStatus::parse("running").is_none());
        assert_eq!(RoomMode::parse("ai"), Some(RoomMode::Ai));
        assert!(!RoomStatus::Running.can_start());
        assert!(RoomStatus::Finished.can_start());
        assert_eq!(line_key("r1", 0, 3), "warming-r1-0-3");
    }
}

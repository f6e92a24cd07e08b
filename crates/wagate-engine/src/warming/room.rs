//! A room as the worker and the API read it: its participants (`Actor`),
//! the `Room` parsed from its store row (who talks to whom, how a line
//! renders), and the ids and rows of new rooms and lines.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use wagate_core::now_ms;
use wagate_core::warming::{RoomMode, RoomStatus, Variables};
use wagate_store::app::{WarmingLine, WarmingRoom};

use super::RoomSettings;
use crate::error::EngineError;

/// One participant of a room: one of the tenant's sessions, or a person
/// (an external number) in a human-vs-bot room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// How lines name it (`A`, `B`, …).
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// A person's number (digits).
    #[serde(default)]
    pub phone: Option<String>,
    /// AI mode: who this actor is.
    #[serde(default)]
    pub persona: Option<String>,
}

impl Actor {
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.id.clone())
    }

    pub fn is_human(&self) -> bool {
        self.session_id.is_none()
    }
}

/// A room as the worker and the API read it.
#[derive(Clone, Debug)]
pub struct Room {
    pub record: WarmingRoom,
    pub mode: RoomMode,
    pub status: RoomStatus,
    pub actors: Vec<Actor>,
    pub settings: RoomSettings,
}

impl Room {
    pub fn from_record(record: WarmingRoom) -> Result<Room, EngineError> {
        let bad = |e: String| EngineError::Engine(format!("room {}: {e}", record.id));
        Ok(Room {
            mode: RoomMode::parse(&record.mode).ok_or_else(|| bad("unknown mode".into()))?,
            status: RoomStatus::parse(&record.status)
                .ok_or_else(|| bad("unknown status".into()))?,
            actors: serde_json::from_str(&record.actors).map_err(|e| bad(e.to_string()))?,
            settings: serde_json::from_str(&record.settings).map_err(|e| bad(e.to_string()))?,
            record,
        })
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn actor(&self, id: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.id == id)
    }

    /// Who `speaker` talks to: the next actor in the list.
    pub fn partner_of(&self, speaker: &str) -> Option<&Actor> {
        let i = self.actors.iter().position(|a| a.id == speaker)?;
        let n = self.actors.len();
        (1..n).map(|k| &self.actors[(i + k) % n]).next()
    }

    pub fn has_human(&self) -> bool {
        self.actors.iter().any(Actor::is_human)
    }

    /// The first session actor (whose log carries room-wide events).
    pub fn anchor_session(&self) -> Option<&str> {
        self.actors.iter().find_map(|a| a.session_id.as_deref())
    }

    /// A line's text, rendered for (`round`, `line`): the same line of the
    /// same round renders the same way (its variant is seeded by them).
    pub fn render_line(&self, text: &str, speaker: &Actor, round: i64, line: i64) -> String {
        let other = self
            .partner_of(&speaker.id)
            .map(Actor::display_name)
            .unwrap_or_default();
        let vars = Variables {
            now_ms: now_ms(),
            utc_offset_minutes: self.settings.utc_offset().unwrap_or(0),
            name: speaker.display_name(),
            other_name: other,
        };
        let seed = seed_of(self.id(), round, line);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        wagate_core::warming::render(text, &vars, &mut rng)
    }
}

fn seed_of(room: &str, round: i64, line: i64) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(room.as_bytes());
    h.update(round.to_be_bytes());
    h.update(line.to_be_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// New ids.
pub fn new_room_id() -> String {
    format!("room_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

pub fn new_line_id() -> String {
    format!("line_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// A line as stored.
pub fn line(room_id: &str, seq: i64, actor: &str, text: &str) -> WarmingLine {
    WarmingLine {
        id: new_line_id(),
        room_id: room_id.to_string(),
        seq,
        actor: actor.to_string(),
        text: text.to_string(),
    }
}

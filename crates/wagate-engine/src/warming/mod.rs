//! Warming rooms, driven: the worker that makes a room's sessions talk
//! (through the send queue's `warming` lane), the AI providers that write
//! AI rooms' messages, auto-replies to a person in a human-vs-bot room, and
//! the operator's actions (start, pause, resume, stop, preview).
//!
//! - [`config`]: `WARMING_*` and `AI_*` settings;
//! - [`ai`]: OpenAI-compatible and Gemini clients;
//! - [`worker`]: one step of a room at a time, under a lease;
//! - [`autoreply`]: answers to a person who writes to a warming session;
//! - [`events`]: the event names.
//!
//! The rules that need no I/O (status, spintax, ramp-up) live in
//! `wagate_core::warming`; rooms are rows in the store.

pub mod ai;
pub mod autoreply;
pub mod config;
pub mod events;
pub mod worker;

use std::sync::Arc;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wagate_core::warming::{ActiveHours, RampUp, RoomMode, RoomStatus, Variables};
use wagate_core::{ChatId, now_ms};
use wagate_store::app::{WarmingLine, WarmingRoom};

use crate::error::EngineError;
use crate::manager::SessionManager;
pub use config::{Provider, WarmingConfig};

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

/// A room's AI settings; each left out takes the deployment's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Write-only: stored, used, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// How a room runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSettings {
    #[serde(default = "default_interval_min")]
    pub interval_min_secs: u64,
    #[serde(default = "default_interval_max")]
    pub interval_max_secs: u64,
    /// At the end of the script, start over (else finish).
    #[serde(default, rename = "loop")]
    pub loop_script: bool,
    /// The room's clock: `+07:00`, `UTC`, ….
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub active_hours: Option<ActiveHours>,
    /// Resume by itself when every member session is connected again.
    #[serde(default = "yes")]
    pub auto_resume: bool,
    /// Render and record, send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A daily message budget per session (none: no budget).
    #[serde(default)]
    pub ramp_up: Option<RampUp>,
    /// AI mode: messages before the room finishes (default 20).
    #[serde(default)]
    pub max_messages: Option<u32>,
    #[serde(default)]
    pub ai: AiSettings,
}

fn default_interval_min() -> u64 {
    30
}
fn default_interval_max() -> u64 {
    120
}
fn default_timezone() -> String {
    "UTC".into()
}
fn yes() -> bool {
    true
}

impl Default for RoomSettings {
    fn default() -> Self {
        serde_json::from_value(json!({})).expect("defaults")
    }
}

impl RoomSettings {
    /// Checks bounds; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval_min_secs < 1 || self.interval_min_secs > 86_400 {
            return Err("intervalMinSecs must be between 1 and 86400".into());
        }
        if self.interval_max_secs < self.interval_min_secs || self.interval_max_secs > 86_400 {
            return Err("intervalMaxSecs must be between intervalMinSecs and 86400".into());
        }
        if self.utc_offset().is_none() {
            return Err("timezone must be a UTC offset like +07:00 or UTC".into());
        }
        if let Some(h) = &self.active_hours
            && !h.is_valid()
        {
            return Err("activeHours must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}".into());
        }
        if let Some(r) = &self.ramp_up
            && (r.start == 0 || r.max < r.start)
        {
            return Err("rampUp needs start ≥ 1 and max ≥ start".into());
        }
        if let Some(p) = &self.ai.provider
            && Provider::parse(p).is_none()
        {
            return Err("ai.provider must be openai or gemini".into());
        }
        if let Some(t) = self.ai.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err("ai.temperature must be between 0 and 2".into());
        }
        if self.ai.max_tokens.is_some_and(|t| t == 0 || t > 8192) {
            return Err("ai.maxTokens must be between 1 and 8192".into());
        }
        if self.max_messages.is_some_and(|m| m > 100_000) {
            return Err("maxMessages must be at most 100000".into());
        }
        Ok(())
    }

    pub fn utc_offset(&self) -> Option<i32> {
        wagate_core::warming::parse_utc_offset(&self.timezone)
    }

    /// A random wait between two lines, in ms.
    pub fn pick_interval_ms(&self) -> i64 {
        let (lo, hi) = (self.interval_min_secs * 1000, self.interval_max_secs * 1000);
        rand::random_range(lo..=hi.max(lo)) as i64
    }

    /// The settings as the API shows them (the key left out).
    pub fn public(&self) -> Value {
        let mut s = self.clone();
        let has_key = s.ai.api_key.take().is_some();
        let mut v = serde_json::to_value(s).unwrap_or_default();
        v["ai"]["hasApiKey"] = json!(has_key);
        v
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

/// One message of a preview.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewMessage {
    pub line: i64,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub text: String,
}

/// The warming service: what the API calls and what the worker runs.
pub struct Warming {
    pub(crate) manager: Arc<SessionManager>,
    pub(crate) config: WarmingConfig,
    pub(crate) ai: ai::Ai,
    /// This process's name in room leases.
    pub(crate) owner: String,
    pub(crate) replies: autoreply::Cooldowns,
}

impl Warming {
    pub fn new(manager: Arc<SessionManager>, config: WarmingConfig) -> Arc<Warming> {
        Arc::new(Warming {
            manager,
            ai: ai::Ai::new(config.ai.clone()),
            config,
            owner: format!("node_{}", uuid::Uuid::new_v4().simple()),
            replies: Default::default(),
        })
    }

    pub fn config(&self) -> &WarmingConfig {
        &self.config
    }

    /// Starts the worker and the auto-replier, as configured.
    pub fn start(self: &Arc<Self>) {
        if self.config.worker_enabled {
            let me = self.clone();
            tokio::spawn(async move { me.run_worker().await });
        }
        if self.config.auto_reply_enabled {
            let me = self.clone();
            tokio::spawn(async move { me.run_auto_replies().await });
        }
    }

    pub async fn room(&self, id: &str) -> Result<Room, EngineError> {
        let record = self
            .manager
            .store()
            .get_warming_room(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no warming room '{id}'")))?;
        Room::from_record(record)
    }

    /// `start`: from DRAFT, FINISHED or STOPPED; a room that ran before
    /// starts over at its first line (in a new round).
    pub async fn start_room(&self, room: &Room) -> Result<(), EngineError> {
        self.check_startable(room).await?;
        let moved = self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["DRAFT", "FINISHED", "STOPPED"],
                "RUNNING",
                None,
                false,
                room.status != RoomStatus::Draft,
            )
            .await?;
        if !moved {
            return Err(EngineError::Conflict(format!(
                "the room is {}; pause, resume or stop it instead",
                room.status.as_str()
            )));
        }
        Ok(())
    }

    async fn check_startable(&self, room: &Room) -> Result<(), EngineError> {
        if room.mode == RoomMode::Script {
            let lines = self.manager.store().warming_lines(room.id()).await?;
            if lines.is_empty() {
                return Err(EngineError::Invalid("the room has no lines to say".into()));
            }
        }
        Ok(())
    }

    pub async fn pause_room(&self, room: &Room, reason: Option<&str>) -> Result<(), EngineError> {
        let reason = reason.unwrap_or("paused by the operator");
        if !self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["RUNNING", "PAUSED"],
                "PAUSED",
                Some(reason),
                false,
                false,
            )
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "only a running room can be paused (it is {})",
                room.status.as_str()
            )));
        }
        self.announce(
            room,
            events::PAUSED,
            json!({ "reason": reason, "auto": false }),
        )
        .await;
        Ok(())
    }

    pub async fn resume_room(&self, room: &Room) -> Result<(), EngineError> {
        if !self
            .manager
            .store()
            .set_warming_status(room.id(), &["PAUSED"], "RUNNING", None, false, false)
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "only a paused room can be resumed (it is {})",
                room.status.as_str()
            )));
        }
        self.announce(room, events::RESUMED, json!({ "auto": false }))
            .await;
        Ok(())
    }

    pub async fn stop_room(&self, room: &Room) -> Result<(), EngineError> {
        if !self
            .manager
            .store()
            .set_warming_status(
                room.id(),
                &["RUNNING", "PAUSED", "DRAFT"],
                "STOPPED",
                None,
                false,
                false,
            )
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "the room is already {}",
                room.status.as_str()
            )));
        }
        Ok(())
    }

    /// Renders the conversation (spintax resolved, variables filled, AI
    /// written) without sending or recording anything; `limit` messages at
    /// most.
    pub async fn preview(
        &self,
        room: &Room,
        limit: usize,
    ) -> Result<Vec<PreviewMessage>, EngineError> {
        let mut out = Vec::new();
        match room.mode {
            RoomMode::Script => {
                let lines = self.manager.store().warming_lines(room.id()).await?;
                for (i, l) in lines.iter().enumerate().take(limit) {
                    let Some(speaker) = room.actor(&l.actor) else {
                        continue;
                    };
                    let to = room
                        .partner_of(&speaker.id)
                        .map(Actor::display_name)
                        .unwrap_or_default();
                    out.push(PreviewMessage {
                        line: i as i64,
                        actor: speaker.id.clone(),
                        from: speaker.display_name(),
                        to,
                        text: room.render_line(&l.text, speaker, room.record.round + 1, i as i64),
                    });
                }
            }
            RoomMode::Ai => {
                let mut history: Vec<(String, String)> = Vec::new();
                let n = room.actors.len().max(1);
                for i in 0..limit {
                    let speaker = &room.actors[i % n];
                    let prompt = self.prompt(room, speaker, &history)?;
                    let text = self
                        .ai
                        .generate(room.id(), &prompt)
                        .await
                        .map_err(|e| EngineError::Conflict(e.to_string()))?;
                    history.push((speaker.id.clone(), text.clone()));
                    out.push(PreviewMessage {
                        line: i as i64,
                        actor: speaker.id.clone(),
                        from: speaker.display_name(),
                        to: room
                            .partner_of(&speaker.id)
                            .map(Actor::display_name)
                            .unwrap_or_default(),
                        text,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The AI request for `speaker`'s next message after `history`
    /// (actor id, text; oldest first).
    pub(crate) fn prompt(
        &self,
        room: &Room,
        speaker: &Actor,
        history: &[(String, String)],
    ) -> Result<ai::Prompt, EngineError> {
        let defaults = &self.config.ai;
        let s = &room.settings.ai;
        let provider = s
            .provider
            .as_deref()
            .and_then(Provider::parse)
            .unwrap_or(defaults.default_provider);
        let model = s.model.clone().unwrap_or_else(|| match provider {
            Provider::OpenAi => defaults.openai_model.clone(),
            Provider::Gemini => defaults.gemini_model.clone(),
        });
        let partner = room
            .partner_of(&speaker.id)
            .map(Actor::display_name)
            .unwrap_or_else(|| "a friend".into());
        let persona = speaker
            .persona
            .clone()
            .unwrap_or_else(|| "a friendly person".into());
        let system = format!(
            "You are {}, {persona}. You are chatting on WhatsApp with {partner}. \
             Write only your next message: short, casual, natural, no quotes.",
            speaker.display_name()
        );
        let start = history.len().saturating_sub(defaults.history_limit);
        let history = history[start..]
            .iter()
            .map(|(actor, text)| {
                if *actor == speaker.id {
                    ai::Turn::Own(text.clone())
                } else {
                    ai::Turn::Other(text.clone())
                }
            })
            .collect();
        Ok(ai::Prompt {
            provider,
            model,
            temperature: s.temperature.unwrap_or(defaults.temperature),
            max_tokens: s.max_tokens.unwrap_or(defaults.max_tokens),
            api_key: s.api_key.clone(),
            system,
            history,
        })
    }

    /// Appends a room-wide event to the log (under the room's first
    /// session).
    pub(crate) async fn announce(
        &self,
        room: &Room,
        event: wagate_core::EventKind,
        mut data: Value,
    ) {
        let Some(session) = room.anchor_session() else {
            return;
        };
        data["roomId"] = json!(room.id());
        data["roomName"] = json!(room.record.name);
        if let Err(e) = self
            .manager
            .publish(session, &room.record.tenant_id, event, data)
            .await
        {
            tracing::warn!(room = room.id(), "could not record {event}: {e}");
        }
    }

    /// The chat of an actor (a session's own number, or a person's).
    pub(crate) async fn chat_of(&self, actor: &Actor) -> Option<ChatId> {
        let phone = match (&actor.session_id, &actor.phone) {
            (Some(s), _) => self.manager.get(s).await.ok()?.live().phone,
            (None, Some(p)) => Some(p.clone()),
            _ => None,
        }?;
        ChatId::parse(&phone).ok()
    }
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

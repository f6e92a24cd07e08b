//! Warming rooms, driven: the worker that makes a room's sessions talk
//! (through the send queue's `warming` lane), the AI providers that write
//! AI rooms' messages, auto-replies to a person in a human-vs-bot room, and
//! the operator's actions (start, pause, resume, stop, preview).
//!
//! - [`config`]: `WARMING_*` and `AI_*` settings;
//! - `settings`: a room's own settings (intervals, hours, ramp-up, AI);
//! - `room`: a room and its actors as read from the store; new ids/lines;
//! - `control`: start, pause, resume, stop;
//! - `preview`: the conversation rendered without sending;
//! - `prompt`: the AI request for a speaker's next message;
//! - [`ai`]: OpenAI-compatible and Gemini clients;
//! - [`worker`]: one step of a room at a time, under a lease;
//! - [`autoreply`]: answers to a person who writes to a warming session;
//! - [`events`]: the event names.
//!
//! This file holds the `Warming` service itself: its parts, how it starts,
//! and the helpers the others share (loading a room, announcing an event,
//! an actor's chat).
//!
//! The rules that need no I/O (status, spintax, ramp-up) live in
//! `wagate_core::warming`; rooms are rows in the store.

pub mod ai;
pub mod autoreply;
pub mod config;
mod control;
pub mod events;
mod preview;
mod prompt;
mod room;
mod settings;
pub mod worker;

use std::sync::Arc;

use serde_json::{Value, json};
use wagate_core::ChatId;

use crate::error::EngineError;
use crate::manager::SessionManager;
pub use config::{Provider, WarmingConfig};
pub use preview::PreviewMessage;
pub use room::{Actor, Room, line, new_line_id, new_room_id};
pub use settings::{AiSettings, RoomSettings};

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

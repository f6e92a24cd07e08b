//! Auto-replies (`WARMING_AUTO_REPLY_ENABLED`): when a person writes to a
//! session in a running human-vs-bot AI room, the AI answers after a random
//! `DEFAULT_REPLY_DELAY_MIN..MAX` seconds, at most once per
//! `WARMING_AUTO_REPLY_COOLDOWN` per room. The person's message and the
//! answer join the room's history; the answer goes through the send queue
//! like every warming line (the worker confirms it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;
use tracing::warn;
use wagate_core::warming::{RoomMode, RoomStatus};
use wagate_core::{ChatId, now_ms};
use wagate_store::app::WarmingMessage;

use super::{Room, Warming};
use crate::error::EngineError;

/// When each room last took a message to answer.
#[derive(Default)]
pub struct Cooldowns(Mutex<HashMap<String, Instant>>);

impl Cooldowns {
    /// Whether `room` may answer now (and, if so, starts its cooldown).
    fn take(&self, room: &str, cooldown: Duration) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, t| t.elapsed() < cooldown);
        }
        match map.get(room) {
            Some(t) if t.elapsed() < cooldown => false,
            _ => {
                map.insert(room.to_string(), Instant::now());
                true
            }
        }
    }
}

impl Warming {
    pub(crate) async fn run_auto_replies(self: Arc<Self>) {
        let mut events = self.manager.subscribe();
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    warn!("warming auto-reply missed {n} live events");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if event.event != wagate_core::EventKind::MessageReceived
                || event.data["isGroup"] == true
                || event.data["fromMe"] == true
            {
                continue;
            }
            let Some(text) = event.data["body"].as_str().filter(|t| !t.is_empty()) else {
                continue;
            };
            let from = event.data["from"].as_str().unwrap_or_default();
            let from_digits: String = from.split('@').next().unwrap_or_default().to_string();
            match self.human_room(&event.session_id, &from_digits).await {
                Ok(Some(room)) => {
                    if !self
                        .replies
                        .take(room.id(), self.config.auto_reply_cooldown)
                    {
                        continue;
                    }
                    let me = self.clone();
                    let text = text.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = me.answer(room, &text).await {
                            warn!("warming auto-reply failed: {e}");
                        }
                    });
                }
                Ok(None) => {}
                Err(e) => warn!("warming auto-reply: {e}"),
            }
        }
    }

    /// The running AI room where `session_id` talks with the person `phone`.
    async fn human_room(&self, session_id: &str, phone: &str) -> Result<Option<Room>, EngineError> {
        let records = self.manager.store().list_warming_rooms(None).await?;
        for r in records
            .into_iter()
            .filter(|r| r.status == "RUNNING" && r.mode == "ai")
        {
            let Ok(room) = Room::from_record(r) else {
                continue;
            };
            let bot = room
                .actors
                .iter()
                .any(|a| a.session_id.as_deref() == Some(session_id));
            let person = room.actors.iter().any(|a| {
                a.phone
                    .as_deref()
                    .is_some_and(|p| p.trim_start_matches('+') == phone)
            });
            if bot && person {
                return Ok(Some(room));
            }
        }
        Ok(None)
    }

    /// Waits the reply delay, then records the person's message and says
    /// the AI's answer.
    async fn answer(&self, room: Room, text: &str) -> Result<(), EngineError> {
        let (lo, hi) = (self.config.reply_delay_min, self.config.reply_delay_max);
        let delay = rand::random_range(lo.as_millis()..=hi.as_millis().max(lo.as_millis()));
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        let store = self.manager.store();
        // Take the room for the answer (the worker waits meanwhile).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = now_ms();
            if store
                .claim_warming_room(room.id(), &self.owner, now, now + 60_000)
                .await?
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(EngineError::Conflict("room is busy".into()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let result = self.answer_claimed(room.id(), text).await;
        store.release_warming_room(room.id(), &self.owner).await?;
        result
    }

    async fn answer_claimed(&self, room_id: &str, text: &str) -> Result<(), EngineError> {
        let room = self.room(room_id).await?;
        if room.status != RoomStatus::Running || room.mode != RoomMode::Ai {
            return Ok(());
        }
        let (Some(person), Some(bot)) = (
            room.actors.iter().find(|a| a.is_human()).cloned(),
            room.actors.iter().find(|a| !a.is_human()).cloned(),
        ) else {
            return Ok(());
        };
        let store = self.manager.store();
        let (round, position) = (room.record.round, room.record.position);
        let chat = ChatId::parse(person.phone.as_deref().unwrap_or_default())
            .map_err(|e| EngineError::Invalid(e.0))?;
        let now = now_ms();
        store
            .insert_warming_message(&WarmingMessage {
                id: format!("wm_{}", uuid::Uuid::now_v7().simple()),
                room_id: room.id().to_string(),
                round,
                line: position,
                actor: person.id.clone(),
                from_session: None,
                to_session: bot.session_id.clone(),
                to_chat: chat.jid(),
                text: text.to_string(),
                status: "RECEIVED".into(),
                queue_id: None,
                error: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        store
            .advance_warming_room(room.id(), round, position + 1, now)
            .await?;
        let room = self.room(room_id).await?;
        let answer = match self.ai_text_for(&room, &bot).await {
            Ok(t) => t,
            Err(reason) => {
                store
                    .set_warming_status(
                        room.id(),
                        &["RUNNING"],
                        "PAUSED",
                        Some(&reason),
                        false,
                        false,
                    )
                    .await?;
                self.announce(
                    &room,
                    super::events::PAUSED,
                    serde_json::json!({ "reason": reason, "auto": false }),
                )
                .await;
                return Ok(());
            }
        };
        self.say(&room, &bot, round, position + 1, &answer).await
    }
}

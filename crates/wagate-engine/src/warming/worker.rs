//! The warming worker: every `WARMING_WORKER_INTERVAL_SECONDS` it takes the
//! rooms that are due, claims each with a lease (so one worker drives a room
//! even when several processes share the database) and moves it one step.
//!
//! A step is one of: pause (a member left CONNECTED) or resume; confirm the
//! line in flight (`warming.message` SUCCESS/FAILED when its queue row is
//! final, then wait a random interval); wait for active hours or the day's
//! ramp-up budget; finish or loop at the end; or say the next line. A line
//! is recorded (text fixed) before it is queued under the key
//! `warming-<room>-<round>-<line>`, and the room's position moves on only
//! after the queue took it: after a crash the same line is queued again
//! under the same key, which the queue answers with the first message.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tracing::{debug, warn};
use wagate_core::warming::{RampUp, RoomMode, RoomStatus, line_key};
use wagate_core::{ChatId, QueueStatus, SessionStatus, now_ms};
use wagate_store::app::WarmingMessage;

use super::{Actor, Room, Warming, events};
use crate::error::EngineError;
use crate::queue::{Lane, SendJob, Submit};

/// How long a claimed room stays ours without renewal.
const LEASE: Duration = Duration::from_secs(60);
/// How often a line in flight is checked.
const IN_FLIGHT_POLL_MS: i64 = 300;
/// Rooms stepped per tick.
const BATCH: i64 = 100;

impl Warming {
    pub(crate) async fn run_worker(self: Arc<Self>) {
        let every = self.config.worker_interval;
        // The line in flight is checked more often than the tick: the room
        // sets its own `next_at`, so the loop wakes at least every 300 ms.
        let tick = every.min(Duration::from_millis(IN_FLIGHT_POLL_MS as u64));
        let mut last_full = tokio::time::Instant::now() - every;
        loop {
            let now = now_ms();
            let full = last_full.elapsed() >= every;
            if full {
                last_full = tokio::time::Instant::now();
            }
            match self.manager.store().due_warming_rooms(now, BATCH).await {
                Ok(ids) => {
                    for id in ids {
                        self.step_claimed(&id, full).await;
                    }
                }
                Err(e) => warn!("warming: {e}"),
            }
            tokio::time::sleep(tick).await;
        }
    }

    async fn step_claimed(&self, id: &str, full: bool) {
        let store = self.manager.store();
        let now = now_ms();
        match store
            .claim_warming_room(id, &self.owner, now, now + LEASE.as_millis() as i64)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                warn!(room = id, "warming: {e}");
                return;
            }
        }
        let result = match self.room(id).await {
            Ok(room) if room.status == RoomStatus::Paused && !full => Ok(()),
            Ok(room) => self.step(&room).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            warn!(room = id, "warming step failed: {e}");
        }
        if let Err(e) = store.release_warming_room(id, &self.owner).await {
            warn!(room = id, "warming: {e}");
        }
    }

    /// Moves a room one step.
    pub(crate) async fn step(&self, room: &Room) -> Result<(), EngineError> {
        let store = self.manager.store();
        // 1. Every member session connected? Else pause (or stay paused).
        let absent = self.absent_member(room).await;
        match (room.status, &absent) {
            (RoomStatus::Paused, None) if room.record.pause_auto && room.settings.auto_resume => {
                if store
                    .set_warming_status(room.id(), &["PAUSED"], "RUNNING", None, false, false)
                    .await?
                {
                    self.announce(room, events::RESUMED, json!({ "auto": true }))
                        .await;
                }
                return Ok(());
            }
            (RoomStatus::Paused, _) => return Ok(()),
            (_, Some(reason)) if !room.settings.dry_run => {
                self.pause(room, reason, true).await?;
                return Ok(());
            }
            _ => {}
        }
        // 2. A line in flight: confirm it, then wait the interval.
        let (round, position) = (room.record.round, room.record.position);
        if position > 0
            && let Some(last) = store
                .warming_message_at(room.id(), round, position - 1)
                .await?
            && last.status == "QUEUED"
        {
            return self.confirm(room, &last).await;
        }
        // 3. Which line is next?
        let now = now_ms();
        let offset = room.settings.utc_offset().unwrap_or(0);
        if let Some(hours) = &room.settings.active_hours {
            let open = hours.next_open(now, offset);
            if open > now {
                store
                    .advance_warming_room(room.id(), round, position, open)
                    .await?;
                return Ok(());
            }
        }
        let Some((speaker, template)) = self.next_line(room, position).await? else {
            return self.end_of_script(room).await;
        };
        if speaker.is_human() {
            // A person speaks for themselves: script lines are skipped; in an
            // AI room the auto-replier answers what they write.
            if room.mode == RoomMode::Script {
                store
                    .advance_warming_room(room.id(), round, position + 1, now)
                    .await?;
            } else {
                store
                    .advance_warming_room(room.id(), round, position, now + 30_000)
                    .await?;
            }
            return Ok(());
        }
        if let Some(wait_until) = self.over_budget(room, &speaker, now, offset).await? {
            store
                .advance_warming_room(room.id(), round, position, wait_until)
                .await?;
            return Ok(());
        }
        // 4. Say it.
        let text = match store.warming_message_at(room.id(), round, position).await? {
            Some(m) => m.text,
            None => match template {
                Some(t) => room.render_line(&t, &speaker, round, position),
                None => match self.ai_text(room, &speaker).await {
                    Ok(t) => t,
                    Err(reason) => {
                        self.pause(room, &reason, false).await?;
                        return Ok(());
                    }
                },
            },
        };
        self.say(room, &speaker, round, position, &text).await
    }

    /// The reason a room cannot speak, if a member session is not connected.
    async fn absent_member(&self, room: &Room) -> Option<String> {
        for a in &room.actors {
            let Some(sid) = &a.session_id else { continue };
            let session = match self.manager.get(sid).await {
                Ok(s) => s,
                Err(_) => return Some(format!("session {sid} no longer exists")),
            };
            let live = session.live();
            if live.status != SessionStatus::Ready {
                let why = live
                    .reason
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default();
                return Some(format!("session {sid} is {}{why}", live.status.api()));
            }
        }
        None
    }

    async fn pause(&self, room: &Room, reason: &str, auto: bool) -> Result<(), EngineError> {
        if self
            .manager
            .store()
            .set_warming_status(room.id(), &["RUNNING"], "PAUSED", Some(reason), auto, false)
            .await?
        {
            debug!(room = room.id(), "warming room paused: {reason}");
            self.announce(
                room,
                events::PAUSED,
                json!({ "reason": reason, "auto": auto }),
            )
            .await;
        }
        Ok(())
    }

    /// The speaker and the template (script) of position `position`;
    /// `None` at the end. AI rooms have no template.
    async fn next_line(
        &self,
        room: &Room,
        position: i64,
    ) -> Result<Option<(Actor, Option<String>)>, EngineError> {
        match room.mode {
            RoomMode::Script => {
                let lines = self.manager.store().warming_lines(room.id()).await?;
                let Some(line) = lines.get(position as usize) else {
                    return Ok(None);
                };
                Ok(room
                    .actor(&line.actor)
                    .map(|a| (a.clone(), Some(line.text.clone()))))
            }
            RoomMode::Ai => {
                let max = i64::from(room.settings.max_messages.unwrap_or(20));
                if position >= max || room.actors.is_empty() {
                    return Ok(None);
                }
                let speaker = &room.actors[position as usize % room.actors.len()];
                Ok(Some((speaker.clone(), None)))
            }
        }
    }

    async fn end_of_script(&self, room: &Room) -> Result<(), EngineError> {
        let store = self.manager.store();
        if room.settings.loop_script && room.mode == RoomMode::Script {
            store
                .advance_warming_room(room.id(), room.record.round + 1, 0, now_ms())
                .await?;
            return Ok(());
        }
        if store
            .set_warming_status(room.id(), &["RUNNING"], "FINISHED", None, false, false)
            .await?
        {
            self.announce(
                room,
                events::FINISHED,
                json!({ "round": room.record.round, "messages": room.record.position }),
            )
            .await;
        }
        Ok(())
    }

    /// When the speaker's ramp-up budget for today is spent: when it may
    /// speak again (the next day on the room's clock).
    async fn over_budget(
        &self,
        room: &Room,
        speaker: &Actor,
        now: i64,
        offset: i32,
    ) -> Result<Option<i64>, EngineError> {
        let (Some(plan), Some(sid)) = (room.settings.ramp_up, &speaker.session_id) else {
            return Ok(None);
        };
        let began = room.record.started_at.unwrap_or(room.record.created_at);
        let day = RampUp::day_of(began, now, offset);
        let (day_start, day_end) = RampUp::day_bounds(now, offset);
        let sent = self
            .manager
            .store()
            .warming_sent_since(sid, day_start)
            .await?;
        Ok((sent >= i64::from(plan.budget(day))).then_some(day_end))
    }

    /// The AI's next message for `speaker`, or the reason it failed.
    pub(crate) async fn ai_text_for(&self, room: &Room, speaker: &Actor) -> Result<String, String> {
        self.ai_text(room, speaker).await
    }

    async fn ai_text(&self, room: &Room, speaker: &Actor) -> Result<String, String> {
        let limit = self.config.ai.history_limit as i64;
        let history: Vec<(String, String)> = self
            .manager
            .store()
            .warming_messages(room.id(), limit)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|m| m.status != "FAILED")
            .map(|m| (m.actor, m.text))
            .collect();
        let prompt = self
            .prompt(room, speaker, &history)
            .map_err(|e| e.to_string())?;
        self.ai
            .generate(room.id(), &prompt)
            .await
            .map_err(|e| e.to_string())
    }

    /// Records the line, queues it (or, in a dry run, only records it) and
    /// moves the room on.
    pub(crate) async fn say(
        &self,
        room: &Room,
        speaker: &Actor,
        round: i64,
        position: i64,
        text: &str,
    ) -> Result<(), EngineError> {
        let store = self.manager.store();
        let partner = room.partner_of(&speaker.id).cloned();
        let to_chat = match &partner {
            Some(p) => self.chat_of(p).await,
            None => None,
        };
        let Some(to_chat) = to_chat.or_else(|| {
            room.settings
                .dry_run
                .then(|| ChatId::parse("0000000").ok())
                .flatten()
        }) else {
            return self
                .pause(room, "the other actor has no number yet", true)
                .await;
        };
        let now = now_ms();
        let row = store
            .insert_warming_message(&WarmingMessage {
                id: format!("wm_{}", uuid::Uuid::now_v7().simple()),
                room_id: room.id().to_string(),
                round,
                line: position,
                actor: speaker.id.clone(),
                from_session: speaker.session_id.clone(),
                to_session: partner.as_ref().and_then(|p| p.session_id.clone()),
                to_chat: to_chat.jid(),
                text: text.to_string(),
                status: "PENDING".into(),
                queue_id: None,
                error: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        if room.settings.dry_run {
            store
                .set_warming_message_status(&row.id, "SIMULATED", None, None)
                .await?;
            self.message_event(room, &row, "SIMULATED", None).await;
            store
                .advance_warming_room(room.id(), round, position + 1, now)
                .await?;
            return Ok(());
        }
        let sid = speaker.session_id.as_deref().unwrap_or_default();
        let session = self.manager.get(sid).await?;
        // Read what the other side said before answering, like a person.
        let _ = session.mark_read(&to_chat, None).await;
        let submitted = self
            .manager
            .queue()
            .submit(
                &session,
                Submit {
                    waited_for: false,
                    chat: to_chat,
                    job: SendJob::Text {
                        text: row.text.clone(),
                        quoted: None,
                        mentions: vec![],
                        simulate_typing: true,
                    },
                    lane: Lane::Warming,
                    idempotency_key: Some(line_key(room.id(), round, position)),
                },
            )
            .await;
        match submitted {
            Ok(s) => {
                store
                    .set_warming_message_status(&row.id, "QUEUED", Some(&s.record().id), None)
                    .await?;
                store
                    .advance_warming_room(room.id(), round, position + 1, now + IN_FLIGHT_POLL_MS)
                    .await?;
            }
            Err(e) => {
                let reason = format!("could not queue line {position}: {e}");
                store
                    .set_warming_message_status(&row.id, "FAILED", None, Some(&reason))
                    .await?;
                self.message_event(room, &row, "FAILED", Some(&reason))
                    .await;
                self.pause(room, &reason, false).await?;
            }
        }
        Ok(())
    }

    /// Checks the line in flight: once its queue row is final, records and
    /// announces the outcome and schedules the next line after a random
    /// interval from when it was sent.
    async fn confirm(&self, room: &Room, m: &WarmingMessage) -> Result<(), EngineError> {
        let store = self.manager.store();
        let (round, position) = (room.record.round, room.record.position);
        let Some(qid) = &m.queue_id else {
            return Ok(());
        };
        let Some(q) = store.get_queued(qid).await? else {
            return Ok(());
        };
        if !q.is_final() {
            store
                .advance_warming_room(room.id(), round, position, now_ms() + IN_FLIGHT_POLL_MS)
                .await?;
            return Ok(());
        }
        let (status, error) = if q.status == QueueStatus::Sent {
            ("SUCCESS", None)
        } else {
            (
                "FAILED",
                q.error_message.clone().or(Some(q.status.to_string())),
            )
        };
        store
            .set_warming_message_status(&m.id, status, None, error.as_deref())
            .await?;
        let mut m = m.clone();
        m.queue_id = Some(q.message_id());
        self.message_event(room, &m, status, error.as_deref()).await;
        let after = q.sent_at.unwrap_or_else(now_ms) + room.settings.pick_interval_ms();
        store
            .advance_warming_room(room.id(), round, position, after)
            .await?;
        Ok(())
    }

    async fn message_event(
        &self,
        room: &Room,
        m: &WarmingMessage,
        status: &str,
        error: Option<&str>,
    ) {
        let Some(from) = m.from_session.as_deref() else {
            return;
        };
        let data = json!({
            "roomId": room.id(),
            "roomName": room.record.name,
            "status": status,
            "round": m.round,
            "line": m.line,
            "actor": m.actor,
            "from": from,
            "to": ChatId::api_from_jid(&m.to_chat),
            "toSession": m.to_session,
            "text": m.text,
            "messageId": m.queue_id,
            "dryRun": status == "SIMULATED",
            "error": error,
        });
        if let Err(e) = self
            .manager
            .publish(from, &room.record.tenant_id, events::MESSAGE, data)
            .await
        {
            warn!(room = room.id(), "could not record warming.message: {e}");
        }
    }
}

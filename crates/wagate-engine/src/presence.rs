//! Presence and chat state: announce this session as available or
//! unavailable, subscribe to a contact's presence, send typing/recording/
//! paused to a chat — and the events for what others do:
//! `presence.update` (`{id, status, lastSeen}`) and `chat.state`
//! (`{chatId, from, state}`, state `composing`, `recording` or `paused`).
//!
//! [`Session::simulate_typing`] is the human-like pause before a send:
//! `composing` for a time that grows with the text's length (at a person's
//! typing speed, with ±20% jitter) bounded by `TYPING_DELAY_MIN` and
//! `TYPING_DELAY_MAX` seconds (defaults 1 and 3), then `paused`.
//! [`Session::run_presence_heartbeat`] says "available" on an interval
//! (`PRESENCE_HEARTBEAT_SECS`, default 300: seed 000's "Active now" every 5
//! minutes) while the session is connected.

use crate::events::EventKind;
use serde_json::json;
use wagate_core::{ChatId, MessageStatus};
use whatsapp_rust::Jid;
use whatsapp_rust::features::ChatStateType;
use whatsapp_rust::types::events::{ChatPresenceUpdate, PresenceUpdate};
use whatsapp_rust::wacore::types::presence::{ChatPresence, ChatPresenceMedia};

use std::time::Duration;

pub use crate::config::TypingConfig;
use crate::error::EngineError;
use crate::session::Session;

/// What a chat shows about this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatState {
    Composing,
    Recording,
    Paused,
}

impl ChatState {
    pub fn parse(s: &str) -> Option<ChatState> {
        match s {
            "composing" | "typing" => Some(ChatState::Composing),
            "recording" => Some(ChatState::Recording),
            "paused" | "stop" => Some(ChatState::Paused),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChatState::Composing => "composing",
            ChatState::Recording => "recording",
            ChatState::Paused => "paused",
        }
    }
}

fn jid_of(chat: &ChatId) -> Result<Jid, EngineError> {
    chat.jid()
        .parse()
        .map_err(|_| EngineError::InvalidChatId(chat.api()))
}

impl Session {
    /// Announces this session as available (online) or unavailable.
    pub async fn set_presence(&self, available: bool) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        let presence = client.presence();
        let done = if available {
            presence.set_available().await
        } else {
            presence.set_unavailable().await
        };
        done.map_err(|e| EngineError::Engine(format!("presence: {e}")))
    }

    /// Says "available" every `every` while this bot generation runs and the
    /// session is connected; ends by itself when either stops being true.
    pub(crate) async fn run_presence_heartbeat(&self, generation: u64, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if !self.is_generation(generation) {
                return;
            }
            if self.status() == wagate_core::SessionStatus::Ready
                && let Err(e) = self.set_presence(true).await
            {
                tracing::debug!(session = %self.id, "presence heartbeat: {e}");
            }
        }
    }

    /// Sends read receipts for incoming messages of `chat`: the given
    /// WhatsApp ids, or every one not yet read. Their history status becomes
    /// `read`; the senders see blue ticks (`message.ack` 4 on their side).
    /// Returns how many were marked.
    pub async fn mark_read(
        &self,
        chat: &ChatId,
        wa_ids: Option<&[String]>,
    ) -> Result<usize, EngineError> {
        /// How far back "everything unread" looks.
        const UNREAD_WINDOW: u32 = 500;
        let client = self.ready_client().await?;
        let store = &self.shared.store;
        let records = store
            .list_messages(&self.id, &chat.jid(), UNREAD_WINDOW, None)
            .await?;
        // One receipt per sender: in a group each author gets their own.
        let mut by_sender: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for m in records.iter().filter(|m| !m.from_me) {
            let wanted = match wa_ids {
                Some(ids) => ids.contains(&m.wa_id),
                None => m.status == MessageStatus::Received,
            };
            if wanted {
                let key = if chat.is_group() {
                    m.sender.clone()
                } else {
                    String::new()
                };
                by_sender.entry(key).or_default().push(m.wa_id.clone());
            }
        }
        let chat_jid = jid_of(chat)?;
        let mut marked = 0;
        for (sender, ids) in by_sender {
            let sender_jid: Option<Jid> = if sender.is_empty() {
                None
            } else {
                sender.parse().ok()
            };
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            client
                .mark_as_read(&chat_jid, sender_jid.as_ref(), &refs)
                .await
                .map_err(|e| EngineError::Engine(format!("read receipt: {e}")))?;
            for id in &ids {
                store
                    .advance_message_status(&self.id, &chat.jid(), id, MessageStatus::Read)
                    .await?;
            }
            marked += ids.len();
        }
        Ok(marked)
    }

    /// Asks to be told when `chat` (a person) comes online or goes offline.
    pub async fn subscribe_presence(&self, chat: &ChatId) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        client
            .presence()
            .subscribe(jid_of(chat)?)
            .await
            .map_err(|e| EngineError::Engine(format!("presence subscribe: {e}")))
    }

    /// Shows `state` in `chat`.
    pub async fn send_chat_state(
        &self,
        chat: &ChatId,
        state: ChatState,
    ) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        let kind = match state {
            ChatState::Composing => ChatStateType::Composing,
            ChatState::Recording => ChatStateType::Recording,
            ChatState::Paused => ChatStateType::Paused,
        };
        client
            .chatstate()
            .send(&jid_of(chat)?, kind)
            .await
            .map_err(|e| EngineError::Engine(format!("chat state: {e}")))
    }

    /// Shows `composing` in `chat`, waits a random typing pause, then shows
    /// `paused`: call before sending to look like a person typing.
    pub async fn simulate_typing(
        &self,
        chat: &ChatId,
        text_chars: usize,
    ) -> Result<(), EngineError> {
        let typing = self.shared.config.typing.clone();
        self.simulate_typing_with(chat, text_chars, &typing).await
    }

    /// [`Session::simulate_typing`] within the session's own bounds.
    pub async fn simulate_typing_with(
        &self,
        chat: &ChatId,
        text_chars: usize,
        typing: &TypingConfig,
    ) -> Result<(), EngineError> {
        self.send_chat_state(chat, ChatState::Composing).await?;
        tokio::time::sleep(typing.for_text(text_chars)).await;
        self.send_chat_state(chat, ChatState::Paused).await
    }

    pub(crate) async fn on_chat_presence(&self, update: &ChatPresenceUpdate) {
        let state = match (&update.state, &update.media) {
            (ChatPresence::Composing, ChatPresenceMedia::Audio) => ChatState::Recording,
            (ChatPresence::Composing, _) => ChatState::Composing,
            (ChatPresence::Paused, _) => ChatState::Paused,
        };
        self.emit(
            EventKind::ChatState,
            json!({
                "chatId": ChatId::api_from_jid(&update.source.chat.to_non_ad_string()),
                "from": ChatId::api_from_jid(&update.source.sender.to_non_ad_string()),
                "state": state.name(),
            }),
        )
        .await;
    }

    pub(crate) async fn on_presence(&self, update: &PresenceUpdate) {
        self.emit(
            EventKind::PresenceUpdate,
            json!({
                "id": ChatId::api_from_jid(&update.from.to_non_ad_string()),
                "status": if update.unavailable { "unavailable" } else { "available" },
                "lastSeen": update.last_seen.map(|t| wagate_core::iso_ms(t.timestamp_millis())),
            }),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_grows_with_the_text_within_bounds() {
        let t = TypingConfig {
            min: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        for _ in 0..50 {
            let short = t.for_text(0);
            let medium = t.for_text(24);
            let long = t.for_text(10_000);
            assert_eq!(short, Duration::from_secs(1));
            assert!(
                medium > Duration::from_millis(4_000) && medium < Duration::from_millis(6_000),
                "{medium:?}"
            );
            assert_eq!(long, Duration::from_secs(10));
        }
    }

    #[test]
    fn typing_delays_are_seconds_within_bounds() {
        let c = TypingConfig::from_lookup(|_| None).unwrap();
        assert_eq!(c, TypingConfig::default());
        let c = TypingConfig::from_lookup(|k| {
            Some(if k == "TYPING_DELAY_MIN" { "2" } else { "4" }.to_string())
        })
        .unwrap();
        for _ in 0..50 {
            let d = c.pick();
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4));
        }
        let zero = TypingConfig::from_lookup(|_| Some("0".into())).unwrap();
        assert_eq!(zero.pick(), Duration::ZERO);
        assert!(
            TypingConfig::from_lookup(|k| {
                Some(if k == "TYPING_DELAY_MIN" { "5" } else { "1" }.to_string())
            })
            .is_err()
        );
    }

    #[test]
    fn chat_states_parse() {
        assert_eq!(ChatState::parse("composing"), Some(ChatState::Composing));
        assert_eq!(ChatState::parse("typing"), Some(ChatState::Composing));
        assert_eq!(ChatState::parse("recording"), Some(ChatState::Recording));
        assert_eq!(ChatState::parse("paused"), Some(ChatState::Paused));
        assert_eq!(ChatState::parse("dancing"), None);
    }
}

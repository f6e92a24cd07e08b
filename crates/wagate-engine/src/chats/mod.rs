//! Chat management through WhatsApp's app state (syncd): archive, pin,
//! mute, mark unread/read, clear and delete a chat, star a message, delete
//! a message for me.
//!
//! Each action goes to WhatsApp as an app-state patch (whatsapp-rust's
//! `chat_actions`), so the phone and the other linked devices follow, and
//! is applied to the store so the chat list reflects it. What the phone or
//! another device changes arrives through the engine's app-state sync
//! ([`sync`]) and is applied the same way. Every real change of a chat's
//! settings appends one `chat.update` (`{chatId, <the fields that changed>}`);
//! a change heard twice (sent from here, then echoed back by the sync)
//! changes nothing the second time and is announced once.

mod sync;

use serde_json::{Value, json};
use wagate_core::{ChatId, EventKind, iso_ms, now_ms};
use wagate_store::app::{ChatChange, ChatSettings, MessageRecord};
use whatsapp_rust::{AppStateError, Jid};

use crate::error::EngineError;
use crate::session::Session;

/// How `mutedUntil` says "muted with no end".
pub const MUTED_FOREVER: &str = "forever";

/// A chat's mute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mute {
    /// Muted until this time (epoch ms, in the future).
    Until(i64),
    Forever,
    Off,
}

impl Mute {
    /// The stored form: epoch ms, `-1` forever, `None` unmuted.
    fn stored(self) -> Option<i64> {
        match self {
            Mute::Until(ms) => Some(ms),
            Mute::Forever => Some(-1),
            Mute::Off => None,
        }
    }
}

/// `mutedUntil` as the API shows it: `None` (not muted), `"forever"` or
/// an ISO time (a mute that has run out is `None`).
pub fn muted_until_text(stored: Option<i64>) -> Option<String> {
    match stored {
        Some(-1) => Some(MUTED_FOREVER.to_string()),
        Some(ms) if ms > now_ms() => Some(iso_ms(ms)),
        _ => None,
    }
}

/// The `chat.update` payload: the chat and the fields that changed.
fn update_json(chat_api: &str, c: &ChatChange) -> Value {
    let mut v = json!({ "chatId": chat_api });
    if let Some(a) = c.archived {
        v["archived"] = json!(a);
    }
    if let Some(p) = c.pinned_at {
        v["pinned"] = json!(p.is_some());
        v["pinnedAt"] = json!(p.map(iso_ms));
    }
    if let Some(m) = c.muted_until {
        v["mutedUntil"] = json!(muted_until_text(m));
    }
    if let Some(u) = c.marked_unread {
        v["markedUnread"] = json!(u);
    }
    v
}

fn chat_jid(chat: &ChatId) -> Result<Jid, EngineError> {
    chat.jid()
        .parse()
        .map_err(|_| EngineError::InvalidChatId(chat.api()))
}

pub(crate) fn app_state_error(e: AppStateError) -> EngineError {
    match e {
        AppStateError::InvalidRequest(m) => EngineError::Invalid(m),
        other => EngineError::Engine(format!("app-state change failed: {other}")),
    }
}

impl Session {
    /// Archives or unarchives a chat.
    pub async fn archive_chat(
        &self,
        chat: &ChatId,
        archived: bool,
    ) -> Result<ChatSettings, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        let actions = client.chat_actions();
        let sent = if archived {
            actions.archive_chat(&jid, None).await
        } else {
            actions.unarchive_chat(&jid, None).await
        };
        sent.map_err(app_state_error)?;
        let change = ChatChange {
            archived: Some(archived),
            ..Default::default()
        };
        self.settle_chat(chat, change).await
    }

    /// Pins or unpins a chat.
    pub async fn pin_chat(&self, chat: &ChatId, pinned: bool) -> Result<ChatSettings, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        let actions = client.chat_actions();
        let sent = if pinned {
            actions.pin_chat(&jid).await
        } else {
            actions.unpin_chat(&jid).await
        };
        sent.map_err(app_state_error)?;
        let change = ChatChange {
            pinned_at: Some(pinned.then(now_ms)),
            ..Default::default()
        };
        self.settle_chat(chat, change).await
    }

    /// Mutes a chat (until a time, or forever) or unmutes it.
    pub async fn mute_chat(&self, chat: &ChatId, mute: Mute) -> Result<ChatSettings, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        let actions = client.chat_actions();
        let sent = match mute {
            Mute::Until(ms) => actions.mute_chat_until(&jid, ms).await,
            Mute::Forever => actions.mute_chat(&jid).await,
            Mute::Off => actions.unmute_chat(&jid).await,
        };
        sent.map_err(app_state_error)?;
        let change = ChatChange {
            muted_until: Some(mute.stored()),
            ..Default::default()
        };
        self.settle_chat(chat, change).await
    }

    /// Marks a chat unread, or read: reading also sends read receipts for
    /// its unread incoming messages.
    pub async fn mark_chat_unread(
        &self,
        chat: &ChatId,
        unread: bool,
    ) -> Result<ChatSettings, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        client
            .chat_actions()
            .mark_chat_as_read(&jid, !unread, None)
            .await
            .map_err(app_state_error)?;
        if !unread {
            self.mark_read(chat, None).await?;
        }
        self.record_read(&chat.jid(), !unread).await?;
        Ok(self
            .shared
            .store
            .chat_settings(&self.id, &chat.jid())
            .await?)
    }

    /// Clears a chat's messages (starred ones too unless `keep_starred`);
    /// the chat itself and its settings stay. Returns how many went.
    pub async fn clear_chat(&self, chat: &ChatId, keep_starred: bool) -> Result<u64, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        // Counted before the send: the sync's echo of this very clear may
        // remove them before `record_removal` below gets to.
        let store = &self.shared.store;
        let removed = store
            .count_chat_messages(&self.id, &chat.jid(), keep_starred)
            .await?;
        client
            .chat_actions()
            .clear_chat(&jid, !keep_starred, true, None)
            .await
            .map_err(app_state_error)?;
        self.record_removal(&chat.jid(), Some(keep_starred)).await?;
        Ok(removed)
    }

    /// Deletes a chat: its messages and settings. Returns whether the
    /// session had anything of it.
    pub async fn delete_chat(&self, chat: &ChatId) -> Result<bool, EngineError> {
        let jid = chat_jid(chat)?;
        let client = self.ready_client().await?;
        let store = &self.shared.store;
        let had = store
            .count_chat_messages(&self.id, &chat.jid(), false)
            .await?
            > 0
            || store.chat_settings(&self.id, &chat.jid()).await? != ChatSettings::default();
        client
            .chat_actions()
            .delete_chat(&jid, true, None)
            .await
            .map_err(app_state_error)?;
        self.record_removal(&chat.jid(), None).await?;
        Ok(had)
    }

    /// Stars or unstars a message of the session's history (by WhatsApp id).
    pub async fn star_message(
        &self,
        wa_id: &str,
        starred: bool,
    ) -> Result<MessageRecord, EngineError> {
        let m = self.history_message(wa_id).await?;
        let (chat, participant) = message_chat(&m)?;
        let client = self.ready_client().await?;
        let actions = client.chat_actions();
        let sent = if starred {
            actions
                .star_message(&chat, participant.as_ref(), &m.wa_id, m.from_me)
                .await
        } else {
            actions
                .unstar_message(&chat, participant.as_ref(), &m.wa_id, m.from_me)
                .await
        };
        sent.map_err(app_state_error)?;
        self.record_message(&m.chat_id, &m.wa_id, m.from_me, Some(starred))
            .await?;
        Ok(MessageRecord { starred, ..m })
    }

    /// Deletes a message from this account's devices only (not for the
    /// others in the chat).
    pub async fn delete_message_for_me(&self, wa_id: &str) -> Result<MessageRecord, EngineError> {
        let m = self.history_message(wa_id).await?;
        let (chat, participant) = message_chat(&m)?;
        let client = self.ready_client().await?;
        client
            .chat_actions()
            .delete_message_for_me(
                &chat,
                participant.as_ref(),
                &m.wa_id,
                m.from_me,
                true,
                Some(m.wa_timestamp * 1000),
            )
            .await
            .map_err(app_state_error)?;
        self.record_message(&m.chat_id, &m.wa_id, m.from_me, None)
            .await?;
        Ok(m)
    }

    async fn history_message(&self, wa_id: &str) -> Result<MessageRecord, EngineError> {
        self.shared
            .store
            .get_message(&self.id, wa_id)
            .await?
            .ok_or(EngineError::MessageNotFound)
    }

    /// Applies a change this session made and returns the chat's settings.
    async fn settle_chat(
        &self,
        chat: &ChatId,
        change: ChatChange,
    ) -> Result<ChatSettings, EngineError> {
        self.apply_chat_change(&chat.jid(), &change).await?;
        Ok(self
            .shared
            .store
            .chat_settings(&self.id, &chat.jid())
            .await?)
    }

    /// Stores a settings change and, when something really changed,
    /// appends its `chat.update` in the same transaction.
    pub(crate) async fn apply_chat_change(
        &self,
        chat_jid: &str,
        change: &ChatChange,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let changed = tx.change_chat(&self.id, chat_jid, change, now_ms()).await?;
        if changed.is_empty() {
            return Ok(());
        }
        let data = update_json(&ChatId::api_from_jid(chat_jid), &changed);
        tx.append(&self.id, &self.tenant_id, EventKind::ChatUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A stored message's chat JID and, for someone else's message in a
/// group, its author (what an app-state message key needs).
fn message_chat(m: &MessageRecord) -> Result<(Jid, Option<Jid>), EngineError> {
    let chat: Jid = m
        .chat_id
        .parse()
        .map_err(|_| EngineError::InvalidChatId(m.chat_id.clone()))?;
    let participant = if m.chat_id.ends_with("@g.us") && !m.from_me {
        m.sender.parse().ok()
    } else {
        None
    };
    Ok((chat, participant))
}

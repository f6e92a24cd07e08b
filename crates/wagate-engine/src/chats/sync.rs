//! Chat changes made elsewhere — on the phone or another linked device —
//! as whatsapp-rust's app-state sync reports them: stored, and announced
//! as `chat.update` when they change something (see the parent module).
//! The API's own actions are recorded through the same functions.
//! Starring and deleting a message for me are announced as `chat.update`
//! too, with the message: `{chatId, messageId, starred}` /
//! `{chatId, messageId, deletedForMe: true}`; clearing and deleting a chat
//! as `{chatId, cleared: true}` / `{chatId, deleted: true}`.

use serde_json::{Value, json};
use tracing::warn;
use wagate_core::{ChatId, EventKind};
use wagate_store::app::ChatChange;
use whatsapp_rust::types::events::Event;

use crate::error::EngineError;
use crate::session::Session;

impl Session {
    /// Handles an app-state chat event; `false` when `event` is not one.
    pub(crate) async fn on_chat_sync(&self, event: &Event) -> bool {
        let done = match event {
            Event::ArchiveUpdate(u) => {
                let change = ChatChange {
                    archived: Some(u.action.archived.unwrap_or(false)),
                    ..Default::default()
                };
                self.apply_chat_change(&u.jid.to_non_ad_string(), &change)
                    .await
            }
            Event::PinUpdate(u) => {
                let pinned = u.action.pinned.unwrap_or(false);
                let change = ChatChange {
                    pinned_at: Some(pinned.then(|| u.timestamp.timestamp_millis())),
                    ..Default::default()
                };
                self.apply_chat_change(&u.jid.to_non_ad_string(), &change)
                    .await
            }
            Event::MuteUpdate(u) => {
                let end = u.action.mute_end_timestamp.unwrap_or(0);
                let muted = u.action.muted.unwrap_or(end != 0);
                let until = match (muted, end) {
                    (false, _) | (true, 0) => None,
                    (true, e) if e < 0 => Some(-1),
                    (true, e) => Some(e),
                };
                let change = ChatChange {
                    muted_until: Some(until),
                    ..Default::default()
                };
                self.apply_chat_change(&u.jid.to_non_ad_string(), &change)
                    .await
            }
            Event::MarkChatAsReadUpdate(u) => {
                let read = u.action.read.unwrap_or(true);
                self.record_read(&u.jid.to_non_ad_string(), read).await
            }
            Event::StarUpdate(u) => {
                let starred = u.action.starred.unwrap_or(false);
                let chat = u.chat_jid.to_non_ad_string();
                self.record_message(&chat, &u.message_id, u.from_me, Some(starred))
                    .await
                    .map(drop)
            }
            Event::DeleteMessageForMeUpdate(u) => {
                let chat = u.chat_jid.to_non_ad_string();
                self.record_message(&chat, &u.message_id, u.from_me, None)
                    .await
                    .map(drop)
            }
            Event::ClearChatUpdate(u) => {
                let chat = u.jid.to_non_ad_string();
                self.record_removal(&chat, Some(!u.delete_starred))
                    .await
                    .map(drop)
            }
            Event::DeleteChatUpdate(u) => self
                .record_removal(&u.jid.to_non_ad_string(), None)
                .await
                .map(drop),
            _ => return false,
        };
        if let Err(e) = done {
            warn!(session = %self.id, "could not apply a synced chat change: {e}");
        }
        true
    }

    /// The chat was marked read or unread elsewhere; read also marks its
    /// incoming messages read here.
    pub(super) async fn record_read(&self, chat: &str, read: bool) -> Result<(), EngineError> {
        if read {
            let mut tx = self.shared.store.begin().await?;
            tx.mark_incoming_read(&self.id, chat).await?;
            tx.commit().await?;
        }
        let change = ChatChange {
            marked_unread: Some(!read),
            ..Default::default()
        };
        self.apply_chat_change(chat, &change).await
    }

    /// A message was starred/unstarred (`Some`) or deleted for me (`None`)
    /// elsewhere.
    pub(super) async fn record_message(
        &self,
        chat: &str,
        wa_id: &str,
        from_me: bool,
        starred: Option<bool>,
    ) -> Result<bool, EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let changed = match starred {
            Some(s) => tx.star_message(&self.id, chat, wa_id, s).await?,
            None => tx.delete_message_for_me(&self.id, chat, wa_id).await?,
        };
        if !changed {
            return Ok(false);
        }
        let chat_api = ChatId::api_from_jid(chat);
        let message_id = wagate_core::ids::message_id(from_me, &chat_api, wa_id);
        let mut data = json!({ "chatId": chat_api, "messageId": message_id });
        match starred {
            Some(s) => data["starred"] = json!(s),
            None => data["deletedForMe"] = json!(true),
        }
        tx.append(&self.id, &self.tenant_id, EventKind::ChatUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A chat was cleared (`Some(keep_starred)`) or deleted (`None`)
    /// elsewhere.
    /// Returns how many rows went (a deleted chat's settings count too).
    pub(super) async fn record_removal(
        &self,
        chat: &str,
        clear: Option<bool>,
    ) -> Result<u64, EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let (removed, data): (u64, Value) = match clear {
            Some(keep_starred) => (
                tx.clear_chat(&self.id, chat, keep_starred).await?,
                json!({ "chatId": ChatId::api_from_jid(chat), "cleared": true }),
            ),
            None => (
                tx.delete_chat(&self.id, chat).await?,
                json!({ "chatId": ChatId::api_from_jid(chat), "deleted": true }),
            ),
        };
        if removed == 0 {
            return Ok(0);
        }
        tx.append(&self.id, &self.tenant_id, EventKind::ChatUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

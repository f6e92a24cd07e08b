//! Labels (WhatsApp Business) through WhatsApp's app state, so the phone
//! and the other linked devices follow: create, rename or recolour, delete
//! a label; put one on a chat or take it off (whatsapp-rust's `labels`).
//!
//! Each change made here goes to WhatsApp as an app-state patch and is
//! applied to the store; what the phone or another device changes arrives
//! through the app-state sync ([`Session::on_label_sync`]) and is applied
//! the same way. Every real change appends one `label.update`:
//! `{labelId, name, color, colorHex, deleted: false}` for a label created
//! or changed, `{labelId, deleted: true}` for one deleted, and
//! `{labelId, chatId, labeled}` for a chat labelled or unlabelled. A change
//! heard twice (made here, then echoed back) is announced once.

use serde_json::json;
use tracing::warn;
use wagate_core::{ChatId, EventKind, LabelColor, now_ms};
use wagate_store::app::LabelRecord;
use whatsapp_rust::types::events::Event;

use crate::chats::app_state_error;
use crate::error::EngineError;
use crate::session::Session;

/// What a label change sets: a new name and colour.
#[derive(Clone, Debug)]
pub struct LabelSpec {
    pub name: String,
    pub color: LabelColor,
}

impl Session {
    /// Creates a label with the next free id.
    pub async fn create_label(&self, spec: &LabelSpec) -> Result<LabelRecord, EngineError> {
        let id = self.shared.store.next_label_id(&self.id).await?;
        self.put_label(&id, spec).await
    }

    /// Renames or recolours a label the session has.
    pub async fn update_label(
        &self,
        label_id: &str,
        name: Option<String>,
        color: Option<LabelColor>,
    ) -> Result<LabelRecord, EngineError> {
        let now = self.known_label(label_id).await?;
        let spec = LabelSpec {
            name: name.unwrap_or(now.name),
            color: color.unwrap_or(LabelColor::of_synced(now.color as i32)),
        };
        self.put_label(label_id, &spec).await
    }

    /// Deletes a label (its chats lose it).
    pub async fn delete_label(&self, label_id: &str) -> Result<(), EngineError> {
        self.known_label(label_id).await?;
        let client = self.ready_client().await?;
        client
            .labels()
            .delete_label(label_id)
            .await
            .map_err(app_state_error)?;
        self.record_label_deleted(label_id).await
    }

    /// Puts a label on a chat (`labeled`) or takes it off.
    pub async fn label_chat(
        &self,
        label_id: &str,
        chat: &ChatId,
        labeled: bool,
    ) -> Result<(), EngineError> {
        self.known_label(label_id).await?;
        let jid = chat
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(chat.api()))?;
        let client = self.ready_client().await?;
        let labels = client.labels();
        let sent = if labeled {
            labels.add_chat_label(label_id, &jid).await
        } else {
            labels.remove_chat_label(label_id, &jid).await
        };
        sent.map_err(app_state_error)?;
        self.record_chat_label(label_id, &chat.jid(), labeled).await
    }

    /// The session's label `label_id`, or `LABEL_NOT_FOUND`.
    pub async fn known_label(&self, label_id: &str) -> Result<LabelRecord, EngineError> {
        self.shared
            .store
            .label(&self.id, label_id)
            .await?
            .ok_or_else(|| EngineError::LabelNotFound(label_id.to_string()))
    }

    async fn put_label(&self, id: &str, spec: &LabelSpec) -> Result<LabelRecord, EngineError> {
        let client = self.ready_client().await?;
        client
            .labels()
            .create_label(id, &spec.name, i32::from(spec.color.index()))
            .await
            .map_err(app_state_error)?;
        self.record_label(id, &spec.name, spec.color).await?;
        self.known_label(id).await
    }

    /// Handles an app-state label event; `false` when `event` is not one.
    pub(crate) async fn on_label_sync(&self, event: &Event) -> bool {
        let done = match event {
            Event::LabelEditUpdate(u) if u.action.deleted == Some(true) => {
                self.record_label_deleted(&u.label_id).await
            }
            Event::LabelEditUpdate(u) => {
                let name = u.action.name.clone().unwrap_or_default();
                let color = LabelColor::of_synced(u.action.color.unwrap_or(0));
                self.record_label(&u.label_id, &name, color).await
            }
            Event::LabelAssociationUpdate(u) => {
                let labeled = u.action.labeled.unwrap_or(false);
                let chat = u.chat_jid.to_non_ad_string();
                self.record_chat_label(&u.label_id, &chat, labeled).await
            }
            _ => return false,
        };
        if let Err(e) = done {
            warn!(session = %self.id, "could not apply a synced label change: {e}");
        }
        true
    }

    async fn record_label(
        &self,
        id: &str,
        name: &str,
        color: LabelColor,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let color_index = i64::from(color.index());
        if !tx
            .put_label(&self.id, id, name, color_index, now_ms())
            .await?
        {
            return Ok(());
        }
        let data = json!({
            "labelId": id, "name": name, "color": color_index,
            "colorHex": color.hex(), "deleted": false,
        });
        tx.append(&self.id, &self.tenant_id, EventKind::LabelUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_label_deleted(&self, id: &str) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        if !tx.delete_label(&self.id, id).await? {
            return Ok(());
        }
        let data = json!({ "labelId": id, "deleted": true });
        tx.append(&self.id, &self.tenant_id, EventKind::LabelUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_chat_label(
        &self,
        id: &str,
        chat_jid: &str,
        labeled: bool,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        if !tx.label_chat(&self.id, id, chat_jid, labeled).await? {
            return Ok(());
        }
        let data = json!({
            "labelId": id, "chatId": ChatId::api_from_jid(chat_jid), "labeled": labeled,
        });
        tx.append(&self.id, &self.tenant_id, EventKind::LabelUpdate, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

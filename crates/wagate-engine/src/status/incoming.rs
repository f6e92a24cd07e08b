//! Statuses from others: each is stored once (its file planned for
//! download like any received file) and announced as `status.received`;
//! its poster revoking it marks it revoked and announces
//! `status.revoked`. A session hears statuses only when its settings do
//! not ignore them (`settings.ignore.status`, off by default). The
//! session's own statuses posted from another of its devices are not
//! announced.

use serde_json::json;
use tracing::debug;
use wagate_core::status_post::{STATUS_CHAT, background_hex};
use wagate_core::{ChatId, EventKind, MessageStatus};
use wagate_store::app::NewMessage;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

use super::post::EXTRAS_KEY;
use crate::actions::{ProtocolChange, protocol_change};
use crate::convert;
use crate::error::EngineError;
use crate::session::Session;

type Info = whatsapp_rust::types::message::MessageInfo;

impl Session {
    /// Stores and announces a status from `info`'s sender (idempotent: a
    /// redelivered status is announced once).
    pub(crate) async fn persist_status(
        &self,
        message: &wa::Message,
        info: &Info,
    ) -> Result<(), EngineError> {
        if info.source.is_from_me {
            return Ok(());
        }
        if let Some(ProtocolChange::Revoke { target }) = protocol_change(message) {
            return self.status_revoked(&target, info).await;
        }
        let Some((kind, body)) = convert::classify(message) else {
            return Ok(());
        };
        let media = if kind.is_media() {
            self.plan_incoming_media(message, &info.id, STATUS_CHAT)
                .await?
        } else {
            None
        };
        let sender = info.source.sender.to_non_ad_string();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: STATUS_CHAT.to_string(),
            wa_id: info.id.to_string(),
            from_me: false,
            sender: sender.clone(),
            recipient: STATUS_CHAT.to_string(),
            msg_type: kind,
            body: body.clone(),
            wa_timestamp: info.timestamp.timestamp(),
            status: MessageStatus::Received,
            quoted_id: None,
            push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
            media,
            from_history: false,
        };
        let look = look(message);
        let mut tx = self.shared.store.begin().await?;
        if !tx.insert_message(&record).await? {
            debug!(session = %self.id, id = %record.wa_id, "status already received");
            return Ok(());
        }
        tx.set_message_extras(
            &self.id,
            STATUS_CHAT,
            &record.wa_id,
            &json!({ EXTRAS_KEY: look }),
        )
        .await?;
        let id = wagate_core::ids::message_id(false, STATUS_CHAT, &record.wa_id);
        let is_media = kind.is_media();
        let data = json!({
            "id": id,
            "messageId": id,
            "from": ChatId::api_from_jid(&sender),
            "fromPn": phone_of(info),
            "pushName": record.push_name,
            "type": kind,
            "text": if is_media { None } else { body.clone() },
            "caption": if is_media { body } else { None },
            "backgroundColor": look.get("backgroundColor"),
            "font": look.get("font"),
            "hasMedia": is_media,
            "media": record.media.as_ref().map(|f| crate::media::media_json(&self.id, f)),
            "waTimestamp": record.wa_timestamp,
            "timestamp": wagate_core::iso_ms(record.wa_timestamp * 1000),
        });
        tx.append(&self.id, &self.tenant_id, EventKind::StatusReceived, &data)
            .await?;
        tx.commit().await?;
        if record.media.is_some() {
            self.shared.incoming_wake.notify_one();
        }
        Ok(())
    }

    /// The poster took a status back: marked revoked, `status.revoked`.
    async fn status_revoked(&self, target: &str, info: &Info) -> Result<(), EngineError> {
        let sender = info.source.sender.to_non_ad_string();
        let Some(stored) = self
            .shared
            .store
            .get_message(&self.id, target)
            .await?
            .filter(|m| m.chat_id == STATUS_CHAT && !m.from_me && m.sender == sender)
        else {
            debug!(session = %self.id, id = %target, "revoke of an unknown status ignored");
            return Ok(());
        };
        if stored.msg_type == wagate_core::MessageType::Revoked {
            return Ok(());
        }
        let mut tx = self.shared.store.begin().await?;
        tx.mark_message_revoked(&self.id, STATUS_CHAT, target)
            .await?;
        let id = wagate_core::ids::message_id(false, STATUS_CHAT, target);
        let data = json!({
            "id": id,
            "messageId": id,
            "from": ChatId::api_from_jid(&sender),
            "fromPn": phone_of(info),
            "timestamp": wagate_core::iso_ms(info.timestamp.timestamp_millis()),
        });
        tx.append(&self.id, &self.tenant_id, EventKind::StatusRevoked, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The poster's phone number (`…@c.us`), when known.
fn phone_of(info: &Info) -> Option<String> {
    let sender = &info.source.sender;
    if sender.is_pn() {
        return Some(ChatId::api_from_jid(&sender.to_non_ad_string()));
    }
    info.source
        .sender_alt
        .as_ref()
        .filter(|alt| alt.is_pn())
        .map(|alt| ChatId::api_from_jid(&alt.to_non_ad_string()))
}

/// A text status's background and font (`{}` for others).
fn look(message: &wa::Message) -> serde_json::Value {
    let base = message.get_base_message();
    match base.extended_text_message.as_option() {
        Some(t) => json!({
            "backgroundColor": t.background_argb.map(background_hex),
            "font": t.font.map(|f| f as i32),
        }),
        None => json!({}),
    }
}

//! Messages other than text and media: locations, contacts (vCard),
//! reactions, and the protocol messages that change an earlier message —
//! delete for everyone (revoke) and edit — both sent and received.
//!
//! Received revokes and edits are applied to the stored message only when
//! they come from the chat the message is in and from the person who sent
//! it (a revoke in a group also from a group admin); each change commits
//! with its `message.revoked` / `message.edited` event.

use serde_json::json;
use tracing::debug;
use wagate_core::{ChatId, MessageStatus, MessageType, now_ms};
use wagate_store::app::{MessageRecord, NewMessage};
use whatsapp_rust::send::{RevokeType, SendOptions};
use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, buffa};

use crate::error::EngineError;
use crate::events::EventKind;
use crate::session::{SentMessage, Session};

/// A change a protocol message makes to an earlier message.
#[derive(Debug, PartialEq, Eq)]
pub enum ProtocolChange {
    Revoke {
        target: String,
    },
    Edit {
        target: String,
        text: Option<String>,
    },
}

/// The revoke or edit a message carries, if it is one.
pub fn protocol_change(message: &wa::Message) -> Option<ProtocolChange> {
    use wa::message::protocol_message::Type;
    let pm = message.protocol_message.as_option().or_else(|| {
        message
            .edited_message
            .as_option()
            .and_then(|f| f.message.as_option())
            .and_then(|m| m.protocol_message.as_option())
    })?;
    let target = pm.key.as_option()?.id.clone()?;
    match pm.r#type? {
        Type::REVOKE => Some(ProtocolChange::Revoke { target }),
        Type::MESSAGE_EDIT => {
            let text = pm.edited_message.as_option().and_then(|m| {
                m.conversation.clone().or_else(|| {
                    m.extended_text_message
                        .as_option()
                        .and_then(|e| e.text.clone())
                })
            });
            Some(ProtocolChange::Edit { target, text })
        }
        _ => None,
    }
}

/// A vCard 3.0 for one person with a WhatsApp number.
pub fn vcard(name: &str, phone_digits: &str) -> String {
    let escaped: String = name
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '\\' | ',' | ';' => vec!['\\', c],
            other => vec![other],
        })
        .collect();
    format!(
        "BEGIN:VCARD\nVERSION:3.0\nFN:{escaped}\nTEL;type=CELL;type=VOICE;waid={phone_digits}:+{phone_digits}\nEND:VCARD"
    )
}

impl Session {
    /// Sends a location pin at `(latitude, longitude)`.
    pub async fn send_location(
        &self,
        chat: &ChatId,
        (latitude, longitude): (f64, f64),
        description: Option<String>,
        address: Option<String>,
        quoted_wa_id: Option<&str>,
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let context = self.context_info(&client, quoted_wa_id, &[]).await?;
        let message = wa::Message {
            location_message: buffa::MessageField::some(wa::message::LocationMessage {
                degrees_latitude: Some(latitude),
                degrees_longitude: Some(longitude),
                name: description.clone(),
                address: address.clone(),
                context_info: context.map(buffa::MessageField::some).unwrap_or_default(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = description.or(address);
        self.send_and_record(
            chat,
            message,
            MessageType::Location,
            body,
            quoted_wa_id,
            wa_id,
        )
        .await
    }

    /// Sends a contact card.
    pub async fn send_contact(
        &self,
        chat: &ChatId,
        name: &str,
        phone_digits: &str,
        quoted_wa_id: Option<&str>,
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let context = self.context_info(&client, quoted_wa_id, &[]).await?;
        let message = wa::Message {
            contact_message: buffa::MessageField::some(wa::message::ContactMessage {
                display_name: Some(name.to_string()),
                vcard: Some(vcard(name, phone_digits)),
                context_info: context.map(buffa::MessageField::some).unwrap_or_default(),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.send_and_record(
            chat,
            message,
            MessageType::Vcard,
            Some(name.to_string()),
            quoted_wa_id,
            wa_id,
        )
        .await
    }

    /// Reacts to a stored message with `emoji` (empty removes the reaction).
    pub async fn react(&self, target_wa_id: &str, emoji: &str) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let target = self.stored(target_wa_id).await?;
        let chat = ChatId::parse(&target.chat_id)
            .map_err(|_| EngineError::InvalidChatId(target.chat_id.clone()))?;
        let to: Jid = target
            .chat_id
            .parse()
            .map_err(|_| EngineError::InvalidChatId(target.chat_id.clone()))?;
        let key = wa::MessageKey {
            remote_jid: Some(target.chat_id.clone()),
            from_me: Some(target.from_me),
            id: Some(target.wa_id.clone()),
            participant: (target.chat_id.ends_with("@g.us") && !target.from_me)
                .then(|| target.sender.clone()),
        };
        let sent = client
            .send_reaction(to, key, emoji)
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        let what = Outgoing {
            msg_type: MessageType::Reaction,
            body: Some(emoji.to_string()),
            quoted_wa_id: Some(target_wa_id),
            extras: None,
        };
        self.record_sent(&client, &chat, sent.message_id, what)
            .await
    }

    /// Deletes a stored message for everyone: one's own anywhere, someone
    /// else's in a group (as an admin). Emits `message.revoked`.
    pub async fn revoke(&self, wa_id: &str) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        let target = self.stored(wa_id).await?;
        let is_group = target.chat_id.ends_with("@g.us");
        let revoke_type = if target.from_me {
            RevokeType::Sender
        } else if is_group {
            RevokeType::Admin {
                original_sender: target
                    .sender
                    .parse()
                    .map_err(|_| EngineError::Engine("stored sender is not a JID".into()))?,
            }
        } else {
            return Err(EngineError::Forbidden(
                "only your own messages can be deleted for everyone outside groups".into(),
            ));
        };
        let to: Jid = target
            .chat_id
            .parse()
            .map_err(|_| EngineError::InvalidChatId(target.chat_id.clone()))?;
        client
            .revoke_message(to, target.wa_id.clone(), revoke_type)
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        let own = crate::session::own_jid(&client).unwrap_or_default();
        self.apply_revoke(&target, &own).await?;
        Ok(())
    }

    /// Edits one's own stored text message. Emits `message.edited`.
    pub async fn edit(&self, wa_id: &str, text: &str) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        let target = self.stored(wa_id).await?;
        if !target.from_me {
            return Err(EngineError::Forbidden(
                "only your own messages can be edited".into(),
            ));
        }
        if target.msg_type != MessageType::Chat {
            return Err(EngineError::Invalid(format!(
                "only text messages can be edited (this one is {})",
                target.msg_type
            )));
        }
        let to: Jid = target
            .chat_id
            .parse()
            .map_err(|_| EngineError::InvalidChatId(target.chat_id.clone()))?;
        client
            .edit_message(to, target.wa_id.clone(), wa::Message::text(text))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        self.apply_edit(&target, text).await?;
        Ok(())
    }

    /// Applies a received revoke or edit. Returns whether `message` was one
    /// (then it is not a message of its own).
    pub(crate) async fn apply_protocol_change(
        &self,
        message: &wa::Message,
        info: &whatsapp_rust::types::message::MessageInfo,
    ) -> Result<bool, EngineError> {
        let Some(change) = protocol_change(message) else {
            return Ok(false);
        };
        let chat = info.source.chat.to_non_ad_string();
        let by = info.source.sender.to_non_ad_string();
        let target_id = match &change {
            ProtocolChange::Revoke { target } | ProtocolChange::Edit { target, .. } => target,
        };
        let Some(target) = self
            .shared
            .store
            .get_message(&self.id, target_id)
            .await?
            .filter(|m| m.chat_id == chat)
        else {
            debug!(session = %self.id, id = %target_id, "revoke/edit of an unknown message ignored");
            return Ok(true);
        };
        let same_author = if info.source.is_from_me {
            target.from_me
        } else {
            !target.from_me && target.sender == by
        };
        match change {
            // Group admins may delete other people's messages; other members
            // may not.
            ProtocolChange::Revoke { .. }
                if same_author
                    || (info.source.is_group && self.is_group_admin(&chat, &by).await) =>
            {
                self.apply_revoke(&target, &by).await?;
            }
            ProtocolChange::Edit {
                text: Some(text), ..
            } if same_author => {
                self.apply_edit(&target, &text).await?;
            }
            _ => debug!(session = %self.id, "revoke/edit by someone else ignored"),
        }
        Ok(true)
    }

    /// Whether `member` (a JID) administers the group `group` now. A group
    /// the server will not describe, or a session without a connection,
    /// counts as "no": a revoke is honoured only when its right is known.
    async fn is_group_admin(&self, group: &str, member: &str) -> bool {
        let (Some(client), Ok(jid)) = (self.client().await, group.parse::<Jid>()) else {
            return false;
        };
        let meta = match client.groups().get_metadata(&jid).await {
            Ok(m) => m,
            Err(e) => {
                debug!(session = %self.id, "group revoke ignored: cannot read the group: {e}");
                return false;
            }
        };
        let member = ChatId::api_from_jid(member);
        meta.participants.iter().any(|p| {
            (p.is_admin() || p.is_super_admin())
                && [Some(&p.jid), p.phone_number.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|j| ChatId::api_from_jid(&j.to_non_ad_string()) == member)
        })
    }

    async fn apply_revoke(&self, target: &MessageRecord, by: &str) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        if !tx
            .mark_message_revoked(&self.id, &target.chat_id, &target.wa_id)
            .await?
        {
            return Ok(());
        }
        let chat_api = ChatId::api_from_jid(&target.chat_id);
        let data = json!({
            "messageId": wagate_core::ids::message_id(target.from_me, &chat_api, &target.wa_id),
            "chatId": chat_api,
            "fromMe": target.from_me,
            "revokedBy": ChatId::api_from_jid(by),
            "timestamp": wagate_core::iso_ms(now_ms()),
        });
        tx.append(&self.id, &self.tenant_id, EventKind::MessageRevoked, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply_edit(&self, target: &MessageRecord, text: &str) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        if !tx
            .set_message_body(&self.id, &target.chat_id, &target.wa_id, text)
            .await?
        {
            return Ok(());
        }
        let chat_api = ChatId::api_from_jid(&target.chat_id);
        let data = json!({
            "messageId": wagate_core::ids::message_id(target.from_me, &chat_api, &target.wa_id),
            "chatId": chat_api,
            "fromMe": target.from_me,
            "body": text,
            "previousBody": target.body,
            "timestamp": wagate_core::iso_ms(now_ms()),
        });
        tx.append(&self.id, &self.tenant_id, EventKind::MessageEdited, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stored(&self, wa_id: &str) -> Result<MessageRecord, EngineError> {
        let m = self.shared.store.get_message(&self.id, wa_id).await?;
        let m = m.ok_or(EngineError::MessageNotFound)?;
        crate::channels::not_a_channel(&m.chat_id)?;
        Ok(m)
    }

    /// Sends `message` under `wa_id` and records it (once) as sent.
    pub(crate) async fn send_and_record(
        &self,
        chat: &ChatId,
        message: wa::Message,
        msg_type: MessageType,
        body: Option<String>,
        quoted_wa_id: Option<&str>,
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let to: Jid = chat
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(chat.api()))?;
        self.ensure_recipient(&client, chat).await?;
        let extras = crate::convert::extras(&message);
        let sent = client
            .send_message_with_options(to, message, SendOptions::default().with_message_id(wa_id))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        let what = Outgoing {
            msg_type,
            body,
            quoted_wa_id,
            extras: extras.as_ref(),
        };
        self.record_sent(&client, chat, sent.message_id, what).await
    }

    async fn record_sent(
        &self,
        client: &whatsapp_rust::client::Client,
        chat: &ChatId,
        wa_id: String,
        what: Outgoing<'_>,
    ) -> Result<SentMessage, EngineError> {
        let Outgoing {
            msg_type,
            body,
            quoted_wa_id,
            extras,
        } = what;
        let timestamp_ms = now_ms();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: chat.jid(),
            wa_id: wa_id.clone(),
            from_me: true,
            sender: crate::session::own_jid(client).unwrap_or_default(),
            recipient: chat.jid(),
            msg_type,
            body,
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: quoted_wa_id.map(str::to_owned),
            push_name: None,
            media: None,
            from_history: false,
        };
        // A resend under the same id (after a crash) is stored and told once.
        self.record_outgoing(&record, extras).await?;
        Ok(SentMessage {
            wa_id,
            chat: chat.clone(),
            timestamp_ms,
        })
    }
}

/// What is stored of a message the session just sent, beside its id.
struct Outgoing<'a> {
    msg_type: MessageType,
    body: Option<String>,
    quoted_wa_id: Option<&'a str>,
    extras: Option<&'a serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcards_escape_names() {
        let v = vcard("Doe, John; Jr\n", "628987654321");
        assert!(v.contains("FN:Doe\\, John\\; Jr\n"), "{v}");
        assert!(v.contains("waid=628987654321:+628987654321"));
    }

    #[test]
    fn revokes_and_edits_are_recognised() {
        use wa::message::protocol_message::Type;
        let key = |id: &str| {
            buffa::MessageField::some(wa::MessageKey {
                id: Some(id.into()),
                ..Default::default()
            })
        };
        let revoke = wa::Message {
            protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
                key: key("A1"),
                r#type: Some(Type::REVOKE),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            protocol_change(&revoke),
            Some(ProtocolChange::Revoke {
                target: "A1".into()
            })
        );
        let edit = wa::Message {
            protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
                key: key("B2"),
                r#type: Some(Type::MESSAGE_EDIT),
                edited_message: buffa::MessageField::some(wa::Message::text("new")),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            protocol_change(&edit),
            Some(ProtocolChange::Edit {
                target: "B2".into(),
                text: Some("new".into())
            })
        );
        assert_eq!(protocol_change(&wa::Message::text("hi")), None);
    }
}

//! A channel's messages: posting a text as its owner or admin (plaintext,
//! stored and announced as `message.sent` like any sent message), reading
//! its latest messages from WhatsApp, and reacting to one by its server id.

use wagate_core::{ChannelId, ChannelRef, MessageStatus, MessageType, now_ms};
use wagate_store::app::NewMessage;
use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{channel_error, channel_jid};
use crate::convert;
use crate::error::EngineError;
use crate::session::Session;

/// A post this session made.
#[derive(Clone, Debug)]
pub struct ChannelPost {
    /// The contract's message id (`true_<channel>_<waId>`).
    pub message_id: String,
    pub wa_id: String,
    pub timestamp_ms: i64,
}

/// One reaction and how many gave it.
#[derive(Clone, Debug)]
pub struct ReactionCount {
    pub reaction: String,
    pub count: u64,
}

/// A message of a channel, as WhatsApp keeps it.
#[derive(Clone, Debug)]
pub struct ChannelMessage {
    /// The server's id: what reactions (and paging) name.
    pub server_id: u64,
    /// The message's own id (empty when WhatsApp gave none).
    pub wa_id: String,
    /// Unix seconds.
    pub timestamp: u64,
    /// The contract's message type (`None`: content the gateway does not show).
    pub msg_type: Option<MessageType>,
    pub body: Option<String>,
    /// Whether this session posted it.
    pub from_me: bool,
    pub reactions: Vec<ReactionCount>,
}

impl Session {
    /// Posts a text to a channel this session owns or administers.
    pub async fn post_to_channel(
        &self,
        id: &ChannelId,
        text: &str,
    ) -> Result<ChannelPost, EngineError> {
        let info = self.channel_info(&ChannelRef::Id(id.clone())).await?;
        if !info.role.is_some_and(|r| r.can_post()) {
            return Err(EngineError::ChannelNotAdmin);
        }
        let client = self.ready_client().await?;
        let sent = client
            .send_message(channel_jid(id)?, wa::Message::text(text))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        let timestamp_ms = now_ms();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: id.jid(),
            wa_id: sent.message_id.clone(),
            from_me: true,
            sender: crate::session::own_jid(&client).unwrap_or_default(),
            recipient: id.jid(),
            msg_type: MessageType::Chat,
            body: Some(text.to_string()),
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: None,
            push_name: None,
            media: None,
            from_history: false,
        };
        self.record_outgoing(&record, None).await?;
        Ok(ChannelPost {
            message_id: wagate_core::ids::message_id(true, &id.jid(), &sent.message_id),
            wa_id: sent.message_id,
            timestamp_ms,
        })
    }

    /// A channel's latest `limit` messages (older than the server id
    /// `before`, when given), newest last as WhatsApp answers them.
    pub async fn channel_messages(
        &self,
        id: &ChannelId,
        limit: u32,
        before: Option<u64>,
    ) -> Result<Vec<ChannelMessage>, EngineError> {
        let client = self.ready_client().await?;
        let messages = client
            .newsletter()
            .get_messages(channel_jid(id)?, limit, before)
            .await
            .map_err(channel_error)?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let (msg_type, body) = match m.message.as_ref().and_then(convert::classify) {
                    Some((t, b)) => (Some(t), b),
                    None => (None, None),
                };
                ChannelMessage {
                    server_id: m.server_id,
                    wa_id: m.message_id,
                    timestamp: m.timestamp,
                    msg_type,
                    body,
                    from_me: m.is_sender,
                    reactions: m
                        .reactions
                        .into_iter()
                        .map(|r| ReactionCount {
                            reaction: r.code,
                            count: r.count,
                        })
                        .collect(),
                }
            })
            .collect())
    }

    /// Reacts to the channel message `server_id` (an empty reaction takes
    /// this session's reaction back). The channel must be one WhatsApp
    /// shows this session.
    pub async fn react_in_channel(
        &self,
        id: &ChannelId,
        server_id: u64,
        reaction: &str,
    ) -> Result<(), EngineError> {
        self.channel_info(&ChannelRef::Id(id.clone())).await?;
        let client = self.ready_client().await?;
        client
            .newsletter()
            .send_reaction(&channel_jid(id)?, server_id, reaction)
            .await
            .map_err(channel_error)
    }
}

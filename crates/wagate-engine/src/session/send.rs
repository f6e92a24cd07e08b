//! Sending a text, with quotes and mentions, and recording it once.

use super::*;

impl Session {
    // ── sending ────────────────────────────────────────────────────────

    /// Sends a text under the WhatsApp id `wa_id`, optionally quoting a
    /// stored message and mentioning people; stores it and emits
    /// `message.sent` (once, however often the same id is sent).
    pub async fn send_text(
        &self,
        chat: &ChatId,
        text: &str,
        quoted_wa_id: Option<&str>,
        mentions: &[ChatId],
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let to: Jid = chat
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(chat.api()))?;
        self.ensure_recipient(&client, chat).await?;

        let context = self.context_info(&client, quoted_wa_id, mentions).await?;
        let message = match context {
            Some(ctx) => wa::Message::text_with_context(text, ctx),
            None => wa::Message::text(text),
        };
        let sent = client
            .send_message_with_options(to, message, SendOptions::default().with_message_id(wa_id))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;

        let timestamp_ms = now_ms();
        let own = crate::session::own_jid(&client).unwrap_or_default();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: chat.jid(),
            wa_id: sent.message_id.clone(),
            from_me: true,
            sender: own,
            recipient: chat.jid(),
            msg_type: MessageType::Chat,
            body: Some(text.to_string()),
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: quoted_wa_id.map(str::to_owned),
            push_name: None,
            media: None,
            from_history: false,
        };
        self.record_outgoing(&record, None).await?;
        Ok(SentMessage {
            wa_id: sent.message_id,
            chat: chat.clone(),
            timestamp_ms,
        })
    }

    pub(crate) async fn ready_client(&self) -> Result<Arc<Client>, EngineError> {
        let live = self.live();
        match live.status {
            SessionStatus::Ready => {}
            SessionStatus::Error if live.reason == Some(StatusReason::Banned) => {
                return Err(EngineError::Banned);
            }
            other => return Err(EngineError::NotReady(other.api())),
        }
        self.client()
            .await
            .ok_or(EngineError::NotReady(SessionStatus::Disconnected.api()))
    }

    pub(crate) async fn context_info(
        &self,
        client: &Client,
        quoted_wa_id: Option<&str>,
        mentions: &[ChatId],
    ) -> Result<Option<wa::ContextInfo>, EngineError> {
        if quoted_wa_id.is_none() && mentions.is_empty() {
            return Ok(None);
        }
        let mut ctx = wa::ContextInfo {
            mentioned_jid: mentions.iter().map(ChatId::jid).collect(),
            ..Default::default()
        };
        if let Some(quoted) = quoted_wa_id {
            let original = self
                .shared
                .store
                .get_message(&self.id, quoted)
                .await?
                .ok_or(EngineError::QuotedNotFound)?;
            let participant = if original.from_me {
                crate::session::own_jid(client).unwrap_or(original.sender)
            } else {
                original.sender
            };
            ctx.stanza_id = Some(original.wa_id);
            ctx.participant = Some(participant);
            ctx.quoted_message =
                buffa::MessageField::some(wa::Message::text(original.body.unwrap_or_default()));
        }
        Ok(Some(ctx))
    }
}

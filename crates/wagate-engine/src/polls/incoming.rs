//! Votes others cast: a `pollUpdateMessage` decrypted with its poll's
//! secret, kept as the voter's latest vote and announced as `poll.vote`, in
//! one transaction. A vote that cannot be read is dropped at debug level.

use serde_json::json;
use tracing::debug;
use wagate_core::ChatId;
use wagate_store::app::{NewPoll, PollVote};
use whatsapp_rust::Jid;
use whatsapp_rust::features::PollVoteCiphertext;
use whatsapp_rust::types::message::MessageInfo;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

use super::count::selected_names;
use crate::error::EngineError;
use crate::events::EventKind;
use crate::session::Session;

impl Session {
    /// The contract's message id of a poll, as this session sees it.
    async fn poll_message_id(&self, poll: &NewPoll, own: &str) -> Result<String, EngineError> {
        let from_me = match self.shared.store.get_message(&self.id, &poll.wa_id).await? {
            Some(m) if m.chat_id == poll.chat_id => m.from_me,
            _ => poll.creator == own,
        };
        let chat = ChatId::api_from_jid(&poll.chat_id);
        Ok(wagate_core::ids::message_id(from_me, &chat, &poll.wa_id))
    }

    /// Applies a received vote. Returns whether `message` was one (then it
    /// is not a message of its own, whether or not the vote could be read).
    pub(crate) async fn apply_poll_vote(
        &self,
        message: &wa::Message,
        info: &MessageInfo,
    ) -> Result<bool, EngineError> {
        let Some(update) = message.get_base_message().poll_update_message.as_option() else {
            return Ok(false);
        };
        let Some(poll_id) = update
            .poll_creation_message_key
            .as_option()
            .and_then(|k| k.id.clone())
        else {
            debug!(session = %self.id, "poll vote without its poll's id dropped");
            return Ok(true);
        };
        let Some((enc_payload, enc_iv)) = update
            .vote
            .as_option()
            .and_then(|v| Some((v.enc_payload.as_deref()?, v.enc_iv.as_deref()?)))
        else {
            debug!(session = %self.id, poll = %poll_id, "poll update without a vote dropped");
            return Ok(true);
        };
        let chat = info.source.chat.to_non_ad_string();
        let poll = match self.shared.store.get_poll(&self.id, &poll_id).await? {
            Some(p) if p.poll.chat_id == chat => p.poll,
            _ => {
                debug!(session = %self.id, poll = %poll_id, "vote on an unknown poll dropped");
                return Ok(true);
            }
        };
        let (Some(secret), Ok(creator), Some(client)) = (
            poll.secret.as_deref(),
            poll.creator.parse::<Jid>(),
            self.client().await,
        ) else {
            debug!(session = %self.id, poll = %poll_id, "vote on a poll without its secret dropped");
            return Ok(true);
        };
        let sender = info.source.sender.to_non_ad();
        let hashes = match client
            .polls()
            .decrypt_vote(
                PollVoteCiphertext {
                    enc_payload,
                    enc_iv,
                },
                secret,
                &poll_id,
                &creator,
                &sender,
            )
            .await
        {
            Ok(h) => h,
            Err(e) => {
                debug!(session = %self.id, poll = %poll_id, "undecryptable vote dropped: {e}");
                return Ok(true);
            }
        };
        // The voter by phone number when the sender is a LID that has one.
        let voter = match &info.source.sender_alt {
            Some(alt) if sender.is_lid() && !alt.is_lid() => alt.to_non_ad_string(),
            _ => sender.to_string(),
        };
        let vote = PollVote {
            voter,
            selected: selected_names(&poll.options, &hashes),
            voted_at: update
                .sender_timestamp_ms
                .unwrap_or_else(|| info.timestamp.timestamp_millis()),
        };
        let own = crate::session::own_jid(&client).unwrap_or_default();
        let poll_message_id = self.poll_message_id(&poll, &own).await?;
        let mut tx = self.shared.store.begin().await?;
        if !tx
            .record_poll_vote(&self.id, &poll.chat_id, &poll.wa_id, &vote)
            .await?
        {
            debug!(session = %self.id, poll = %poll_id, "older or repeated vote ignored");
            return Ok(true);
        }
        let data = json!({
            "pollMessageId": poll_message_id,
            "chatId": ChatId::api_from_jid(&poll.chat_id),
            "voter": ChatId::api_from_jid(&vote.voter),
            "selectedOptions": vote.selected,
            "timestamp": wagate_core::iso_ms(vote.voted_at),
        });
        tx.append(&self.id, &self.tenant_id, EventKind::PollVote, &data)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

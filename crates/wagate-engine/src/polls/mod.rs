//! Polls: sending one, voting on one, and the votes others cast.
//!
//! A poll's votes are encrypted with the poll's 32-byte message secret, so
//! the session keeps every poll it sends or receives with that secret and
//! its options (`polls` in the store; the message itself is history of type
//! `poll`, with `{name, options, selectableCount}` shown as `poll`).
//!
//! - Sending goes through the send queue under the id chosen when it was
//!   queued, so the poll's row (and secret) is written before the send: a
//!   resend after a crash reuses the secret its first copy carried.
//! - An incoming vote (`pollUpdateMessage`) is decrypted with the poll's
//!   secret, kept as the voter's latest vote (the voter's clock decides),
//!   and announced as `poll.vote` on every session that holds the poll —
//!   its creator's and the other members'. A vote on a poll the session
//!   does not know, or one that does not decrypt, is dropped (logged at
//!   debug): it is still acked, as WhatsApp would have nothing better to
//!   send again.
//! - A vote the session casts itself is kept the same way (no event: the
//!   caller made it), so creator and voters count alike.
//!
//! Rooms: [`message`] (polls on the wire and as shown), [`count`] (votes
//! named, checked and counted), [`incoming`] (others' votes); here: sending,
//! voting and results.

mod count;
mod incoming;
pub(crate) mod message;
#[cfg(test)]
mod tests;

use wagate_core::{ChatId, MessageType, now_ms};
use wagate_store::app::{NewPoll, PollRecord, PollVote};
use whatsapp_rust::wacore::poll::compute_option_hash;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, buffa};

use crate::error::EngineError;
use crate::session::{SentMessage, Session};
use count::check_selection;
pub use count::{OptionTally, selected_names, tally};
pub use message::{creation, extras};

/// A poll to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollSpec {
    /// The question.
    pub name: String,
    pub options: Vec<String>,
    /// How many options a voter may choose (`0`: any number).
    pub selectable_count: u32,
    /// A quiz's correct option (a quiz is single-choice).
    pub correct_option: Option<String>,
}

/// A poll and its results.
#[derive(Clone, Debug)]
pub struct PollResults {
    /// The poll's contract message id.
    pub poll_message_id: String,
    pub poll: NewPoll,
    /// A quiz's correct option.
    pub correct_option: Option<String>,
    pub options: Vec<OptionTally>,
    /// Voters with a vote standing.
    pub total_voters: usize,
}

/// A vote the session cast.
#[derive(Clone, Debug)]
pub struct CastVote {
    /// The poll's contract message id.
    pub poll_message_id: String,
    pub selected: Vec<String>,
    pub timestamp_ms: i64,
}

impl Session {
    /// Sends a poll under the WhatsApp id `wa_id`.
    pub async fn send_poll(
        &self,
        chat: &ChatId,
        spec: &PollSpec,
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let own = crate::session::own_jid(&client).ok_or(EngineError::NotReady(
            wagate_core::SessionStatus::Connecting.api(),
        ))?;
        // Kept before it goes: a resend under the same id finds the secret
        // its first copy carried.
        let store = &self.shared.store;
        store
            .insert_poll(&NewPoll {
                session_id: self.id.clone(),
                chat_id: chat.jid(),
                wa_id: wa_id.to_string(),
                creator: own,
                name: spec.name.clone(),
                options: spec.options.clone(),
                selectable_count: spec.selectable_count,
                secret: Some(rand::random::<[u8; 32]>().to_vec()),
            })
            .await?;
        let secret = store
            .get_poll(&self.id, wa_id)
            .await?
            .and_then(|p| p.poll.secret)
            .ok_or_else(|| EngineError::Engine("the poll's secret was not kept".into()))?;
        let option = |name: &str, hash: bool| wa::message::poll_creation_message::Option {
            option_name: Some(name.to_string()),
            // A quiz's answer carries its hash too (lowercase hex of SHA-256).
            option_hash: hash.then(|| hex::encode(compute_option_hash(name))),
        };
        let selectable_count = spec.selectable_count;
        let poll = wa::message::PollCreationMessage {
            name: Some(spec.name.clone()),
            options: spec.options.iter().map(|o| option(o, false)).collect(),
            selectable_options_count: Some(selectable_count),
            poll_content_type: Some(wa::message::PollContentType::TEXT),
            poll_type: spec
                .correct_option
                .as_ref()
                .map(|_| wa::message::PollType::QUIZ),
            correct_answer: spec
                .correct_option
                .as_deref()
                .map(|answer| buffa::MessageField::some(option(answer, true)))
                .unwrap_or_default(),
            ..Default::default()
        };
        // WhatsApp Web sends single-choice polls as v3, others as v1.
        let mut message = if selectable_count == 1 {
            wa::Message {
                poll_creation_message_v3: buffa::MessageField::some(poll),
                ..Default::default()
            }
        } else {
            wa::Message {
                poll_creation_message: buffa::MessageField::some(poll),
                ..Default::default()
            }
        };
        message.message_context_info = buffa::MessageField::some(wa::MessageContextInfo {
            message_secret: Some(secret),
            ..Default::default()
        });
        self.send_and_record(
            chat,
            message,
            MessageType::Poll,
            Some(spec.name.clone()),
            None,
            wa_id,
        )
        .await
    }

    /// Votes on a poll of this session's history with the options named
    /// `selected` (empty withdraws the vote).
    pub async fn vote_poll(
        &self,
        poll_wa_id: &str,
        selected: &[String],
    ) -> Result<CastVote, EngineError> {
        let client = self.ready_client().await?;
        let (poll_message_id, record, _) = self.poll(poll_wa_id).await?;
        let poll = &record.poll;
        let chosen = check_selection(poll, selected)?;
        let secret = poll.secret.as_deref().ok_or_else(|| {
            EngineError::Invalid(
                "this poll arrived without its secret, so votes on it cannot be sent".into(),
            )
        })?;
        let bad =
            |what: &str| EngineError::Engine(format!("the stored poll's {what} is not a JID"));
        let chat: Jid = poll.chat_id.parse().map_err(|_| bad("chat id"))?;
        let creator: Jid = poll.creator.parse().map_err(|_| bad("creator"))?;
        let own = crate::session::own_jid(&client).ok_or(EngineError::NotReady(
            wagate_core::SessionStatus::Connecting.api(),
        ))?;
        client
            .polls()
            .vote(chat, &poll.wa_id, &creator, secret, &chosen)
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;
        let timestamp_ms = now_ms();
        self.shared
            .store
            .record_poll_vote(
                &self.id,
                &poll.chat_id,
                &poll.wa_id,
                &PollVote {
                    voter: own,
                    selected: chosen.clone(),
                    voted_at: timestamp_ms,
                },
            )
            .await?;
        Ok(CastVote {
            poll_message_id,
            selected: chosen,
            timestamp_ms,
        })
    }

    /// The poll `wa_id` of this session's history, its contract message id
    /// and, for a quiz, its correct option (`NotFound` when the message is
    /// not one of its polls).
    pub async fn poll(
        &self,
        wa_id: &str,
    ) -> Result<(String, PollRecord, Option<String>), EngineError> {
        let not_a_poll = || EngineError::NotFound(format!("no poll '{wa_id}' in this session"));
        let message = self
            .shared
            .store
            .get_message(&self.id, wa_id)
            .await?
            .filter(|m| m.msg_type == MessageType::Poll)
            .ok_or_else(not_a_poll)?;
        let poll = self
            .shared
            .store
            .get_poll(&self.id, wa_id)
            .await?
            .filter(|p| p.poll.chat_id == message.chat_id)
            .ok_or_else(not_a_poll)?;
        let chat = ChatId::api_from_jid(&message.chat_id);
        let id = wagate_core::ids::message_id(message.from_me, &chat, &message.wa_id);
        let answer = message
            .extras
            .as_ref()
            .and_then(|x| x["poll"]["correctOption"].as_str())
            .map(str::to_owned);
        Ok((id, poll, answer))
    }

    /// A poll of this session's history with its results: each voter's
    /// latest vote, counted.
    pub async fn poll_results(&self, wa_id: &str) -> Result<PollResults, EngineError> {
        let (poll_message_id, record, correct_option) = self.poll(wa_id).await?;
        let poll = record.poll;
        let votes = self
            .shared
            .store
            .poll_votes(&self.id, &poll.chat_id, &poll.wa_id)
            .await?;
        let (options, total_voters) = tally(&poll.options, &votes);
        Ok(PollResults {
            poll_message_id,
            poll,
            correct_option,
            options,
            total_voters,
        })
    }
}

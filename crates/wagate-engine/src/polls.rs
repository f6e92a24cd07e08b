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

use serde_json::json;
use tracing::debug;
use wagate_core::{ChatId, MessageType, now_ms};
use wagate_store::app::{NewPoll, PollRecord, PollVote};
use whatsapp_rust::features::PollVoteCiphertext;
use whatsapp_rust::types::message::MessageInfo;
use whatsapp_rust::wacore::poll::compute_option_hash;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, buffa};

use crate::error::EngineError;
use crate::events::EventKind;
use crate::session::{SentMessage, Session};

/// The poll a message creates, whichever of WhatsApp's versions carries it.
pub fn creation(message: &wa::Message) -> Option<&wa::message::PollCreationMessage> {
    let base = message.get_base_message();
    [
        &base.poll_creation_message,
        &base.poll_creation_message_v2,
        &base.poll_creation_message_v3,
        &base.poll_creation_message_v5,
        &base.poll_creation_message_v6,
    ]
    .into_iter()
    .find_map(|field| field.as_option())
}

/// What a poll message carries beyond its body (the question), as the
/// message's extras: `{"poll": {name, options, selectableCount}}`, plus
/// `correctOption` for a quiz.
pub fn extras(poll: &wa::message::PollCreationMessage) -> serde_json::Value {
    let mut shown = json!({
        "name": poll.name,
        "options": option_names(poll),
        "selectableCount": poll.selectable_options_count.unwrap_or(0),
    });
    if let Some(answer) = correct_option(poll) {
        shown["correctOption"] = json!(answer);
    }
    json!({ "poll": shown })
}

/// A quiz's correct option (`None` for a plain poll).
fn correct_option(poll: &wa::message::PollCreationMessage) -> Option<&str> {
    poll.correct_answer
        .as_option()
        .and_then(|a| a.option_name.as_deref())
}

fn option_names(poll: &wa::message::PollCreationMessage) -> Vec<String> {
    poll.options
        .iter()
        .filter_map(|o| o.option_name.clone())
        .collect()
}

/// The message secret a message carries (a poll's, for its votes).
fn message_secret(message: &wa::Message) -> Option<Vec<u8>> {
    [message, message.get_base_message()]
        .into_iter()
        .find_map(|m| {
            m.message_context_info
                .as_option()
                .and_then(|c| c.message_secret.clone())
        })
        .filter(|s| s.len() == 32)
}

/// The poll a received (or own-device) message creates, to keep beside it.
pub(crate) fn received(
    session_id: &str,
    message: &wa::Message,
    info: &MessageInfo,
) -> Option<NewPoll> {
    let poll = creation(message)?;
    Some(NewPoll {
        session_id: session_id.to_string(),
        chat_id: info.source.chat.to_non_ad_string(),
        wa_id: info.id.to_string(),
        creator: info.source.sender.to_non_ad_string(),
        name: poll.name.clone().unwrap_or_default(),
        options: option_names(poll),
        selectable_count: poll.selectable_options_count.unwrap_or(0),
        secret: message_secret(message),
    })
}

/// The option names whose hashes a decrypted vote lists, in the poll's
/// order (a hash that names no option is ignored).
pub fn selected_names(options: &[String], hashes: &[Vec<u8>]) -> Vec<String> {
    options
        .iter()
        .filter(|name| {
            let hash = compute_option_hash(name);
            hashes.iter().any(|h| h.as_slice() == hash)
        })
        .cloned()
        .collect()
}

/// One option's count in a poll's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionTally {
    pub name: String,
    /// The voters (JIDs) who chose it, in the order they last voted.
    pub voters: Vec<String>,
}

/// A poll's results from each voter's latest vote: every option with the
/// voters who chose it, and how many voters have a vote standing (a
/// withdrawn vote counts for nothing).
pub fn tally(options: &[String], votes: &[PollVote]) -> (Vec<OptionTally>, usize) {
    let mut out: Vec<OptionTally> = options
        .iter()
        .map(|name| OptionTally {
            name: name.clone(),
            voters: Vec::new(),
        })
        .collect();
    let mut voters = 0;
    for vote in votes {
        let mut counted = false;
        for option in out.iter_mut() {
            if vote.selected.contains(&option.name) {
                option.voters.push(vote.voter.clone());
                counted = true;
            }
        }
        voters += usize::from(counted);
    }
    (out, voters)
}

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
        let own = client
            .pn()
            .map(|j| j.to_non_ad_string())
            .ok_or(EngineError::NotReady(
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
        let own = client
            .pn()
            .map(|j| j.to_non_ad_string())
            .ok_or(EngineError::NotReady(
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
        let own = client
            .pn()
            .map(|j| j.to_non_ad_string())
            .unwrap_or_default();
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

/// The options named `selected`, in the poll's order: each one of the
/// poll's, none twice, and no more than the poll lets a voter choose.
fn check_selection(poll: &NewPoll, selected: &[String]) -> Result<Vec<String>, EngineError> {
    for (i, name) in selected.iter().enumerate() {
        if !poll.options.contains(name) {
            return Err(EngineError::Invalid(format!(
                "'{name}' is not an option of this poll (options: {})",
                poll.options.join(", ")
            )));
        }
        if selected[..i].contains(name) {
            return Err(EngineError::Invalid(format!("'{name}' is chosen twice")));
        }
    }
    let allowed = poll.selectable_count as usize;
    if allowed > 0 && selected.len() > allowed {
        return Err(EngineError::Invalid(format!(
            "this poll lets a voter choose at most {allowed} option(s)"
        )));
    }
    Ok(poll
        .options
        .iter()
        .filter(|o| selected.contains(o))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn poll(count: u32) -> NewPoll {
        NewPoll {
            session_id: "s".into(),
            chat_id: "1@g.us".into(),
            wa_id: "P".into(),
            creator: "628111@s.whatsapp.net".into(),
            name: "Lunch?".into(),
            options: names(&["Rice", "Noodles", "Soup"]),
            selectable_count: count,
            secret: None,
        }
    }

    #[test]
    fn selections_are_checked_and_put_in_order() {
        let p = poll(0);
        assert_eq!(
            check_selection(&p, &names(&["Soup", "Rice"])).unwrap(),
            names(&["Rice", "Soup"])
        );
        assert!(check_selection(&p, &[]).unwrap().is_empty());
        assert!(check_selection(&p, &names(&["Pizza"])).is_err());
        assert!(check_selection(&p, &names(&["Rice", "Rice"])).is_err());
        assert!(check_selection(&poll(1), &names(&["Rice", "Soup"])).is_err());
        assert!(check_selection(&poll(1), &names(&["Soup"])).is_ok());
    }

    #[test]
    fn vote_hashes_name_options() {
        let options = names(&["Rice", "Noodles", "Soup"]);
        let hashes = vec![
            compute_option_hash("Soup").to_vec(),
            compute_option_hash("Rice").to_vec(),
            compute_option_hash("Pizza").to_vec(),
        ];
        assert_eq!(selected_names(&options, &hashes), names(&["Rice", "Soup"]));
        assert!(selected_names(&options, &[]).is_empty());
    }

    #[test]
    fn results_count_standing_votes() {
        let vote = |voter: &str, selected: &[&str]| PollVote {
            voter: voter.into(),
            selected: names(selected),
            voted_at: 0,
        };
        let votes = [
            vote("b", &["Rice"]),
            vote("c", &["Rice", "Soup"]),
            vote("d", &[]),
        ];
        let (options, voters) = tally(&names(&["Rice", "Noodles", "Soup"]), &votes);
        assert_eq!(voters, 2);
        assert_eq!(options[0].voters, names(&["b", "c"]));
        assert!(options[1].voters.is_empty());
        assert_eq!(options[2].voters, names(&["c"]));
    }

    #[test]
    fn polls_of_every_version_are_found() {
        let p = wa::message::PollCreationMessage {
            name: Some("Lunch?".into()),
            options: vec![wa::message::poll_creation_message::Option {
                option_name: Some("Rice".into()),
                option_hash: None,
            }],
            selectable_options_count: Some(1),
            ..Default::default()
        };
        let v3 = wa::Message {
            poll_creation_message_v3: buffa::MessageField::some(p.clone()),
            ..Default::default()
        };
        assert_eq!(
            creation(&v3).and_then(|p| p.name.clone()).as_deref(),
            Some("Lunch?")
        );
        let x = extras(creation(&v3).unwrap());
        assert_eq!(x["poll"]["options"][0], "Rice");
        assert_eq!(x["poll"]["selectableCount"], 1);
        let text = wa::Message {
            conversation: Some("hi".into()),
            ..Default::default()
        };
        assert!(creation(&text).is_none());
    }
}

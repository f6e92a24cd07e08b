//! History at link: the chats a virtual phone already holds when a device
//! links, pushed to that device the way WhatsApp's phone does it.
//!
//! A test seeds them with `POST /admin/phones {"history": [...]}`. Right
//! after a device links, the phone (as itself, `phone_session.rs`) sends a
//! `protocolMessage{HISTORY_SYNC_NOTIFICATION}` of type INITIAL_BOOTSTRAP
//! whose `HistorySync` travels inline, zlib-compressed, inside the
//! end-to-end encrypted message. This is the phone's own record, not
//! something the relay read: the sandbox never decrypts what devices send.

use std::io::Write as _;

use buffa::Message as _;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use waproto::whatsapp as wa;

use crate::nodes::{new_id, now_secs};

/// At most this many chats, and messages in all, per phone.
pub const MAX_CHATS: usize = 500;
pub const MAX_MESSAGES: usize = 5_000;
/// At most this many characters per message text.
pub const MAX_TEXT_CHARS: usize = 4_096;

/// One chat of a phone's seeded history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedChat {
    /// A phone number (`628…`) or a group id (`…@g.us`).
    pub chat: String,
    /// The name the phone shows for the chat.
    #[serde(default)]
    pub name: Option<String>,
    /// Oldest first.
    #[serde(default)]
    pub messages: Vec<SeedMessage>,
}

/// One text message of a seeded chat.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedMessage {
    /// The WhatsApp message id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Sent by the phone's owner (else received).
    #[serde(default)]
    pub from_me: bool,
    /// Who wrote it, in a group (a phone number); ignored in a direct chat.
    #[serde(default)]
    pub sender: Option<String>,
    pub text: String,
    /// Unix seconds (a second apart, ending a minute ago, when absent).
    #[serde(default)]
    pub timestamp: Option<u64>,
}

/// The JID a seeded chat names, if it names one.
fn chat_jid(chat: &str) -> Option<String> {
    if let Some(group) = chat.strip_suffix("@g.us") {
        let ok = !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        return ok.then(|| chat.to_string());
    }
    is_phone(chat).then(|| format!("{chat}@s.whatsapp.net"))
}

fn is_phone(p: &str) -> bool {
    (5..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a seed and fills in what it left out (ids, timestamps), or says
/// what is wrong with it.
pub fn prepare(mut chats: Vec<SeedChat>) -> Result<Vec<SeedChat>, String> {
    if chats.len() > MAX_CHATS {
        return Err(format!("history: at most {MAX_CHATS} chats"));
    }
    let total: usize = chats.iter().map(|c| c.messages.len()).sum();
    if total > MAX_MESSAGES {
        return Err(format!("history: at most {MAX_MESSAGES} messages in all"));
    }
    let mut next_ts = now_secs().saturating_sub(60 + total as i64) as u64;
    for c in &mut chats {
        if chat_jid(&c.chat).is_none() {
            return Err(format!(
                "history: chat {:?} is neither a phone number nor a group id",
                c.chat
            ));
        }
        let group = c.chat.ends_with("@g.us");
        for m in &mut c.messages {
            if m.text.chars().count() > MAX_TEXT_CHARS {
                return Err(format!(
                    "history: a text is over {MAX_TEXT_CHARS} characters"
                ));
            }
            if group && !m.from_me && !m.sender.as_deref().is_some_and(is_phone) {
                return Err("history: a received group message needs a sender phone".into());
            }
            if m.id
                .as_deref()
                .is_some_and(|id| id.is_empty() || id.len() > 64)
            {
                return Err("history: a message id is 1-64 characters".into());
            }
            m.id.get_or_insert_with(new_id);
            next_ts += 1;
            m.timestamp.get_or_insert(next_ts);
        }
    }
    Ok(chats)
}

/// The LID of a phone that is addressed by it (`Phone::lid_addressed`).
pub type LidOf<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The `HistorySync` of `chats`, as the phone of `own_phone` holds them. A
/// direct chat with a LID-addressed person is named by the LID, with the
/// phone number beside (`pn_jid`), and the pair is among the sync's
/// phone-number ↔ LID mappings, as WhatsApp's phone sends them.
fn history_sync(own_phone: &str, chats: &[SeedChat], lid_of: LidOf<'_>) -> wa::HistorySync {
    let own = format!("{own_phone}@s.whatsapp.net");
    let mut mappings = Vec::new();
    let conversations = chats
        .iter()
        .filter_map(|c| {
            let pn_jid = chat_jid(&c.chat)?;
            let group = pn_jid.ends_with("@g.us");
            let lid = (!group).then(|| lid_of(&c.chat)).flatten();
            let jid = match &lid {
                Some(lid) => {
                    let lid = format!("{lid}@lid");
                    mappings.push(wa::PhoneNumberToLIDMapping {
                        pn_jid: Some(pn_jid.clone()),
                        lid_jid: Some(lid.clone()),
                    });
                    lid
                }
                None => pn_jid.clone(),
            };
            let messages = c
                .messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let participant = match (group, m.from_me) {
                        (false, _) => None,
                        (true, true) => Some(own.clone()),
                        (true, false) => m.sender.as_ref().map(|s| format!("{s}@s.whatsapp.net")),
                    };
                    wa::HistorySyncMsg {
                        message: buffa::MessageField::some(wa::WebMessageInfo {
                            key: buffa::MessageField::some(wa::MessageKey {
                                remote_jid: Some(jid.clone()),
                                from_me: Some(m.from_me),
                                id: m.id.clone(),
                                participant: participant.clone(),
                            }),
                            message: buffa::MessageField::some(wa::Message {
                                conversation: Some(m.text.clone()),
                                ..Default::default()
                            }),
                            message_timestamp: m.timestamp,
                            participant,
                            ..Default::default()
                        }),
                        msg_order_id: Some(i as u64 + 1),
                    }
                })
                .collect();
            Some(wa::Conversation {
                id: jid,
                pn_jid: lid.is_some().then_some(pn_jid),
                name: c.name.clone(),
                last_msg_timestamp: c.messages.last().and_then(|m| m.timestamp),
                messages,
                ..Default::default()
            })
        })
        .collect();
    wa::HistorySync {
        sync_type: wa::history_sync::HistorySyncType::INITIAL_BOOTSTRAP,
        conversations,
        phone_number_to_lid_mappings: mappings,
        chunk_order: Some(0),
        progress: Some(100),
        ..Default::default()
    }
}

/// The phone's `HISTORY_SYNC_NOTIFICATION` carrying `chats` inline.
pub fn notification(
    own_phone: &str,
    chats: &[SeedChat],
    lid_of: LidOf<'_>,
) -> anyhow::Result<wa::Message> {
    let raw = history_sync(own_phone, chats, lid_of).encode_to_vec();
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
    zlib.write_all(&raw)?;
    let compressed = zlib.finish()?;
    Ok(wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::HISTORY_SYNC_NOTIFICATION),
            history_sync_notification: buffa::MessageField::some(
                wa::message::HistorySyncNotification {
                    file_length: Some(compressed.len() as u64),
                    sync_type: Some(wa::message::HistorySyncType::INITIAL_BOOTSTRAP),
                    chunk_order: Some(0),
                    progress: Some(100),
                    initial_hist_bootstrap_inline_payload: Some(compressed),
                    ..Default::default()
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;

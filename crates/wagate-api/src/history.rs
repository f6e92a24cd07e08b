//! A stored message as the API shows it: history pages, chat previews.
//!
//! A chat or sender WhatsApp names by LID (`…@lid`) is shown with its phone
//! number beside (`chatPn`, `senderPn`) when the session's device knows the
//! pair ([`PhoneNumbers`], read from what the engine learned, at read time).

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;
use wagate_core::{ChatId, iso_ms};
use wagate_store::app::MessageRecord;
use wagate_store::{Store, StoreError};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    pub id: String,
    /// The session that sent or received it.
    pub session_id: String,
    /// Its place in the tenant-wide feed (`GET /api/messages?after=`).
    pub seq: i64,
    pub from: String,
    pub to: String,
    pub body: Option<String>,
    /// `chat`, `image`, `video`, `audio`, `ptt`, `document`, `sticker`, `location`, `vcard`, `reaction`, `poll`, `revoked`.
    #[serde(rename = "type")]
    pub msg_type: String,
    pub wa_timestamp: i64,
    pub timestamp: String,
    pub from_me: bool,
    pub has_media: bool,
    /// `sent`, `delivered`, `read`, `played` for outgoing; `received` for incoming.
    pub status: String,
    pub quoted_message_id: Option<String>,
    pub push_name: Option<String>,
    /// Pushed by the phone when the session linked (WhatsApp's history
    /// sync), not received live: never emitted as `message.received`.
    pub from_history: bool,
    /// The account starred it (here or on any of its devices).
    pub starred: bool,
    /// The sender's phone number (`628…@c.us`) when `from` is a LID and
    /// the session knows the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "628123456789@c.us")]
    pub sender_pn: Option<String>,
    /// The chat's phone number (`628…@c.us`) when a one-to-one chat is
    /// named by LID and the session knows the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "628123456789@c.us")]
    pub chat_pn: Option<String>,
    /// The file the message carries, when it was stored.
    pub media: Option<MediaDto>,
    /// A location's `{latitude, longitude, name, address, url, isLive}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub location: Option<serde_json::Value>,
    /// A contact card's `{displayName, vcard}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub vcard: Option<serde_json::Value>,
    /// Several contact cards, `[{displayName, vcard}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub vcards: Option<serde_json::Value>,
    /// A poll's `{name, options, selectableCount}` (its results:
    /// `GET …/messages/{messageId}/poll`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub poll: Option<serde_json::Value>,
}

/// A message's stored file; `url` is the files endpoint that serves it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaDto {
    #[schema(example = "image/jpeg")]
    pub mimetype: String,
    pub filename: Option<String>,
    pub size: i64,
    #[schema(example = "/api/sessions/sess_abc123/files/f0123456789abcdef0123456789abcdef")]
    pub url: String,
}

impl From<&MessageRecord> for MessageDto {
    fn from(m: &MessageRecord) -> Self {
        let chat_api = ChatId::api_from_jid(&m.chat_id);
        MessageDto {
            id: wagate_core::ids::message_id(m.from_me, &chat_api, &m.wa_id),
            session_id: m.session_id.clone(),
            seq: m.seq,
            from: ChatId::api_from_jid(&m.sender),
            to: ChatId::api_from_jid(&m.recipient),
            body: m.body.clone(),
            msg_type: m.msg_type.to_string(),
            wa_timestamp: m.wa_timestamp,
            timestamp: iso_ms(m.wa_timestamp * 1000),
            from_me: m.from_me,
            has_media: m.msg_type.is_media(),
            status: m.status.to_string(),
            quoted_message_id: m.quoted_id.clone(),
            push_name: m.push_name.clone(),
            from_history: m.from_history,
            starred: m.starred,
            sender_pn: None,
            chat_pn: None,
            media: m.media.as_ref().map(|f| MediaDto {
                mimetype: f.mimetype.clone(),
                filename: f.filename.clone(),
                size: f.size,
                url: format!("/api/sessions/{}/files/{}", m.session_id, f.file_id),
            }),
            location: extra(m, "location"), // not vocabulary: an extras key
            vcard: extra(m, "vcard"),       // not vocabulary: an extras key
            vcards: extra(m, "vcards"),
            poll: extra(m, "poll"), // not vocabulary: an extras key
        }
    }
}

/// One key of a message's stored extras (a location, contact card or poll).
fn extra(m: &MessageRecord, key: &str) -> Option<serde_json::Value> {
    m.extras.as_ref().and_then(|x| x.get(key)).cloned()
}

/// The phone numbers of the LIDs some stored messages name, per session.
#[derive(Default)]
pub struct PhoneNumbers(HashMap<String, HashMap<String, String>>);

impl PhoneNumbers {
    /// What the sessions of `records` know of the LIDs their chats and
    /// senders are.
    pub async fn of<'a>(
        store: &Store,
        records: impl IntoIterator<Item = &'a MessageRecord>,
    ) -> Result<PhoneNumbers, StoreError> {
        let mut wanted: HashMap<&str, Vec<String>> = HashMap::new();
        for m in records {
            for jid in [&m.chat_id, &m.sender] {
                if let Some(lid) = jid.strip_suffix("@lid") {
                    wanted.entry(&m.session_id).or_default().push(lid.into());
                }
            }
        }
        let mut out = HashMap::new();
        for (session, lids) in wanted {
            out.insert(
                session.to_string(),
                store.phones_of_lids(session, &lids).await?,
            );
        }
        Ok(PhoneNumbers(out))
    }

    /// `628…@c.us` of a LID JID (`…@lid`) of `session`, when known.
    pub fn pn(&self, session: &str, jid: &str) -> Option<String> {
        let lid = jid.strip_suffix("@lid")?;
        let pn = self.0.get(session)?.get(lid)?;
        Some(format!("{pn}@c.us"))
    }

    /// The record as the API shows it, LIDs with their phone numbers.
    pub fn dto(&self, m: &MessageRecord) -> MessageDto {
        let mut dto = MessageDto::from(m);
        dto.sender_pn = self.pn(&m.session_id, &m.sender);
        dto.chat_pn = self.pn(&m.session_id, &m.chat_id);
        dto
    }

    /// Each record as the API shows it (see [`PhoneNumbers::dto`]).
    pub async fn dtos(
        store: &Store,
        records: &[MessageRecord],
    ) -> Result<Vec<MessageDto>, StoreError> {
        let pns = PhoneNumbers::of(store, records).await?;
        Ok(records.iter().map(|m| pns.dto(m)).collect())
    }
}

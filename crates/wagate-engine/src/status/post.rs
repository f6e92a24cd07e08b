//! Posting a status and revoking one (see the module above for who sees
//! it and how recipients are addressed).

use std::collections::HashSet;

use serde_json::json;
use tracing::warn;
use wagate_core::status_post::{STATUS_CHAT, background_hex};
use wagate_core::{ChatId, MessageStatus, MessageType, now_ms};
use wagate_store::app::NewMessage;
use whatsapp_rust::client::Client;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{
    Jid, StatusPrivacySetting, StatusSendOptions, UploadOptions, buffa, buffa::Enumeration,
};

use super::{PostedStatus, STATUS_RECIPIENTS_MAX, StatusContent, StatusPost};
use crate::error::EngineError;
use crate::session::Session;

/// People asked about in one number check (their LIDs).
const LID_CHECK_CHUNK: usize = 200;

/// The key under which a status keeps its look and audience in the
/// message's extras.
pub(super) const EXTRAS_KEY: &str = "status";

impl Session {
    /// Posts a status to `post.contacts` (else the session's contacts) and
    /// keeps it in the history with its audience.
    pub async fn post_status(&self, post: StatusPost) -> Result<PostedStatus, EngineError> {
        let client = self.ready_client().await?;
        let explicit = post.contacts.is_some();
        let wanted = match post.contacts {
            Some(list) => self.named_audience(list)?,
            None => self.default_audience().await?,
        };
        if wanted.is_empty() {
            return Err(EngineError::Invalid(
                "no one to post to: this session has no contacts yet; name them in `contacts`"
                    .into(),
            ));
        }
        let (recipients, jids) = reachable(&client, wanted).await;
        if jids.is_empty() {
            return Err(EngineError::Invalid(
                "none of the contacts can get a status: WhatsApp gave no LID for them \
                 (not on WhatsApp, or not addressed by LID)"
                    .into(),
            ));
        }

        let wa_id = client.generate_message_id();
        let (message, msg_type, body, look, media) = match post.content {
            StatusContent::Text {
                text,
                background_argb,
                font,
            } => {
                let font = wa::message::extended_text_message::FontType::from_i32(font)
                    .ok_or_else(|| EngineError::Invalid(format!("unknown font {font}")))?;
                let message = wa::Message {
                    extended_text_message: buffa::MessageField::some(
                        wa::message::ExtendedTextMessage {
                            text: Some(text.clone()),
                            background_argb: Some(background_argb),
                            font: Some(font),
                            ..Default::default()
                        },
                    ),
                    ..Default::default()
                };
                let look = json!({
                    "backgroundColor": background_hex(background_argb),
                    "font": font as i32,
                });
                (message, MessageType::Chat, Some(text), look, None)
            }
            StatusContent::Media(staged) => {
                let bytes = self
                    .shared
                    .config
                    .media
                    .store
                    .get(&staged.path)
                    .await
                    .map_err(|e| EngineError::Engine(format!("the kept file is gone: {e}")))?;
                let up = client
                    .upload(bytes, staged.kind.media_type(), UploadOptions::default())
                    .await
                    .map_err(|e| EngineError::SendFailed(format!("media upload: {e}")))?;
                let message = crate::media::build_message(&staged, up, None);
                let (t, caption) = (staged.msg_type(), staged.caption.clone());
                (message, t, caption, json!({}), Some(staged))
            }
        };
        let options = StatusSendOptions {
            privacy: if explicit {
                StatusPrivacySetting::AllowList
            } else {
                StatusPrivacySetting::Contacts
            },
            message_id: Some(wa_id.clone()),
            ..Default::default()
        };
        client
            .status()
            .send_raw(message, &jids, options)
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;

        let timestamp_ms = now_ms();
        let mut extras = look;
        extras["audience"] = json!(jids.iter().map(|j| j.to_string()).collect::<Vec<_>>());
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: STATUS_CHAT.to_string(),
            wa_id: wa_id.clone(),
            from_me: true,
            sender: crate::session::own_jid(&client).unwrap_or_default(),
            recipient: STATUS_CHAT.to_string(),
            msg_type,
            body,
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: None,
            push_name: None,
            media: media.as_ref().map(|m| m.file()),
            from_history: false,
        };
        let mut tx = self.shared.store.begin().await?;
        tx.insert_message(&record).await?;
        tx.set_message_extras(
            &self.id,
            STATUS_CHAT,
            &wa_id,
            &json!({ EXTRAS_KEY: extras }),
        )
        .await?;
        tx.commit().await?;
        if let Some(m) = &media {
            m.keep();
        }
        Ok(PostedStatus {
            message_id: wagate_core::ids::message_id(true, STATUS_CHAT, &wa_id),
            wa_id,
            recipients,
            timestamp_ms,
        })
    }

    /// Revokes an own status of the history, for the people it went to.
    pub async fn revoke_status(&self, wa_id: &str) -> Result<PostedStatus, EngineError> {
        let not_found = || EngineError::NotFound(format!("no status '{wa_id}' of this session"));
        let stored = self
            .shared
            .store
            .get_message(&self.id, wa_id)
            .await?
            .filter(|m| m.chat_id == STATUS_CHAT && m.from_me)
            .ok_or_else(not_found)?;
        let jids: Vec<Jid> = stored
            .extras
            .as_ref()
            .and_then(|x| x.get(EXTRAS_KEY))
            .and_then(|s| s.get("audience"))
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|j| j.as_str()?.parse().ok()).collect())
            .unwrap_or_default();
        if jids.is_empty() {
            return Err(not_found());
        }
        let client = self.ready_client().await?;
        if stored.msg_type != MessageType::Revoked {
            client
                .status()
                .revoke(wa_id, &jids, StatusSendOptions::default())
                .await
                .map_err(|e| EngineError::SendFailed(e.to_string()))?;
            self.shared
                .store
                .mark_message_revoked(&self.id, STATUS_CHAT, wa_id)
                .await?;
        }
        Ok(PostedStatus {
            message_id: wagate_core::ids::message_id(true, STATUS_CHAT, wa_id),
            wa_id: wa_id.to_string(),
            recipients: jids
                .iter()
                .filter_map(|j| ChatId::parse(&j.to_non_ad_string()).ok())
                .collect(),
            timestamp_ms: now_ms(),
        })
    }

    /// An explicit audience: people only, each once, not the session itself.
    fn named_audience(&self, list: Vec<ChatId>) -> Result<Vec<ChatId>, EngineError> {
        let own = self.live().phone;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(list.len());
        for chat in list {
            if chat.is_group() {
                return Err(EngineError::InvalidChatId(format!(
                    "{}: a status goes to people, not groups",
                    chat.api()
                )));
            }
            if matches!(&chat, ChatId::User(u) if Some(u) == own.as_ref()) {
                continue;
            }
            if seen.insert(chat.clone()) {
                out.push(chat);
            }
        }
        Ok(out)
    }

    /// The session's contacts, blocked ones left out, newest first, at
    /// most [`STATUS_RECIPIENTS_MAX`].
    async fn default_audience(&self) -> Result<Vec<ChatId>, EngineError> {
        let own = self.live().phone;
        let known = self.shared.store.list_known_contacts(&self.id).await?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for k in known {
            let Ok(chat) = ChatId::parse(&k.jid) else {
                continue;
            };
            if chat.is_group()
                || matches!(&chat, ChatId::User(u) if Some(u) == own.as_ref())
                || self.is_blocked_cached(&chat)
                || !seen.insert(chat.clone())
            {
                continue;
            }
            out.push(chat);
            if out.len() == STATUS_RECIPIENTS_MAX {
                break;
            }
        }
        Ok(out)
    }
}

/// The people of `wanted` WhatsApp can address a status to (their LID is
/// known, asked for when not yet), with their JIDs.
async fn reachable(client: &Client, wanted: Vec<ChatId>) -> (Vec<ChatId>, Vec<Jid>) {
    let parsed: Vec<(ChatId, Jid)> = wanted
        .into_iter()
        .filter_map(|c| {
            let jid: Jid = c.jid().parse().ok()?;
            Some((c, jid))
        })
        .collect();
    let mut unknown = Vec::new();
    for (_, jid) in &parsed {
        if jid.is_pn() && !matches!(client.get_lid_pn_entry(jid).await, Ok(Some(_))) {
            unknown.push(jid.clone());
        }
    }
    for chunk in unknown.chunks(LID_CHECK_CHUNK) {
        // The check teaches whatsapp-rust the LIDs it answers with.
        if let Err(e) = client.contacts().is_on_whatsapp(chunk).await {
            warn!("status: could not look up {} recipients: {e}", chunk.len());
        }
    }
    let mut out = (Vec::new(), Vec::new());
    for (chat, jid) in parsed {
        if jid.is_lid() || matches!(client.get_lid_pn_entry(&jid).await, Ok(Some(_))) {
            out.0.push(chat);
            out.1.push(jid);
        }
    }
    out
}

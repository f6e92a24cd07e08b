//! What a queued message is: the send a client asked for (text, media,
//! location, contact card, poll), stored as JSON in the queue row so it can
//! be performed after a restart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wagate_core::{ChatId, MessageKind};

use crate::error::EngineError;
use crate::media::{MediaKind, MediaSource, OutgoingMedia, StagedMedia};
use crate::polls::PollSpec;
use crate::presence::TypingConfig;
use crate::session::{SentMessage, Session};

/// One send. The chat and the WhatsApp id live in the queue row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SendJob {
    #[serde(rename_all = "camelCase")]
    Text {
        text: String,
        quoted: Option<String>,
        /// Chat ids (JIDs) of people to mention.
        #[serde(default)]
        mentions: Vec<String>,
        #[serde(default)]
        simulate_typing: bool,
    },
    #[serde(rename_all = "camelCase")]
    Media {
        media: StagedMedia,
        quoted: Option<String>,
        #[serde(default)]
        mentions: Vec<String>,
        #[serde(default)]
        simulate_typing: bool,
    },
    /// A file to fetch from a URL when the message goes (bulk sends: a
    /// hundred files are not downloaded while the client waits).
    #[serde(rename_all = "camelCase")]
    MediaUrl {
        kind: MediaKind,
        url: String,
        caption: Option<String>,
        filename: Option<String>,
        #[serde(default)]
        ptt: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        gif_playback: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        simulate_typing: bool,
    },
    #[serde(rename_all = "camelCase")]
    Location {
        latitude: f64,
        longitude: f64,
        description: Option<String>,
        address: Option<String>,
        quoted: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Contact {
        name: String,
        phone: String,
        quoted: Option<String>,
    },
    /// A poll: its question, its options, how many a voter may choose
    /// (`0`: any number), and a quiz's correct option.
    #[serde(rename_all = "camelCase")]
    Poll {
        name: String,
        options: Vec<String>,
        selectable_count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        correct_option: Option<String>,
    },
}

impl SendJob {
    /// The queue row's `kind`.
    pub fn kind(&self) -> MessageKind {
        match self {
            SendJob::Text { .. } => MessageKind::Text,
            SendJob::Media { media, .. } => media.kind.message_kind(),
            SendJob::MediaUrl { kind, .. } => kind.message_kind(),
            SendJob::Location { .. } => MessageKind::Location,
            SendJob::Contact { .. } => MessageKind::Contact,
            SendJob::Poll { .. } => MessageKind::Poll,
        }
    }

    /// A digest of what is being asked (the session, the chat, the content;
    /// a file by its bytes, not where it was kept): the same request sent
    /// twice has the same fingerprint.
    pub fn fingerprint(&self, session_id: &str, chat: &ChatId) -> String {
        let mut canonical = serde_json::to_value(self).unwrap_or_default();
        if let Some(media) = canonical.get_mut("media").and_then(|m| m.as_object_mut()) {
            for volatile in ["fileId", "path"] {
                media.remove(volatile);
            }
        }
        let mut h = Sha256::new();
        h.update(session_id.as_bytes());
        h.update([0]);
        h.update(chat.jid().as_bytes());
        h.update([0]);
        h.update(canonical.to_string().as_bytes());
        hex::encode(h.finalize())
    }

    /// The staged file, if the job carries one.
    /// The queue committed this job: a file staged for it stays.
    pub fn keep_staged(&self) {
        if let Some(media) = self.staged_media() {
            media.keep();
        }
    }

    pub fn staged_media(&self) -> Option<&StagedMedia> {
        match self {
            SendJob::Media { media, .. } => Some(media),
            _ => None,
        }
    }
}

fn chats(jids: &[String]) -> Vec<ChatId> {
    jids.iter().filter_map(|j| ChatId::parse(j).ok()).collect()
}

impl Session {
    /// Performs a queued send under its WhatsApp id.
    pub(crate) async fn perform(
        &self,
        chat: &ChatId,
        job: &SendJob,
        wa_id: &str,
        typing: &TypingConfig,
    ) -> Result<SentMessage, EngineError> {
        match job {
            SendJob::Text {
                text,
                quoted,
                mentions,
                simulate_typing,
            } => {
                if *simulate_typing {
                    self.simulate_typing_with(chat, text.chars().count(), typing)
                        .await?;
                }
                self.send_text(chat, text, quoted.as_deref(), &chats(mentions), wa_id)
                    .await
            }
            SendJob::Media {
                media,
                quoted,
                mentions,
                simulate_typing,
            } => {
                if *simulate_typing {
                    let chars = media.caption.as_deref().map_or(0, |c| c.chars().count());
                    self.simulate_typing_with(chat, chars, typing).await?;
                }
                self.send_media(chat, media, quoted.as_deref(), &chats(mentions), wa_id)
                    .await
            }
            SendJob::MediaUrl {
                kind,
                url,
                caption,
                filename,
                ptt,
                gif_playback,
                quoted,
                mentions,
                simulate_typing,
            } => {
                let config = &self.shared.config.media;
                let outbound = &self.shared.config.outbound;
                let bytes = MediaSource::Url(url.clone())
                    .read(config, outbound, *kind)
                    .await?;
                // Dropped unsent, the file deletes itself; sent, it is the
                // history's copy.
                let staged = config
                    .stage(
                        &self.id,
                        OutgoingMedia {
                            kind: *kind,
                            bytes,
                            declared_mimetype: None,
                            caption: caption.clone(),
                            filename: filename.clone(),
                            ptt: *ptt,
                            gif_playback: *gif_playback,
                        },
                    )
                    .await?;
                if *simulate_typing {
                    let chars = caption.as_deref().map_or(0, |c| c.chars().count());
                    self.simulate_typing_with(chat, chars, typing).await?;
                }
                let sent = self
                    .send_media(chat, &staged, quoted.as_deref(), &chats(mentions), wa_id)
                    .await;
                if sent.is_ok() {
                    staged.keep();
                }
                sent
            }
            SendJob::Location {
                latitude,
                longitude,
                description,
                address,
                quoted,
            } => {
                self.send_location(
                    chat,
                    (*latitude, *longitude),
                    description.clone(),
                    address.clone(),
                    quoted.as_deref(),
                    wa_id,
                )
                .await
            }
            SendJob::Contact {
                name,
                phone,
                quoted,
            } => {
                self.send_contact(chat, name, phone, quoted.as_deref(), wa_id)
                    .await
            }
            SendJob::Poll {
                name,
                options,
                selectable_count,
                correct_option,
            } => {
                let spec = PollSpec {
                    name: name.clone(),
                    options: options.clone(),
                    selectable_count: *selectable_count,
                    correct_option: correct_option.clone(),
                };
                self.send_poll(chat, &spec, wa_id).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_json() {
        let job = SendJob::Text {
            text: "hi".into(),
            quoted: None,
            mentions: vec!["628111@s.whatsapp.net".into()],
            simulate_typing: true,
        };
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains(r#""type":"text""#), "{json}");
        assert_eq!(serde_json::from_str::<SendJob>(&json).unwrap(), job);
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let chat = ChatId::parse("628123456789").unwrap();
        let other = ChatId::parse("628123456780").unwrap();
        let a = SendJob::Text {
            text: "hi".into(),
            quoted: None,
            mentions: vec![],
            simulate_typing: false,
        };
        let b = SendJob::Text {
            text: "hi!".into(),
            quoted: None,
            mentions: vec![],
            simulate_typing: false,
        };
        assert_eq!(a.fingerprint("s1", &chat), a.fingerprint("s1", &chat));
        assert_ne!(a.fingerprint("s1", &chat), b.fingerprint("s1", &chat));
        assert_ne!(a.fingerprint("s1", &chat), a.fingerprint("s1", &other));
        assert_ne!(a.fingerprint("s1", &chat), a.fingerprint("s2", &chat));
    }
}

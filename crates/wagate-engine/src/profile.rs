//! Profile pictures: a contact's or a group's (its URL on WhatsApp's
//! picture server), and this session's own (read, set, remove).
//!
//! whatsapp-rust asks with `<iq xmlns="w:profile:picture" type="get"
//! target=…><picture type="image" query="url"/></iq>`; "no picture" and
//! "not allowed to see it" (privacy settings, or the contact blocked this
//! account) both come back as no picture. Setting sends the JPEG as is:
//! WhatsApp shows 640×640 pictures, and cropping is the caller's business.

use wagate_core::ChatId;
use whatsapp_rust::Jid;

use crate::error::EngineError;
use crate::media::MediaError;
use crate::session::Session;

/// Largest own picture sent (WhatsApp's own are far smaller).
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;

fn jid_of(chat: &ChatId) -> Result<Jid, EngineError> {
    chat.jid()
        .parse()
        .map_err(|_| EngineError::InvalidChatId(chat.api()))
}

/// Whether the bytes are a JPEG (what WhatsApp takes for a picture).
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

impl Session {
    /// The URL of a contact's or group's full-size profile picture; `None`
    /// when there is none or it is hidden from this account.
    /// `CONTACT_NOT_FOUND` for a phone number that is not on WhatsApp.
    pub async fn profile_picture_url(&self, chat: &ChatId) -> Result<Option<String>, EngineError> {
        let jid = jid_of(chat)?;
        let client = self.ready_client().await?;
        let own = matches!(chat, ChatId::User(u) if Some(u) == self.live().phone.as_ref());
        if !own {
            self.ensure_contact_exists(chat).await?;
        }
        let picture = client
            .contacts()
            .get_profile_picture(&jid, false)
            .await
            .map_err(|e| EngineError::Engine(format!("profile picture query failed: {e}")))?;
        Ok(picture.map(|p| p.url))
    }

    /// This session's own profile picture URL, if it has one.
    pub async fn own_profile_picture_url(&self) -> Result<Option<String>, EngineError> {
        let client = self.ready_client().await?;
        let Some(me) = client.pn() else {
            return Err(EngineError::Engine(
                "the session has no phone number".into(),
            ));
        };
        let picture = client
            .contacts()
            .get_profile_picture(&me.to_non_ad(), false)
            .await
            .map_err(|e| EngineError::Engine(format!("profile picture query failed: {e}")))?;
        Ok(picture.map(|p| p.url))
    }

    /// Sets this session's profile picture (a JPEG); returns WhatsApp's id
    /// of the new picture.
    pub async fn set_profile_picture(&self, jpeg: Vec<u8>) -> Result<String, EngineError> {
        if jpeg.is_empty() || !is_jpeg(&jpeg) {
            return Err(
                MediaError::InvalidFormat("a profile picture must be a JPEG image".into()).into(),
            );
        }
        if jpeg.len() > MAX_PICTURE_BYTES {
            return Err(MediaError::TooLarge {
                kind: "profile picture",
                size: jpeg.len() as u64,
                limit: MAX_PICTURE_BYTES as u64,
            }
            .into());
        }
        let client = self.ready_client().await?;
        let set = client
            .profile()
            .set_profile_picture(jpeg)
            .await
            .map_err(|e| EngineError::Engine(format!("setting the profile picture failed: {e}")))?;
        Ok(set.id)
    }

    /// Removes this session's profile picture.
    pub async fn remove_profile_picture(&self) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        client
            .profile()
            .remove_profile_picture()
            .await
            .map_err(|e| {
                EngineError::Engine(format!("removing the profile picture failed: {e}"))
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jpegs_are_pictures() {
        assert!(is_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!is_jpeg(b"\x89PNG\r\n\x1a\n"));
        assert!(!is_jpeg(&[]));
    }
}

//! Channels (WhatsApp newsletters) as the API names them: a channel id
//! (`<digits>@newsletter`), the reference a client may give to look one up
//! (its id, or an invite code or link), and the viewer's role in one.
//!
//! A channel id is not a [`crate::ChatId`]: channels are one-to-many
//! publications with their own routes, and keeping them out of `ChatId`
//! keeps every chat route (presence, blocking, chat settings) from taking a
//! channel by accident.

use std::fmt;

/// The longest channel id's digits accepted (WhatsApp's are 18).
pub const CHANNEL_ID_MAX_DIGITS: usize = 32;
/// The longest invite code accepted (WhatsApp's are 24).
pub const CHANNEL_INVITE_MAX_CHARS: usize = 64;
/// A channel's name (WhatsApp's bound).
pub const CHANNEL_NAME_MAX_CHARS: usize = 100;
/// A channel's description (WhatsApp's bound).
pub const CHANNEL_DESCRIPTION_MAX_CHARS: usize = 2_048;
/// The most messages read from a channel in one request.
pub const CHANNEL_MESSAGES_MAX: u32 = 100;
/// A reaction: one emoji, possibly with modifiers and joiners.
pub const CHANNEL_REACTION_MAX_CHARS: usize = 16;

/// The invite link's prefix WhatsApp gives out.
pub const CHANNEL_INVITE_LINK: &str = "https://whatsapp.com/channel/";

/// A channel, by id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChannelId(String);

/// Why a channel id (or reference) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChannelIdError(pub String);

impl ChannelId {
    /// `<digits>@newsletter`, digits bounded.
    pub fn parse(raw: &str) -> Result<ChannelId, ChannelIdError> {
        let raw = raw.trim();
        let digits = raw.strip_suffix("@newsletter").unwrap_or("");
        let ok = !digits.is_empty()
            && digits.len() <= CHANNEL_ID_MAX_DIGITS
            && digits.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(ChannelId(digits.to_string()))
        } else {
            Err(ChannelIdError(format!(
                "invalid channel id '{}': use <digits>@newsletter",
                truncated(raw)
            )))
        }
    }

    /// WhatsApp's JID, which is also the API's spelling.
    pub fn jid(&self) -> String {
        format!("{}@newsletter", self.0)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.jid())
    }
}

/// How a client names a channel to look up: its id, or an invite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelRef {
    Id(ChannelId),
    /// The code of an invite link (`https://whatsapp.com/channel/<code>`).
    Invite(String),
}

impl ChannelRef {
    /// A channel id, an invite link, or a bare invite code.
    pub fn parse(raw: &str) -> Result<ChannelRef, ChannelIdError> {
        let raw = raw.trim();
        if raw.contains('@') {
            return ChannelId::parse(raw).map(ChannelRef::Id);
        }
        let code = raw
            .strip_prefix(CHANNEL_INVITE_LINK)
            .or_else(|| raw.strip_prefix("whatsapp.com/channel/"))
            .unwrap_or(raw)
            .trim_end_matches('/');
        let ok = !code.is_empty()
            && code.len() <= CHANNEL_INVITE_MAX_CHARS
            && code.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(ChannelRef::Invite(code.to_string()))
        } else {
            Err(ChannelIdError(format!(
                "invalid channel '{}': use <digits>@newsletter, an invite link or its code",
                truncated(raw)
            )))
        }
    }
}

/// At most 80 characters of what a client sent, for an error message.
fn truncated(raw: &str) -> String {
    raw.chars().take(80).collect()
}

wire_enum! {
    /// The session's role in a channel.
    pub enum ChannelRole {
        Owner => "owner",
        Admin => "admin",
        Subscriber => "subscriber",
        Guest => "guest",
    }
}

impl ChannelRole {
    /// Whether the role may post to the channel.
    pub fn can_post(self) -> bool {
        matches!(self, ChannelRole::Owner | ChannelRole::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_at_newsletter() {
        let id = ChannelId::parse(" 120363012345678901@newsletter ").unwrap();
        assert_eq!(id.jid(), "120363012345678901@newsletter");
        for bad in [
            "",
            "@newsletter",
            "12a@newsletter",
            "123@g.us",
            "123",
            &format!("{}@newsletter", "1".repeat(33)),
        ] {
            assert!(ChannelId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_take_ids_links_and_codes() {
        assert!(matches!(
            ChannelRef::parse("1203@newsletter"),
            Ok(ChannelRef::Id(_))
        ));
        assert_eq!(
            ChannelRef::parse("https://whatsapp.com/channel/0029VaAbC").unwrap(),
            ChannelRef::Invite("0029VaAbC".into())
        );
        assert_eq!(
            ChannelRef::parse("0029VaAbC").unwrap(),
            ChannelRef::Invite("0029VaAbC".into())
        );
        for bad in [
            "x@newsletter",
            "a b",
            "",
            "https://whatsapp.com/channel/",
            "ä",
        ] {
            assert!(ChannelRef::parse(bad).is_err(), "{bad}");
        }
    }
}

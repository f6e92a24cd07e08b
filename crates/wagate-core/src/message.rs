//! A stored message's vocabulary: its contract `type` ([`MessageType`]) and
//! its delivery [`MessageStatus`].
//!
//! The type names are the contract's (`chat` for text, `ptt` for a voice
//! note, `vcard` for contact cards, `poll` for polls, `revoked` once deleted
//! for everyone).
//! Statuses only advance, in the order they are declared: an outgoing
//! message goes `pending` → `sent` → `delivered` → `read` → `played`; an
//! incoming one is `received` (where `delivered` sits) until read.

wire_enum! {
    /// What a message carries, in the contract's `type` names.
    pub enum MessageType {
        Chat => "chat",
        Image => "image",
        Video => "video",
        Audio => "audio",
        /// A voice note.
        Ptt => "ptt",
        Document => "document",
        Sticker => "sticker",
        Location => "location",
        Vcard => "vcard",
        Reaction => "reaction",
        /// A poll: its question is the body, its options are in `poll`.
        Poll => "poll",
        /// Deleted for everyone: the body is gone.
        Revoked => "revoked",
    }
}

impl MessageType {
    /// WhatsApp's own name of the message's kind (`conversation`,
    /// `imageMessage`, …), as seed 002's API and webhooks report it.
    pub fn wa_kind(self) -> &'static str {
        match self {
            Self::Chat => "conversation",
            Self::Image => "imageMessage",
            Self::Video => "videoMessage",
            Self::Audio | Self::Ptt => "audioMessage",
            Self::Document => "documentMessage",
            Self::Sticker => "stickerMessage",
            Self::Location => "locationMessage",
            Self::Vcard => "contactMessage",
            Self::Reaction => "reactionMessage",
            Self::Poll => "pollCreationMessage",
            Self::Revoked => "protocolMessage",
        }
    }

    /// Messages of this type carry a file.
    pub fn is_media(self) -> bool {
        matches!(
            self,
            Self::Image | Self::Video | Self::Audio | Self::Ptt | Self::Document | Self::Sticker
        )
    }
}

wire_enum! {
    /// How far a message got, in the order statuses advance.
    pub enum MessageStatus {
        Failed => "failed",
        Pending => "pending",
        Sent => "sent",
        /// An incoming message not yet read.
        Received => "received",
        Delivered => "delivered",
        Read => "read",
        Played => "played",
    }
}

impl MessageStatus {
    /// Position in the advance order: a status never moves to a lower one.
    pub fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The statuses a message may advance from to reach `self`.
    pub fn before(self) -> impl Iterator<Item = MessageStatus> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |s| s.rank() < self.rank())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_advance_in_order() {
        assert!(MessageStatus::Read.rank() > MessageStatus::Delivered.rank());
        assert!(MessageStatus::Received.rank() < MessageStatus::Read.rank());
        let before_read: Vec<_> = MessageStatus::Read.before().collect();
        assert!(before_read.contains(&MessageStatus::Received));
        assert!(!before_read.contains(&MessageStatus::Played));
    }

    #[test]
    fn media_types_carry_files() {
        assert!(MessageType::Ptt.is_media());
        assert!(!MessageType::Vcard.is_media());
        assert_eq!(MessageType::parse("chat"), Some(MessageType::Chat));
    }
}

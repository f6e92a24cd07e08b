//! Translation between whatsapp-rust's types and the gateway's.
//!
//! Kept in one place so the rest of the gateway does not change when the
//! engine's types do.

use whatsapp_rust::Jid;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::waproto::whatsapp as wa;

/// What kind of content a message carries, in the contract's `type` names,
/// and its text (body or caption). `None` for messages that carry no user
/// content (protocol messages, key distribution, …).
pub fn classify(message: &wa::Message) -> Option<(&'static str, Option<String>)> {
    let base = message.get_base_message();
    if let Some(text) = message.text_content() {
        return Some(("chat", Some(text.to_string())));
    }
    let caption = message.get_caption().map(str::to_owned);
    if base.image_message.is_set() {
        return Some(("image", caption));
    }
    if base.video_message.is_set() {
        return Some(("video", caption));
    }
    if let Some(audio) = base.audio_message.as_option() {
        let kind = if audio.ptt.unwrap_or(false) {
            "ptt"
        } else {
            "audio"
        };
        return Some((kind, None));
    }
    if base.document_message.is_set() {
        return Some(("document", caption));
    }
    if base.sticker_message.is_set() {
        return Some(("sticker", None));
    }
    if let Some(loc) = base.location_message.as_option() {
        return Some(("location", loc.name.clone().or_else(|| loc.address.clone())));
    }
    if let Some(contact) = base.contact_message.as_option() {
        return Some(("vcard", contact.display_name.clone()));
    }
    if let Some(reaction) = base.reaction_message.as_option() {
        return Some(("reaction", reaction.text.clone()));
    }
    None
}

/// Whether messages of this contract `type` carry a file.
pub fn is_media_type(kind: &str) -> bool {
    matches!(
        kind,
        "image" | "video" | "audio" | "ptt" | "document" | "sticker"
    )
}

/// The id of the message this one quotes, if any.
pub fn quoted_id(message: &wa::Message) -> Option<String> {
    let base = message.get_base_message();
    // A reaction "quotes" the message it reacts to.
    if let Some(reaction) = base.reaction_message.as_option() {
        return reaction.key.as_option().and_then(|k| k.id.clone());
    }
    let ctx = base
        .extended_text_message
        .as_option()
        .and_then(|m| m.context_info.as_option())
        .or_else(|| {
            base.image_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.video_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.document_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.audio_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.sticker_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.location_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })
        .or_else(|| {
            base.contact_message
                .as_option()
                .and_then(|m| m.context_info.as_option())
        })?;
    ctx.stanza_id.clone()
}

/// A receipt type as the contract's ack level and name, when it is one of
/// the levels the API reports.
pub fn ack_level(kind: &ReceiptType) -> Option<(u8, &'static str)> {
    match kind {
        ReceiptType::Delivered => Some((3, "delivered")),
        ReceiptType::Read | ReceiptType::ReadSelf => Some((4, "read")),
        ReceiptType::Played | ReceiptType::PlayedSelf => Some((5, "played")),
        _ => None,
    }
}

/// The phone-number form of a JID string (drops the device part).
pub fn non_ad(jid: &Jid) -> String {
    jid.to_non_ad_string()
}

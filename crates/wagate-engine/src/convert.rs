//! Translation between whatsapp-rust's types and the gateway's.
//!
//! Kept in one place so the rest of the gateway does not change when the
//! engine's types do.

use wagate_core::{MessageStatus, MessageType};
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::waproto::whatsapp as wa;

/// What kind of content a message carries, in the contract's `type` names,
/// and its text (body or caption). `None` for messages that carry no user
/// content (protocol messages, key distribution, …).
pub fn classify(message: &wa::Message) -> Option<(MessageType, Option<String>)> {
    let base = message.get_base_message();
    if let Some(text) = message.text_content() {
        return Some((MessageType::Chat, Some(text.to_string())));
    }
    let caption = message.get_caption().map(str::to_owned);
    if base.image_message.is_set() {
        return Some((MessageType::Image, caption));
    }
    if base.video_message.is_set() {
        return Some((MessageType::Video, caption));
    }
    if let Some(audio) = base.audio_message.as_option() {
        let kind = if audio.ptt.unwrap_or(false) {
            MessageType::Ptt
        } else {
            MessageType::Audio
        };
        return Some((kind, None));
    }
    if base.document_message.is_set() {
        return Some((MessageType::Document, caption));
    }
    if base.sticker_message.is_set() {
        return Some((MessageType::Sticker, None));
    }
    if let Some(loc) = base.location_message.as_option() {
        return Some((
            MessageType::Location,
            loc.name.clone().or_else(|| loc.address.clone()),
        ));
    }
    if let Some(live) = base.live_location_message.as_option() {
        return Some((MessageType::Location, live.caption.clone()));
    }
    if let Some(contact) = base.contact_message.as_option() {
        return Some((MessageType::Vcard, contact.display_name.clone()));
    }
    if let Some(many) = base.contacts_array_message.as_option() {
        return Some((MessageType::Vcard, many.display_name.clone()));
    }
    if let Some(reaction) = base.reaction_message.as_option() {
        return Some((MessageType::Reaction, reaction.text.clone()));
    }
    if let Some(poll) = crate::polls::message::creation(message) {
        return Some((MessageType::Poll, poll.name.clone()));
    }
    None
}

/// What a location or contact-card message carries beyond its `body`, as
/// the JSON kept with the message (`messages.extras`) and shown in history
/// and events:
///
/// - a location: `{"location": {"latitude", "longitude", "name",
///   "address", "url", "isLive"}}`;
/// - one contact card: `{"vcard": {"displayName", "vcard"}}`;
/// - several cards: `{"vcards": [{"displayName", "vcard"}, …]}`;
/// - a poll: `{"poll": {"name", "options", "selectableCount"}}`.
///
/// `None` for every other message.
pub fn extras(message: &wa::Message) -> Option<serde_json::Value> {
    use serde_json::json;
    let base = message.get_base_message();
    if let Some(loc) = base.location_message.as_option() {
        return Some(json!({ "location": {
            "latitude": loc.degrees_latitude,
            "longitude": loc.degrees_longitude,
            "name": loc.name,
            "address": loc.address,
            "url": loc.url,
            "isLive": loc.is_live.unwrap_or(false),
        }}));
    }
    if let Some(live) = base.live_location_message.as_option() {
        return Some(json!({ "location": {
            "latitude": live.degrees_latitude,
            "longitude": live.degrees_longitude,
            "name": live.caption,
            "address": null,
            "url": null,
            "isLive": true,
        }}));
    }
    let card = |c: &wa::message::ContactMessage| json!({ "displayName": c.display_name, "vcard": c.vcard });
    if let Some(contact) = base.contact_message.as_option() {
        return Some(json!({ "vcard": card(contact) }));
    }
    if let Some(many) = base.contacts_array_message.as_option() {
        return Some(json!({ "vcards": many.contacts.iter().map(card).collect::<Vec<_>>() }));
    }
    if let Some(poll) = crate::polls::message::creation(message) {
        return Some(crate::polls::message::extras(poll));
    }
    None
}

/// Adds [`extras`]' keys (`location`, `vcard`, `vcards`, `poll`) to a message's
/// event or history JSON object.
pub fn merge_extras(data: &mut serde_json::Value, extras: &serde_json::Value) {
    if let (Some(data), Some(extras)) = (data.as_object_mut(), extras.as_object()) {
        for (k, v) in extras {
            data.insert(k.clone(), v.clone());
        }
    }
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
pub fn ack_level(kind: &ReceiptType) -> Option<(u8, MessageStatus)> {
    match kind {
        ReceiptType::Delivered => Some((3, MessageStatus::Delivered)),
        ReceiptType::Read | ReceiptType::ReadSelf => Some((4, MessageStatus::Read)),
        ReceiptType::Played | ReceiptType::PlayedSelf => Some((5, MessageStatus::Played)),
        _ => None,
    }
}

/// The phone-number form of a JID string (drops the device part).
pub fn non_ad(jid: &Jid) -> String {
    jid.to_non_ad_string()
}

#[cfg(test)]
mod extras_tests {
    use super::*;
    use whatsapp_rust::buffa;

    #[test]
    fn locations_and_cards_keep_their_details() {
        let m = wa::Message {
            location_message: buffa::MessageField::some(wa::message::LocationMessage {
                degrees_latitude: Some(-6.2088),
                degrees_longitude: Some(106.8456),
                name: Some("Jakarta".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            classify(&m),
            Some((MessageType::Location, Some("Jakarta".into())))
        );
        let x = extras(&m).unwrap();
        assert_eq!(x["location"]["latitude"], -6.2088);
        assert_eq!(x["location"]["longitude"], 106.8456);
        assert_eq!(x["location"]["isLive"], false);

        let card = wa::message::ContactMessage {
            display_name: Some("John".into()),
            vcard: Some("BEGIN:VCARD\nEND:VCARD".into()),
            ..Default::default()
        };
        let m = wa::Message {
            contact_message: buffa::MessageField::some(card.clone()),
            ..Default::default()
        };
        assert_eq!(extras(&m).unwrap()["vcard"]["displayName"], "John");
        let m = wa::Message {
            contacts_array_message: buffa::MessageField::some(wa::message::ContactsArrayMessage {
                display_name: Some("2 contacts".into()),
                contacts: vec![card.clone(), card],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            classify(&m),
            Some((MessageType::Vcard, Some("2 contacts".into())))
        );
        assert_eq!(extras(&m).unwrap()["vcards"].as_array().unwrap().len(), 2);
        assert!(extras(&wa::Message::default()).is_none());
    }
}

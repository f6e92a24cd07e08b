//! What a poll message is on the wire and in the gateway: which of
//! WhatsApp's poll versions a message carries, the `poll` object shown in
//! history and events, and the poll (with its secret) a received message
//! creates.

use serde_json::json;
use wagate_store::app::NewPoll;
use whatsapp_rust::types::message::MessageInfo;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

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

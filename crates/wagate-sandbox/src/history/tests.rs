//! Seeds are checked and completed, and the notification carries them in
//! the shape a client decodes.

use std::io::Read as _;

use super::*;

fn seed(json: serde_json::Value) -> Result<Vec<SeedChat>, String> {
    prepare(serde_json::from_value(json).map_err(|e| e.to_string())?)
}

#[test]
fn a_seed_gets_ids_and_rising_timestamps() {
    let chats = seed(serde_json::json!([
        {"chat": "628111", "name": "Bob", "messages": [
            {"text": "hi"}, {"text": "hello", "fromMe": true, "id": "OLD1"}]},
    ]))
    .unwrap();
    let m = &chats[0].messages;
    assert!(m[0].id.is_some());
    assert_eq!(m[1].id.as_deref(), Some("OLD1"));
    assert!(m[0].timestamp.unwrap() < m[1].timestamp.unwrap());
}

#[test]
fn bad_seeds_are_refused() {
    for bad in [
        serde_json::json!([{"chat": "bob", "messages": []}]),
        serde_json::json!([{"chat": "123-456@g.us", "messages": [{"text": "x"}]}]),
        serde_json::json!([{"chat": "628111", "messages": [{"text": "x", "id": ""}]}]),
        serde_json::json!([{"chat": "628111", "messages": [{"text": "x".repeat(5000)}]}]),
        serde_json::json!([{"chat": "628111", "surprise": true}]),
    ] {
        assert!(seed(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn the_notification_carries_the_history_inline() {
    let chats = seed(serde_json::json!([
        {"chat": "628111", "messages": [{"text": "hi", "id": "A1"}]},
        {"chat": "120363-1@g.us", "messages": [{"text": "yo", "sender": "628222"}]},
    ]))
    .unwrap();
    let msg = notification("628000", &chats, &|_| None).unwrap();
    let n = msg
        .protocol_message
        .as_option()
        .unwrap()
        .history_sync_notification
        .as_option()
        .unwrap();
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(n.initial_hist_bootstrap_inline_payload.as_deref().unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let hs = wa::HistorySync::decode_from_slice(&raw).unwrap();
    assert_eq!(hs.conversations.len(), 2);
    assert_eq!(hs.conversations[0].id, "628111@s.whatsapp.net");
    let first = hs.conversations[0].messages[0].message.as_option().unwrap();
    assert_eq!(first.key.as_option().unwrap().id.as_deref(), Some("A1"));
    let group = hs.conversations[1].messages[0].message.as_option().unwrap();
    assert_eq!(group.participant.as_deref(), Some("628222@s.whatsapp.net"));
}

#[test]
fn a_lid_addressed_contact_is_named_by_its_lid() {
    let chats = seed(serde_json::json!([
        {"chat": "628111", "messages": [{"text": "hi"}]},
        {"chat": "628333", "messages": [{"text": "plain"}]},
    ]))
    .unwrap();
    let lid_of = |p: &str| (p == "628111").then(|| "100000000000042".to_string());
    let hs = history_sync("628000", &chats, &lid_of);
    let lid_chat = &hs.conversations[0];
    assert_eq!(lid_chat.id, "100000000000042@lid");
    assert_eq!(lid_chat.pn_jid.as_deref(), Some("628111@s.whatsapp.net"));
    let key = lid_chat.messages[0]
        .message
        .as_option()
        .unwrap()
        .key
        .as_option()
        .unwrap();
    assert_eq!(key.remote_jid.as_deref(), Some("100000000000042@lid"));
    assert_eq!(hs.conversations[1].id, "628333@s.whatsapp.net");
    assert_eq!(hs.conversations[1].pn_jid, None);
    assert_eq!(hs.phone_number_to_lid_mappings.len(), 1);
    let m = &hs.phone_number_to_lid_mappings[0];
    assert_eq!(m.pn_jid.as_deref(), Some("628111@s.whatsapp.net"));
    assert_eq!(m.lid_jid.as_deref(), Some("100000000000042@lid"));
}

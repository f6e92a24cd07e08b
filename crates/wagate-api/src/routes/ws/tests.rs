#![cfg(test)]
//! Unit tests of the parent module.

use super::*;

#[test]
fn incoming_message_has_seed_000_shape() {
    let e = FeedEvent {
        seq: 7,
        event: wagate_core::EventKind::MessageReceived,
        session_id: "sess_a".into(),
        tenant_id: "t".into(),
        data: json!({
            "messageId": "false_6281234567890@c.us_3EB0ABC123DEF456",
            "from": "6281234567890@c.us",
            "fromMe": false,
            "body": "Hello World",
            "waTimestamp": 1733587980,
            "isGroup": false,
            "contact": { "pushName": "John Doe" },
        }),
        created_at: 0,
    };
    let f = incoming_message("sess_a", &e);
    assert_eq!(f["event"], "incoming_message");
    assert_eq!(f["data"]["instance_id"], "sess_a");
    assert_eq!(f["data"]["from"], "6281234567890@s.whatsapp.net");
    assert_eq!(f["data"]["message"], "Hello World");
    assert_eq!(f["data"]["timestamp"], 1733587980);
    assert_eq!(f["data"]["message_id"], "3EB0ABC123DEF456");
    assert_eq!(f["data"]["push_name"], "John Doe");
    assert_eq!(f["data"]["from_me"], false);
}

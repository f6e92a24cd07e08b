//! The idempotency key of a delivery: the same for every attempt of one
//! event to one endpoint (and across restarts), so a receiver can drop what
//! it already processed; event-bus outputs use it as their message id.

use serde_json::Value;
use wagate_core::EventKind;
use wagate_store::app::EventRecord;

/// The contract's idempotency key, `{type}_{identifier}_{timestamp}`, with
/// the sequence number appended so it is unique even for twin events.
pub fn idempotency_key(event: &EventRecord) -> String {
    let data = &event.data;
    let text = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let ts = event.created_at;
    let seq = event.seq;
    match event.event {
        EventKind::MessageReceived | EventKind::MessageSent | EventKind::MessageRevoked => {
            format!("msg_{}_{ts}_{seq}", text("messageId"))
        }
        EventKind::MessageAck => {
            let ack = data.get("ack").map(Value::to_string).unwrap_or_default();
            format!("ack_{}_{ack}_{ts}_{seq}", text("messageId"))
        }
        EventKind::SessionStatus => {
            format!("sess_{}_{}_{ts}_{seq}", event.session_id, text("status"))
        }
        other => {
            let kind = other.as_str().replace('.', "_");
            format!("{kind}_{}_{ts}_{seq}", event.session_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::formats::body;

    fn event(name: &str, data: Value) -> EventRecord {
        EventRecord {
            seq: 42,
            session_id: "sess_a".into(),
            tenant_id: "tnt_admin".into(),
            event: EventKind::parse(name).unwrap(),
            data,
            created_at: 1_706_868_000_000,
        }
    }

    #[test]
    fn keys_follow_the_contract_format() {
        let e = event(
            "message.received",
            json!({ "messageId": "false_6281@c.us_3EB0" }),
        );
        assert_eq!(
            idempotency_key(&e),
            "msg_false_6281@c.us_3EB0_1706868000000_42"
        );
        let e = event(
            "message.ack",
            json!({ "messageId": "true_6281@c.us_3EB0", "ack": 3 }),
        );
        assert_eq!(
            idempotency_key(&e),
            "ack_true_6281@c.us_3EB0_3_1706868000000_42"
        );
        let e = event("session.status", json!({ "status": "CONNECTED" }));
        assert_eq!(
            idempotency_key(&e),
            "sess_sess_a_CONNECTED_1706868000000_42"
        );
        let e = event("session.qr", json!({}));
        assert_eq!(idempotency_key(&e), "session_qr_sess_a_1706868000000_42");
    }

    #[test]
    fn body_is_the_contract_event() {
        let e = event("message.received", json!({ "body": "hi" }));
        let b: Value = serde_json::from_slice(&body(&e, "dlv_1", "k")).unwrap();
        assert_eq!(b["event"], "message.received");
        assert_eq!(b["timestamp"], "2024-02-02T10:00:00.000Z");
        assert_eq!(b["sessionId"], "sess_a");
        assert_eq!(b["deliveryId"], "dlv_1");
        assert_eq!(b["idempotencyKey"], "k");
        assert_eq!(b["seq"], 42);
        assert_eq!(b["data"]["body"], "hi");
    }
}

//! The shapes a webhook delivery takes, by the endpoint's `format`: the
//! contract's (`openwa`), or that of a system wagate replaces (`wago`,
//! seed 002; `sudevwa`, seed 000), so its
//! receivers keep working unchanged. The log, the cursor, retries and
//! redelivery are the same for every format; only the body, the headers
//! and which events a format carries differ.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use wagate_core::{ChatId, EventKind, MessageType, SessionStatus, WebhookFormat};
use wagate_store::app::EventRecord;

use crate::signing::{hex_signature, openwa_signature, standard_signature};

/// One attempt's body and the format's own headers.
pub struct Rendered {
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// What an attempt knows besides the event.
pub struct Attempt<'a> {
    pub delivery_id: &'a str,
    pub key: &'a str,
    /// 0 for the first attempt.
    pub number: usize,
    pub secret: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// The session's name (the `session_id` a seed 003 client chose), for
    /// the `microservice` format.
    pub session_name: Option<&'a str>,
}

/// Whether this format has a shape for the event (the others are stepped
/// over, as a filter would).
pub fn carries(format: WebhookFormat, event: &EventRecord) -> bool {
    match format {
        WebhookFormat::Openwa => true,
        WebhookFormat::Wago | WebhookFormat::Sudevwa => event.event == EventKind::MessageReceived,
        WebhookFormat::Microservice => microservice_type(event).is_some(),
    }
}

pub fn render(format: WebhookFormat, event: &EventRecord, a: &Attempt<'_>) -> Rendered {
    match format {
        WebhookFormat::Openwa => openwa(event, a),
        WebhookFormat::Wago => wago(event, a),
        WebhookFormat::Sudevwa => sudevwa(event, a),
        WebhookFormat::Microservice => microservice(event, a),
    }
}

/// The contract's body and headers (`X-OpenWA-*`, Standard Webhooks).
fn openwa(event: &EventRecord, a: &Attempt<'_>) -> Rendered {
    let body = body(event, a.delivery_id, a.key);
    let mut headers = vec![
        ("x-openwa-delivery-id", a.delivery_id.to_string()),
        ("x-openwa-idempotency-key", a.key.to_string()),
        ("x-openwa-retry-count", a.number.to_string()),
        ("x-openwa-event", event.event.as_str().to_string()),
        ("webhook-id", a.key.to_string()),
        ("webhook-timestamp", a.now.timestamp().to_string()),
    ];
    if let Some(secret) = a.secret {
        headers.push(("x-openwa-signature", openwa_signature(secret, &body)));
        headers.push((
            "webhook-signature",
            standard_signature(secret, a.key, a.now.timestamp(), &body),
        ));
    }
    Rendered { body, headers }
}

/// Seed 002's incoming-message push, field for field.
#[derive(Serialize)]
struct WagoPush<'a> {
    chat_id: String,
    sender_id: String,
    text: Option<&'a str>,
    kind: &'static str,
    timestamp: String,
}

fn jid(api: Option<&str>) -> String {
    api.and_then(|c| ChatId::parse(c).ok())
        .map(|c| c.jid())
        .unwrap_or_default()
}

/// `{chat_id, sender_id, text, kind, timestamp}`, compact (what
/// `JSON.stringify` of the parsed body gives back, byte for byte, so seed
/// 002's verification snippet holds), signed `X-Wago-Signature: hex(HMAC)`.
fn wago(event: &EventRecord, a: &Attempt<'_>) -> Rendered {
    let d = &event.data;
    let text = |k: &str| d.get(k).and_then(Value::as_str);
    let kind = text("type")
        .and_then(MessageType::parse)
        .map(MessageType::wa_kind)
        .unwrap_or("unknown");
    let seconds = d.get("waTimestamp").and_then(Value::as_i64).unwrap_or(0);
    let push = WagoPush {
        chat_id: jid(text("chatId")),
        sender_id: jid(text("from")),
        text: text("body"),
        kind,
        timestamp: DateTime::from_timestamp(seconds, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let body = serde_json::to_vec(&push).unwrap_or_default();
    let mut headers = vec![("x-openwa-idempotency-key", a.key.to_string())];
    if let Some(secret) = a.secret {
        headers.push(("x-wago-signature", hex_signature(secret, &body)));
    }
    Rendered { body, headers }
}

/// Seed 000's `incoming_message`, field for field.
#[derive(Serialize)]
struct SudevwaPush<'a> {
    event: &'static str,
    timestamp: String,
    data: SudevwaMessage<'a>,
}

#[derive(Serialize)]
struct SudevwaMessage<'a> {
    instance_id: &'a str,
    from: String,
    from_me: bool,
    message: Option<&'a str>,
    timestamp: i64,
    is_group: bool,
    message_id: &'a str,
    push_name: Option<&'a str>,
}

/// `{event: "incoming_message", timestamp, data}`, signed
/// `X-SUDEVWA-Signature: hex(HMAC-SHA256(raw body, secret))`.
fn sudevwa(event: &EventRecord, a: &Attempt<'_>) -> Rendered {
    let d = &event.data;
    let text = |k: &str| d.get(k).and_then(Value::as_str);
    let flag = |k: &str| d.get(k).and_then(Value::as_bool).unwrap_or(false);
    let message_id = text("messageId")
        .map(|id| wagate_core::ids::parse_message_id(id).2)
        .unwrap_or_default();
    let push = SudevwaPush {
        event: "incoming_message", // not vocabulary: seed 000's event name
        timestamp: a.now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        data: SudevwaMessage {
            instance_id: &event.session_id,
            from: jid(text("chatId")),
            from_me: flag("fromMe"),
            message: text("body"),
            timestamp: d.get("waTimestamp").and_then(Value::as_i64).unwrap_or(0),
            is_group: flag("isGroup"),
            message_id,
            push_name: d
                .get("contact")
                .and_then(|c| c.get("pushName"))
                .and_then(Value::as_str),
        },
    };
    let body = serde_json::to_vec(&push).unwrap_or_default();
    let mut headers = vec![("x-openwa-idempotency-key", a.key.to_string())];
    if let Some(secret) = a.secret {
        headers.push(("x-sudevwa-signature", hex_signature(secret, &body)));
    }
    Rendered { body, headers }
}

/// Seed 003's name for an event, if it has one.
fn microservice_type(event: &EventRecord) -> Option<&'static str> {
    // not vocabulary: seed 003's own event names
    Some(match event.event {
        EventKind::MessageReceived | EventKind::MessageSent | EventKind::MessageFailed => {
            event.event.as_str()
        }
        EventKind::SessionQr => "session.qr_code",
        EventKind::SessionStatus => match event
            .data
            .get("status")
            .and_then(Value::as_str)
            .and_then(SessionStatus::parse)
        {
            Some(SessionStatus::Ready) => "session.connected",
            Some(SessionStatus::Disconnected | SessionStatus::Error) => {
                EventKind::SessionDisconnected.as_str()
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// `{type, session_id, timestamp, data}` with seed 003's field names.
fn microservice(event: &EventRecord, a: &Attempt<'_>) -> Rendered {
    let kind = microservice_type(event).unwrap_or("unknown");
    let d = &event.data;
    let text = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    let data = match event.event {
        EventKind::MessageReceived | EventKind::MessageSent | EventKind::MessageFailed => {
            let id = d
                .get("messageId")
                .and_then(Value::as_str)
                .map(|id| wagate_core::ids::parse_message_id(id).2.to_string());
            serde_json::json!({
                "message_id": id,
                "from": text("from"),
                "to": text("to"),
                "message": text("body"),
                "type": text("type"),
                "from_me": text("fromMe"),
                "timestamp": text("waTimestamp"),
                "error": text("error"),
            })
        }
        EventKind::SessionQr => {
            let image = text("image"); // not vocabulary: the event's data key
            serde_json::json!({ "qr": text("code"), "qr_image": image })
        }
        _ => serde_json::json!({
            "status": text("status"),
            "phone_number": text("phoneNumber"),
            "reason": text("reason"),
        }),
    };
    let session_id = a.session_name.unwrap_or(&event.session_id);
    let body = serde_json::to_vec(&serde_json::json!({
        "type": kind,
        "session_id": session_id,
        "timestamp": wagate_core::iso_ms(event.created_at),
        "data": data,
    }))
    .unwrap_or_default();
    let mut headers = vec![
        ("x-webhook-source", "wagate".to_string()),
        ("x-webhook-event", kind.to_string()),
        ("x-webhook-attempt", (a.number + 1).to_string()),
        ("x-webhook-id", a.key.to_string()),
    ];
    if let Some(secret) = a.secret {
        headers.push(("x-webhook-signature", openwa_signature(secret, &body)));
    }
    Rendered { body, headers }
}

/// The contract's webhook body for one attempt.
pub fn body(event: &EventRecord, delivery_id: &str, key: &str) -> Vec<u8> {
    serde_json::json!({
        "event": event.event,
        "timestamp": wagate_core::iso_ms(event.created_at),
        "sessionId": event.session_id,
        "deliveryId": delivery_id,
        "idempotencyKey": key,
        "seq": event.seq,
        "data": event.data,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn received() -> EventRecord {
        EventRecord {
            seq: 7,
            session_id: "sess_a".into(),
            tenant_id: "tnt_a".into(),
            event: EventKind::MessageReceived,
            data: json!({
                "chatId": "6281234567@c.us", "from": "6281234567@c.us", "body": "halo",
                "type": "chat", "waTimestamp": 1_756_718_431
            }),
            created_at: 1_756_718_431_000,
        }
    }

    #[test]
    fn wago_is_seed_002s_push() {
        let a = Attempt {
            delivery_id: "dlv_1",
            key: "k",
            number: 0,
            secret: Some("whsec_123abc"),
            now: Utc::now(),
            session_name: None,
        };
        let r = render(WebhookFormat::Wago, &received(), &a);
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            r#"{"chat_id":"6281234567@s.whatsapp.net","sender_id":"6281234567@s.whatsapp.net","text":"halo","kind":"conversation","timestamp":"2025-09-01T09:20:31Z"}"#
        );
        let sig = r
            .headers
            .iter()
            .find(|(n, _)| *n == "x-wago-signature")
            .unwrap();
        assert_eq!(sig.1, hex_signature("whsec_123abc", &r.body));
        assert!(!carries(
            WebhookFormat::Wago,
            &EventRecord {
                event: EventKind::SessionStatus,
                ..received()
            }
        ));
    }
}

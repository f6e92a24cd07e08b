#![cfg(test)]
//! Unit tests of the gateway client: the request a row becomes, and how
//! the gateway's answers are classified.

use super::*;

fn row(t: i64, dest: &str, file: Option<&str>) -> OutboxRow {
    OutboxRow {
        id: 7,
        msg_type: t,
        from_number: None,
        client_id: None,
        destination: dest.into(),
        messages: Some("hi".into()),
        application: None,
        table_id: None,
        file: file.map(str::to_owned),
        error_count: 0,
        session_id: None,
        inserted: None,
    }
}

#[test]
fn requests() {
    let (r, b) = request_for(&row(0, "+62 812-3456", None)).unwrap();
    assert_eq!(r, "send-text");
    assert_eq!(b, json!({ "chatId": "628123456", "text": "hi" }));
    let (r, b) = request_for(&row(0, "1203@g.us", Some("https://x/a.PNG?x=1"))).unwrap();
    assert_eq!(r, "send-image");
    assert_eq!(b["image"]["url"], "https://x/a.PNG?x=1");
    assert_eq!(b["chatId"], "1203@g.us");
    let (r, b) = request_for(&row(2, "62812", Some("https://x/files/report.pdf"))).unwrap();
    assert_eq!(r, "send-document");
    assert_eq!(b["filename"], "report.pdf");
    assert!(request_for(&row(1, "62812", None)).is_err());
    assert!(request_for(&row(9, "62812", Some("u"))).is_err());
    assert!(request_for(&row(0, "nobody", None)).is_err());
}

#[test]
fn outcomes() {
    let err = |code: &str| json!({ "success": false, "error": { "code": code, "message": "m" } });
    assert!(matches!(
        classify(200, &json!({ "data": { "messageId": "x" } }), None, false),
        SendOutcome::Sent {
            message_id: Some(_),
            ..
        }
    ));
    assert!(matches!(
        classify(400, &err("SESSION_NOT_READY"), None, true),
        SendOutcome::SessionUnavailable { .. }
    ));
    assert!(matches!(
        classify(404, &err("SESSION_NOT_FOUND"), None, true),
        SendOutcome::Rejected { .. }
    ));
    assert!(matches!(
        classify(404, &err("SESSION_NOT_FOUND"), None, false),
        SendOutcome::SessionUnavailable { .. }
    ));
    match classify(400, &err("MESSAGE_NUMBER_NOT_ON_WHATSAPP"), None, false) {
        SendOutcome::Rejected { error } => {
            assert_eq!(error, "MESSAGE_NUMBER_NOT_ON_WHATSAPP: m")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        classify(429, &err("RATE_LIMITED"), Some(500), false),
        SendOutcome::Throttled { retry_after } if retry_after == Duration::from_secs(60)
    ));
    assert!(matches!(
        classify(500, &err("MESSAGE_SEND_FAILED"), None, false),
        SendOutcome::Transient { .. }
    ));
}

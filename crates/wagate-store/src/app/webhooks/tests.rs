#![cfg(test)]
//! Unit tests of the webhooks module: the events filter.

use super::*;

#[test]
fn event_filters() {
    let all = vec!["*".to_string()];
    assert!(event_matches(&all, "message.received"));
    let some = vec!["message.*".to_string(), "session.status".to_string()];
    assert!(event_matches(&some, "message.ack"));
    assert!(event_matches(&some, "session.status"));
    assert!(!event_matches(&some, "session.qr"));
    assert!(!event_matches(&["messages*".to_string()], "messages.x"));
}

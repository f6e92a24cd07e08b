use super::*;

fn patch(json: &str) -> SettingsPatch {
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_partial_change_keeps_the_other_choices() {
    let stored =
        patch(r#"{"rejectCalls":true,"callRejectMessage":"busy","ignore":{"groups":true}}"#);
    let merged = stored.merged(&patch(r#"{"autoRead":true,"ignore":{"status":true}}"#));
    assert_eq!(merged.reject_calls, Some(true));
    assert_eq!(merged.call_reject_message.as_deref(), Some("busy"));
    assert_eq!(merged.auto_read, Some(true));
    assert_eq!(merged.ignore.unwrap().groups, Some(true));
    assert_eq!(merged.ignore.unwrap().status, Some(true));
}

#[test]
fn choices_lie_over_the_defaults_and_an_empty_message_is_none() {
    let defaults = SessionSettings {
        reject_calls: true,
        call_reject_message: Some("default".into()),
        ..Default::default()
    };
    let s = defaults.with(&patch(r#"{"autoRead":true}"#));
    assert!(s.reject_calls && s.auto_read);
    assert_eq!(s.call_reject_message.as_deref(), Some("default"));
    let s = defaults.with(&patch(r#"{"rejectCalls":false,"callRejectMessage":""}"#));
    assert!(!s.reject_calls);
    assert_eq!(s.call_reject_message, None);
}

#[test]
fn bad_settings_are_refused() {
    assert!(serde_json::from_str::<SettingsPatch>(r#"{"rejectCalls":"yes"}"#).is_err());
    assert!(serde_json::from_str::<SettingsPatch>(r#"{"rejectCall":true}"#).is_err());
    let long = SettingsPatch {
        call_reject_message: Some("x".repeat(CALL_REJECT_MESSAGE_MAX_CHARS + 1)),
        ..Default::default()
    };
    assert_eq!(long.validate(), Err(SettingsError::MessageTooLong));
    let ok = SettingsPatch {
        call_reject_message: Some("x".repeat(CALL_REJECT_MESSAGE_MAX_CHARS)),
        ..Default::default()
    };
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn chats_are_told_apart() {
    let ignore = IgnoreSettings {
        groups: true,
        broadcasts: false,
        status: true,
        channels: true,
    };
    assert!(ignore.ignores("123-456@g.us"));
    assert!(ignore.ignores("status@broadcast"));
    assert!(!ignore.ignores("1234@broadcast"));
    assert!(ignore.ignores("1200@newsletter"));
    assert!(!ignore.ignores("628123@s.whatsapp.net"));
    assert!(!ignore.ignores("1234@lid"));
}

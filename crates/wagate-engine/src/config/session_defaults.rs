//! The behaviour settings a session follows where it chose nothing
//! (`SESSION_*`): rejecting calls and the reply after, staying online,
//! reading incoming messages, and the chats whose messages are ignored.
//! Every one is off when unset, except ignoring status updates (a session
//! hears other people's statuses only when asked to:
//! `SESSION_IGNORE_STATUS=false`, or its own `settings.ignore.status`) and
//! keeping the history pushed at link (`HISTORY_SYNC`, read with the other
//! server flags and laid over these).

use wagate_core::session_settings::{IgnoreSettings, SessionSettings, SettingsPatch};

/// Reads the `SESSION_*` defaults from the environment.
pub fn from_env() -> Result<SessionSettings, String> {
    from_lookup(|k| std::env::var(k).ok())
}

/// Reads the `SESSION_*` defaults (every one off but
/// `SESSION_IGNORE_STATUS`, no message, when unset; history sync on).
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<SessionSettings, String> {
    let flag_or = |name: &str, unset: bool| -> Result<bool, String> {
        match get(name).map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => Ok(unset),
            Some("true" | "1" | "on" | "yes") => Ok(true),
            Some("false" | "0" | "off" | "no") => Ok(false),
            Some(other) => Err(format!("{name} must be true or false, not '{other}'")),
        }
    };
    let flag = |name: &str| flag_or(name, false);
    let message = get("SESSION_CALL_REJECT_MESSAGE").filter(|m| !m.trim().is_empty());
    let check = SettingsPatch {
        call_reject_message: message.clone(),
        ..Default::default()
    };
    check
        .validate()
        .map_err(|e| format!("SESSION_CALL_REJECT_MESSAGE: {e}"))?;
    Ok(SessionSettings {
        reject_calls: flag("SESSION_REJECT_CALLS")?,
        call_reject_message: message,
        always_online: flag("SESSION_ALWAYS_ONLINE")?,
        auto_read: flag("SESSION_AUTO_READ")?,
        ignore: IgnoreSettings {
            groups: flag("SESSION_IGNORE_GROUPS")?,
            broadcasts: flag("SESSION_IGNORE_BROADCASTS")?,
            status: flag_or("SESSION_IGNORE_STATUS", true)?,
            channels: flag("SESSION_IGNORE_CHANNELS")?,
        },
        history_sync: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_all_off_but_status_and_values_are_checked() {
        let unset = from_lookup(|_| None).unwrap();
        assert!(unset.ignore.status);
        let mut all_off = unset.clone();
        all_off.ignore.status = false;
        assert_eq!(
            all_off,
            SessionSettings {
                history_sync: true,
                ..Default::default()
            }
        );
        let heard = from_lookup(|k| (k == "SESSION_IGNORE_STATUS").then(|| "false".into()));
        assert!(!heard.unwrap().ignore.status);
        let on = from_lookup(|k| match k {
            "SESSION_REJECT_CALLS" => Some("true".into()),
            "SESSION_CALL_REJECT_MESSAGE" => Some("No calls, please".into()),
            _ => None,
        })
        .unwrap();
        assert!(on.reject_calls && on.ignore.status && !on.ignore.groups);
        assert_eq!(on.call_reject_message.as_deref(), Some("No calls, please"));
        let bad = from_lookup(|k| (k == "SESSION_AUTO_READ").then(|| "maybe".into()));
        assert!(bad.unwrap_err().contains("SESSION_AUTO_READ"));
        let long = from_lookup(|k| (k == "SESSION_CALL_REJECT_MESSAGE").then(|| "x".repeat(5000)));
        assert!(long.is_err());
    }
}

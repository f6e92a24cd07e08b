//! A session's behaviour settings: what it does by itself with calls,
//! presence, read receipts, and which chats it does not keep at all.
//!
//! [`SessionSettings`] is what a session acts on: the operator's defaults
//! (the `SESSION_*` variables) with the session's own choices laid over
//! them. A session stores only its choices, a [`SettingsPatch`] (a field
//! left out follows the default), so a request's patch merges into the
//! stored one field by field and a changed default still reaches every
//! session that never chose.

use serde::{Deserialize, Serialize};

/// The longest `callRejectMessage`, in characters.
pub const CALL_REJECT_MESSAGE_MAX_CHARS: usize = 1000;

/// What a session does by itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    /// Reject every incoming call.
    pub reject_calls: bool,
    /// Sent to the caller as a text after a rejection (`None`: nothing).
    pub call_reject_message: Option<String>,
    /// Say "available" on connect and keep saying it.
    pub always_online: bool,
    /// Mark incoming messages read as they arrive.
    pub auto_read: bool,
    /// Incoming messages neither stored nor emitted.
    pub ignore: IgnoreSettings,
    /// Store the chats and messages the phone pushes when the session links
    /// (marked `fromHistory`); off, the engine asks WhatsApp for none.
    pub history_sync: bool,
}

/// The kinds of chat whose incoming messages a session ignores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreSettings {
    /// Group chats (`…@g.us`).
    pub groups: bool,
    /// Broadcast lists (`…@broadcast`, other than status).
    pub broadcasts: bool,
    /// Status updates (`status@broadcast`).
    pub status: bool,
    /// Channels (`…@newsletter`).
    pub channels: bool,
}

/// The kind of chat a JID names, as far as ignoring goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatKind {
    Direct,
    Group,
    Broadcast,
    Status,
    Channel,
}

impl ChatKind {
    /// The kind of the chat `jid` (`628…@s.whatsapp.net`, `…@g.us`, …).
    pub fn of(jid: &str) -> ChatKind {
        let server = jid.rsplit_once('@').map(|(_, s)| s).unwrap_or_default();
        match server {
            "g.us" => ChatKind::Group,
            "newsletter" => ChatKind::Channel,
            "broadcast" if jid.starts_with("status@") => ChatKind::Status,
            "broadcast" => ChatKind::Broadcast,
            _ => ChatKind::Direct,
        }
    }
}

impl IgnoreSettings {
    /// Whether a message of the chat `jid` is ignored.
    pub fn ignores(&self, jid: &str) -> bool {
        match ChatKind::of(jid) {
            ChatKind::Direct => false,
            ChatKind::Group => self.groups,
            ChatKind::Broadcast => self.broadcasts,
            ChatKind::Status => self.status,
            ChatKind::Channel => self.channels,
        }
    }
}

/// A session's own choices (stored), or a request's change of them: a
/// field left out is not chosen. An empty `callRejectMessage` chooses no
/// message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_reject_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_online: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<IgnorePatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_sync: Option<bool>,
}

/// The chosen part of [`IgnoreSettings`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnorePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcasts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<bool>,
}

/// Why settings were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "settings.callRejectMessage must be at most {CALL_REJECT_MESSAGE_MAX_CHARS} characters"
    )]
    MessageTooLong,
    #[error("settings.callRejectMessage must not contain control characters other than newlines")]
    MessageControl,
}

impl SettingsPatch {
    /// Checks what a request chose.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(m) = &self.call_reject_message {
            if m.chars().count() > CALL_REJECT_MESSAGE_MAX_CHARS {
                return Err(SettingsError::MessageTooLong);
            }
            if m.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(SettingsError::MessageControl);
            }
        }
        Ok(())
    }

    /// This patch with `newer` laid over it, field by field.
    pub fn merged(&self, newer: &SettingsPatch) -> SettingsPatch {
        let ignore = match (self.ignore, newer.ignore) {
            (Some(old), Some(new)) => Some(IgnorePatch {
                groups: new.groups.or(old.groups),
                broadcasts: new.broadcasts.or(old.broadcasts),
                status: new.status.or(old.status),
                channels: new.channels.or(old.channels),
            }),
            (old, new) => new.or(old),
        };
        SettingsPatch {
            reject_calls: newer.reject_calls.or(self.reject_calls),
            call_reject_message: newer
                .call_reject_message
                .clone()
                .or_else(|| self.call_reject_message.clone()),
            always_online: newer.always_online.or(self.always_online),
            auto_read: newer.auto_read.or(self.auto_read),
            ignore,
            history_sync: newer.history_sync.or(self.history_sync),
        }
    }
}

impl SessionSettings {
    /// These settings (the defaults) with a session's choices laid over them.
    pub fn with(&self, chosen: &SettingsPatch) -> SessionSettings {
        let ignore = chosen.ignore.unwrap_or_default();
        let message = match &chosen.call_reject_message {
            Some(m) => Some(m.clone()),
            None => self.call_reject_message.clone(),
        };
        SessionSettings {
            reject_calls: chosen.reject_calls.unwrap_or(self.reject_calls),
            call_reject_message: message.filter(|m| !m.trim().is_empty()),
            always_online: chosen.always_online.unwrap_or(self.always_online),
            auto_read: chosen.auto_read.unwrap_or(self.auto_read),
            ignore: IgnoreSettings {
                groups: ignore.groups.unwrap_or(self.ignore.groups),
                broadcasts: ignore.broadcasts.unwrap_or(self.ignore.broadcasts),
                status: ignore.status.unwrap_or(self.ignore.status),
                channels: ignore.channels.unwrap_or(self.ignore.channels),
            },
            history_sync: chosen.history_sync.unwrap_or(self.history_sync),
        }
    }
}

#[cfg(test)]
mod tests;

//! A session's behaviour settings on the API: what `settings` looks like in
//! a create or update request (every field optional: a partial change
//! merged into what the session chose before) and in the session object
//! (every field, defaults from the `SESSION_*` variables filled in). The
//! types themselves are [`wagate_core::session_settings`]; these structs
//! only describe them in the OpenAPI document.

use serde::Serialize;
use utoipa::ToSchema;
use wagate_core::SettingsPatch;

use crate::error::ApiError;

/// A change of a session's settings: fields left out stay as they are.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsChange {
    /// Reject every incoming call.
    pub reject_calls: Option<bool>,
    /// Text sent to a caller after a rejected call (at most 1000
    /// characters; empty: none).
    #[schema(example = "I can't take calls, write me")]
    pub call_reject_message: Option<String>,
    /// Say "available" on connect and keep saying it.
    pub always_online: Option<bool>,
    /// Mark incoming messages read as they arrive.
    pub auto_read: Option<bool>,
    /// Chats whose incoming messages are neither stored nor emitted.
    pub ignore: Option<IgnoreChange>,
    /// Keep the chats and messages the phone pushes when the session links
    /// (default `HISTORY_SYNC`); takes effect at the next link or start.
    pub history_sync: Option<bool>,
}

/// A change of which chats are ignored.
#[derive(Debug, Serialize, ToSchema)]
pub struct IgnoreChange {
    pub groups: Option<bool>,
    pub broadcasts: Option<bool>,
    pub status: Option<bool>,
    pub channels: Option<bool>,
}

/// What a session does by itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsDto {
    pub reject_calls: bool,
    pub call_reject_message: Option<String>,
    pub always_online: bool,
    pub auto_read: bool,
    pub ignore: IgnoreDto,
    pub history_sync: bool,
}

/// Which chats' incoming messages are neither stored nor emitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct IgnoreDto {
    /// Group chats.
    pub groups: bool,
    /// Broadcast lists.
    pub broadcasts: bool,
    /// Status updates.
    pub status: bool,
    /// Channels (newsletters).
    pub channels: bool,
}

/// A request's settings, checked.
pub fn checked(change: &SettingsPatch) -> Result<(), ApiError> {
    change
        .validate()
        .map_err(|e| ApiError::validation(e.to_string()))
}

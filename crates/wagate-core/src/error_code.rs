//! The API's error codes and the HTTP status each one answers with.
//!
//! This is the contract's tables (general, session, message, webhook, group,
//! contact), plus channels, as one enum, so a code can never be misspelled or sent with the
//! wrong status.

use serde::Serialize;

macro_rules! codes {
    ($($variant:ident => $status:expr),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The HTTP status the contract gives this code.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }
        }
    };
}

codes! {
    ValidationError => 400,
    Unauthorized => 401,
    Forbidden => 403,
    NotFound => 404,
    Conflict => 409,
    IdempotencyKeyReused => 422,
    PayloadTooLarge => 413,
    RateLimited => 429,
    InternalError => 500,
    ServiceUnavailable => 503,

    SessionNotFound => 404,
    SessionNotReady => 400,
    SessionAlreadyExists => 409,
    SessionInitializing => 400,
    SessionQrExpired => 400,
    SessionAuthFailed => 401,
    SessionDisconnected => 400,
    SessionLoggedOut => 400,
    SessionLimitReached => 403,
    SessionBanned => 403,

    MessageSendFailed => 500,
    MessageNotFound => 404,
    MessageInvalidChatId => 400,
    MessageNumberNotOnWhatsapp => 400,
    MessageMediaTooLarge => 413,
    MessageMediaDownloadFailed => 400,
    MessageMediaInvalidFormat => 400,
    MessageTextTooLong => 400,
    MessageBlockedContact => 403,
    MessageRateLimited => 429,
    MessageQuotedNotFound => 400,

    WebhookNotFound => 404,
    WebhookUrlInvalid => 400,
    WebhookUrlUnreachable => 400,
    WebhookDuplicate => 409,
    WebhookLimitReached => 403,

    GroupNotFound => 404,
    GroupNotAdmin => 403,
    GroupParticipantExists => 409,
    GroupParticipantNotFound => 404,
    GroupInviteInvalid => 400,
    GroupNameTooLong => 400,

    ChannelNotFound => 404,
    ChannelNotAdmin => 403,
    ChannelInvalidId => 400,

    ContactNotFound => 404,
    ContactBlocked => 400,
    ContactNotBlocked => 400,
    // Labels (WhatsApp Business)
    LabelNotFound => 404,
    ContactLidNotFound => 404,
}

impl ErrorCode {
    /// The code with this wire name.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The wire name, e.g. `SESSION_NOT_FOUND`.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_the_contract() {
        assert_eq!(ErrorCode::SessionNotFound.as_str(), "SESSION_NOT_FOUND");
        assert_eq!(
            ErrorCode::MessageNumberNotOnWhatsapp.as_str(),
            "MESSAGE_NUMBER_NOT_ON_WHATSAPP"
        );
        assert_eq!(
            ErrorCode::MessageInvalidChatId.as_str(),
            "MESSAGE_INVALID_CHAT_ID"
        );
        assert_eq!(ErrorCode::MessageMediaTooLarge.http_status(), 413);
        assert_eq!(
            ErrorCode::from_name("MESSAGE_QUOTED_NOT_FOUND"),
            Some(ErrorCode::MessageQuotedNotFound)
        );
        assert_eq!(ErrorCode::from_name("NOPE"), None);
    }
}

//! The engine layer's error type. [`EngineError::code`] is the one table
//! from a variant to the contract's error code, and each variant's message
//! is what a client is told (the API adds only details, and hides the
//! internal ones).

use wagate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("session not found")]
    SessionNotFound,
    #[error("session is not connected (status {0}); pair it and wait for CONNECTED")]
    NotReady(&'static str),
    #[error(
        "session is not connected (status {0}); pair it and wait for CONNECTED, or send with ?async=true to queue it"
    )]
    NotReadyToSend(&'static str),
    #[error("session is still initializing; try again shortly")]
    Initializing,
    /// Still initializing because WhatsApp cannot be reached; says why.
    #[error("session is still initializing: {error} ({})", reason.hint().unwrap_or("it keeps trying"))]
    CannotConnect {
        reason: wagate_core::StatusReason,
        error: String,
        next_retry_at_ms: Option<i64>,
    },
    #[error("{0}")]
    NoQr(String),
    #[error("this number is banned by WhatsApp")]
    Banned,
    #[error("{0}")]
    InvalidChatId(String),
    #[error("the quoted message is not in this session's history")]
    QuotedNotFound,
    #[error("send failed: {0}")]
    SendFailed(String),
    #[error("{0}")]
    Pairing(String),
    #[error("engine error: {0}")]
    Engine(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("the message is not in this session's history")]
    MessageNotFound,
    #[error("{0} is not registered on WhatsApp")]
    NotOnWhatsapp(String),
    #[error("group not found (or this session is not in it)")]
    GroupNotFound,
    #[error("this session is not an admin of the group")]
    GroupNotAdmin,
    #[error("the invite link is invalid, expired or revoked")]
    GroupInviteInvalid,
    #[error("{0} is already in the group")]
    GroupParticipantExists(String),
    #[error("{0} is not in the group")]
    GroupParticipantNotFound(String),
    #[error("channel not found (or WhatsApp does not show it to this session)")]
    ChannelNotFound,
    #[error("this session is not an owner or admin of the channel")]
    ChannelNotAdmin,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} is not on WhatsApp")]
    ContactNotFound(String),
    #[error("{0} is already blocked")]
    ContactBlocked(String),
    #[error("{0} is not blocked")]
    ContactNotBlocked(String),
    #[error("no LID ↔ phone-number mapping is known for {0}")]
    LidNotFound(String),
    #[error("{0} is blocked; unblock it to send")]
    BlockedContact(String),
    #[error("the session has no label {0}")]
    LabelNotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// Another node of the cluster runs the session (and could not be
    /// reached to act for it), or no node has room for another session.
    #[error("{0}")]
    Cluster(String),
}

impl EngineError {
    /// The contract's code for this error (what a failed queued message
    /// records and `message.failed` reports).
    pub fn code(&self) -> wagate_core::ErrorCode {
        use MediaError as M;
        use wagate_core::ErrorCode as C;
        match self {
            EngineError::SessionNotFound => C::SessionNotFound,
            EngineError::NotReady(_) | EngineError::NotReadyToSend(_) => C::SessionNotReady,
            EngineError::Initializing | EngineError::CannotConnect { .. } => C::SessionInitializing,
            EngineError::NoQr(_) => C::SessionQrExpired,
            EngineError::Banned => C::SessionBanned,
            EngineError::InvalidChatId(_) => C::MessageInvalidChatId,
            EngineError::QuotedNotFound => C::MessageQuotedNotFound,
            EngineError::SendFailed(_) => C::MessageSendFailed,
            EngineError::Pairing(_) => C::SessionAuthFailed,
            EngineError::Engine(_) | EngineError::Store(_) => C::InternalError,
            EngineError::Media(M::TooLarge { .. }) => C::MessageMediaTooLarge,
            EngineError::Media(M::InvalidFormat(_)) => C::MessageMediaInvalidFormat,
            EngineError::Media(M::DownloadFailed(_)) => C::MessageMediaDownloadFailed,
            EngineError::MessageNotFound => C::MessageNotFound,
            EngineError::NotOnWhatsapp(_) => C::MessageNumberNotOnWhatsapp,
            EngineError::GroupNotFound => C::GroupNotFound,
            EngineError::GroupNotAdmin => C::GroupNotAdmin,
            EngineError::GroupInviteInvalid => C::GroupInviteInvalid,
            EngineError::GroupParticipantExists(_) => C::GroupParticipantExists,
            EngineError::GroupParticipantNotFound(_) => C::GroupParticipantNotFound,
            EngineError::ChannelNotFound => C::ChannelNotFound,
            EngineError::ChannelNotAdmin => C::ChannelNotAdmin,
            EngineError::Forbidden(_) => C::Forbidden,
            EngineError::ContactNotFound(_) => C::ContactNotFound,
            EngineError::ContactBlocked(_) => C::ContactBlocked,
            EngineError::ContactNotBlocked(_) => C::ContactNotBlocked,
            EngineError::LabelNotFound(_) => C::LabelNotFound,
            EngineError::LidNotFound(_) => C::ContactLidNotFound,
            EngineError::BlockedContact(_) => C::MessageBlockedContact,
            EngineError::Invalid(_) => C::ValidationError,
            EngineError::NotFound(_) => C::NotFound,
            EngineError::Conflict(_) => C::Conflict,
            EngineError::IdempotencyKeyReused => C::IdempotencyKeyReused,
            EngineError::Cluster(_) => C::ServiceUnavailable,
        }
    }

    /// Whether trying the same send again later may work (the network, the
    /// engine, the database or a media URL's host hiccuped) rather than fail
    /// the same way.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EngineError::SendFailed(_) | EngineError::Engine(_) | EngineError::Store(_)
        ) || matches!(
            self,
            EngineError::Media(MediaError::DownloadFailed(e)) if e.reason.is_transient()
        )
    }

    /// Whether the session was not connected, so nothing was tried.
    pub fn is_not_connected(&self) -> bool {
        matches!(
            self,
            EngineError::NotReady(_)
                | EngineError::NotReadyToSend(_)
                | EngineError::Initializing
                | EngineError::CannotConnect { .. }
        )
    }
}

/// What went wrong with a file a client gave.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the {kind} is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("{0}")]
    InvalidFormat(String),
    /// The URL could not be fetched; the class (`forbidden_address`,
    /// `timeout`, `http_status`, …) is what the client is told.
    #[error("could not download the media ({reason}): {0}", reason = .0.reason)]
    DownloadFailed(wagate_outbound::OutboundError),
}

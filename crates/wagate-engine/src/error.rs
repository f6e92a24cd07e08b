//! The engine layer's error type; the API maps each variant to one of the
//! contract's error codes.

use wagate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("session not found")]
    SessionNotFound,
    #[error("session is not connected (status {0})")]
    NotReady(&'static str),
    #[error("session is still initializing")]
    Initializing,
    #[error("no QR code: {0}")]
    NoQr(String),
    #[error("the number is banned by WhatsApp")]
    Banned,
    #[error("invalid chat id: {0}")]
    InvalidChatId(String),
    #[error("quoted message not found")]
    QuotedNotFound,
    #[error("send failed: {0}")]
    SendFailed(String),
    #[error("pairing failed: {0}")]
    Pairing(String),
    #[error("engine error: {0}")]
    Engine(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    #[error("message not found")]
    MessageNotFound,
    #[error("{0} is not on WhatsApp")]
    NotOnWhatsapp(String),
    #[error("group not found")]
    GroupNotFound,
    #[error("not a group admin")]
    GroupNotAdmin,
    #[error("invalid invite link")]
    GroupInviteInvalid,
    #[error("{0} is already in the group")]
    GroupParticipantExists(String),
    #[error("{0} is not in the group")]
    GroupParticipantNotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
}

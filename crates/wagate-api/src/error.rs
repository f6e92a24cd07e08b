//! The API's one error type. Every handler returns `Result<_, ApiError>`;
//! each error carries one of the contract's codes and answers with the
//! contract's error envelope and that code's HTTP status. Internal details
//! are logged, never sent: a client sees a clear message, not a stack.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::error;
use wagate_core::ErrorCode;
use wagate_engine::EngineError;
use wagate_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "missing or invalid API key: send it in X-API-Key (or ?apiKey=)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn session_not_found(id: &str) -> Self {
        Self::new(
            ErrorCode::SessionNotFound,
            format!("session {id} not found"),
        )
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        error!("{context}: {err}");
        Self::new(
            ErrorCode::InternalError,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let body = json!({ "success": false, "error": error, "meta": crate::envelope::meta() });
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            other => ApiError::internal("store", other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use ErrorCode as C;
        match e {
            EngineError::SessionNotFound => ApiError::new(C::SessionNotFound, "session not found"),
            EngineError::NotReady(status) => ApiError::new(
                C::SessionNotReady,
                format!(
                    "session is not connected (status {status}); pair it and wait for CONNECTED"
                ),
            ),
            EngineError::Initializing => ApiError::new(
                C::SessionInitializing,
                "session is still initializing; try again shortly",
            ),
            EngineError::NoQr(m) => ApiError::new(C::SessionQrExpired, m),
            EngineError::Banned => {
                ApiError::new(C::SessionBanned, "this number is banned by WhatsApp")
            }
            EngineError::InvalidChatId(m) => ApiError::new(C::MessageInvalidChatId, m),
            EngineError::QuotedNotFound => ApiError::new(
                C::MessageQuotedNotFound,
                "the quoted message is not in this session's history",
            ),
            EngineError::SendFailed(m) => {
                error!("send failed: {m}");
                ApiError::new(C::MessageSendFailed, "WhatsApp did not accept the message")
            }
            EngineError::Pairing(m) => ApiError::new(C::SessionAuthFailed, m),
            EngineError::Engine(m) => ApiError::internal("engine", m),
            EngineError::Store(s) => s.into(),
            EngineError::MessageNotFound => ApiError::new(
                C::MessageNotFound,
                "the message is not in this session's history",
            ),
            EngineError::Forbidden(m) => ApiError::new(C::Forbidden, m),
            EngineError::GroupNotFound => ApiError::new(
                C::GroupNotFound,
                "group not found (or this session is not in it)",
            ),
            EngineError::GroupInviteInvalid => ApiError::new(
                C::GroupInviteInvalid,
                "the invite link is invalid, expired or revoked",
            ),
            EngineError::GroupNotAdmin => ApiError::new(
                C::GroupNotAdmin,
                "this session is not an admin of the group",
            ),
            e @ EngineError::GroupParticipantExists(_) => {
                ApiError::new(C::GroupParticipantExists, e.to_string())
            }
            e @ EngineError::GroupParticipantNotFound(_) => {
                ApiError::new(C::GroupParticipantNotFound, e.to_string())
            }
            EngineError::NotOnWhatsapp(chat) => ApiError::new(
                C::MessageNumberNotOnWhatsapp,
                format!("{chat} is not registered on WhatsApp"),
            ),
            EngineError::Invalid(m) => ApiError::validation(m),
            EngineError::NotFound(m) => ApiError::new(C::NotFound, m),
            EngineError::Conflict(m) => ApiError::new(C::Conflict, m),
            e @ EngineError::IdempotencyKeyReused => {
                ApiError::new(C::IdempotencyKeyReused, e.to_string())
            }
            e @ EngineError::ContactNotFound(_) => ApiError::new(C::ContactNotFound, e.to_string()),
            e @ EngineError::ContactBlocked(_) => ApiError::new(C::ContactBlocked, e.to_string()),
            e @ EngineError::ContactNotBlocked(_) => {
                ApiError::new(C::ContactNotBlocked, e.to_string())
            }
            e @ EngineError::BlockedContact(_) => {
                ApiError::new(C::MessageBlockedContact, e.to_string())
            }
            EngineError::Media(m) => {
                use wagate_engine::media::MediaError as M;
                match m {
                    M::TooLarge { limit, .. } => {
                        ApiError::new(C::MessageMediaTooLarge, m.to_string())
                            .with_details(json!({ "limit": limit, "reason": "too_large" }))
                    }
                    M::InvalidFormat(_) => {
                        ApiError::new(C::MessageMediaInvalidFormat, m.to_string())
                    }
                    M::DownloadFailed(ref e) => {
                        let details = match e.status {
                            Some(status) => {
                                json!({ "reason": e.reason.as_str(), "status": status })
                            }
                            None => json!({ "reason": e.reason.as_str() }),
                        };
                        ApiError::new(C::MessageMediaDownloadFailed, m.to_string())
                            .with_details(details)
                    }
                }
            }
        }
    }
}

/// Unknown routes answer in the envelope too.
pub async fn not_found_fallback() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

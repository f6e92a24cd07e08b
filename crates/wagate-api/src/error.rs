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
    /// The engine's own code and message ([`EngineError::code`] is the one
    /// table); internal failures are logged and hidden, and a media error
    /// says what class of failure it was in `details`.
    fn from(e: EngineError) -> Self {
        use wagate_engine::media::MediaError as M;
        match e {
            EngineError::Engine(m) => ApiError::internal("engine", m),
            EngineError::Store(s) => s.into(),
            EngineError::SendFailed(m) => {
                error!("send failed: {m}");
                ApiError::new(
                    ErrorCode::MessageSendFailed,
                    "WhatsApp did not accept the message",
                )
            }
            EngineError::Media(M::TooLarge { limit, .. }) => ApiError::new(e.code(), e.to_string())
                .with_details(json!({ "limit": limit, "reason": "too_large" })),
            EngineError::Media(M::DownloadFailed(ref d)) => {
                let details = match d.status {
                    Some(status) => json!({ "reason": d.reason.as_str(), "status": status }),
                    None => json!({ "reason": d.reason.as_str() }),
                };
                ApiError::new(e.code(), e.to_string()).with_details(details)
            }
            EngineError::Invalid(m) => ApiError::validation(m),
            EngineError::CannotConnect {
                reason,
                ref error,
                next_retry_at_ms,
            } => ApiError::new(e.code(), e.to_string()).with_details(json!({
                "reason": reason.as_str(),
                "lastError": error,
                "nextRetryAt": next_retry_at_ms.map(wagate_core::iso_ms),
            })),
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}

/// Unknown routes answer in the envelope too.
pub async fn not_found_fallback() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

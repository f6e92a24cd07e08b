//! One-time codes: `POST /api/sessions/{id}/messages/send-otp`, a text
//! from a template with `{code}` or `%s`, sent urgently (past the drip
//! pace, never past the session's hard limits); the code is never logged.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use utoipa::ToSchema;
use wagate_core::ErrorCode;
use wagate_core::limits::TEXT_MAX_CHARS;
use wagate_engine::queue::SendJob;

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::{self, IdempotencyKey, SendMode, SendResultDto, parse_chat_id};
use crate::state::AppState;

/// OTP codes: 4 to 10 letters or digits.
const OTP_CODE_CHARS: std::ops::RangeInclusive<usize> = 4..=10;
/// The template `send-otp` uses when none is given.
pub const DEFAULT_OTP_TEMPLATE: &str =
    "Your verification code is {code}. Do not share it with anyone.";

pub fn router() -> Router<AppState> {
    Router::new().route("/sessions/{id}/messages/send-otp", post(send_otp))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOtp {
    /// The recipient: digits with the country code, or a chat id.
    #[schema(example = "628123456789")]
    pub to: String,
    /// The one-time code: 4 to 10 letters or digits.
    #[schema(example = "654321")]
    pub code: String,
    /// Where the code goes: `{code}` or `%s` (seed 002's form). Default:
    /// "Your verification code is {code}. Do not share it with anyone."
    #[schema(example = "[MyApp] OTP: %s (5 minutes)")]
    pub template: Option<String>,
}

/// Send a one-time code. It skips the drip pace (a code is urgent) but not
/// the session's hard limits; the code never reaches the logs.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-otp", tag = "messages",
    params(("id" = String, Path), SendMode,
           ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = SendOtp, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 202, description = "Queued (?async=true)", body = SendResultDto),
              (status = 400, description = "VALIDATION_ERROR, MESSAGE_INVALID_CHAT_ID, SESSION_NOT_READY")))]
pub async fn send_otp(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(mut mode): Query<SendMode>,
    key: IdempotencyKey,
    Json(body): Json<SendOtp>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let chat = parse_chat_id(&body.to)?;
    let code = body.code.trim();
    if !OTP_CODE_CHARS.contains(&code.chars().count())
        || !code.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ApiError::validation(
            "code must be 4 to 10 letters or digits",
        ));
    }
    let text = otp_text(body.template.as_deref(), code)?;
    mode.urgent = true;
    let job = SendJob::Text {
        text,
        quoted: None,
        mentions: vec![],
        simulate_typing: false,
    };
    send::submit(&state, &session, chat, job, &mode, key).await
}

/// The OTP message: the template with the code in place of `{code}` or
/// `%s`.
fn otp_text(template: Option<&str>, code: &str) -> Result<String, ApiError> {
    let template = template
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_OTP_TEMPLATE);
    // The code is at most 10 characters: a template within the limit fills
    // in bounded time, and the result is checked again below.
    if template.len() > TEXT_MAX_CHARS * 4 {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            "template is too long",
        ));
    }
    let text = if template.contains("{code}") {
        template.replace("{code}", code)
    } else if template.contains("%s") {
        template.replacen("%s", code, 1)
    } else {
        return Err(ApiError::validation(
            "template must contain {code} (or %s) where the code goes",
        ));
    };
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            "template is too long",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_templates_take_the_code() {
        assert_eq!(
            otp_text(Some("[MyApp] OTP: %s (5 menit)"), "654321").unwrap(),
            "[MyApp] OTP: 654321 (5 menit)"
        );
        assert_eq!(
            otp_text(Some("Code {code}, again {code}"), "1234").unwrap(),
            "Code 1234, again 1234"
        );
        assert!(otp_text(None, "1234").unwrap().contains("1234"));
        assert!(otp_text(Some("no placeholder"), "1234").is_err());
    }
}

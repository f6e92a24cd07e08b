//! The checks every send shares: a chat id, a message id, a text, a
//! caption, a document's file name, and base64 files within their limit.

use base64::Engine as _;
use wagate_core::limits::TEXT_MAX_CHARS;
use wagate_core::{ChatId, ErrorCode};
use wagate_engine::media::MediaKind;

use crate::error::ApiError;

pub fn parse_chat_id(raw: &str) -> Result<ChatId, ApiError> {
    ChatId::parse(raw).map_err(|e| ApiError::new(ErrorCode::MessageInvalidChatId, e.0))
}

/// A contract message id (`true_628…@c.us_3EB0…`) or a bare WhatsApp id →
/// the WhatsApp id.
pub fn wa_id_of(id: &str) -> &str {
    wagate_core::ids::parse_message_id(id).2
}

/// A text a client wants sent: not empty, within the contract's limit.
pub fn check_text(text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::validation("text must not be empty"));
    }
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            format!("text exceeds {TEXT_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

pub fn too_large(kind: MediaKind, limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::MessageMediaTooLarge,
        format!("the {} exceeds the limit of {limit} bytes", kind.name()),
    )
    .with_details(serde_json::json!({ "limit": limit }))
}

/// A data URL (`data:<type>;base64,<data>`) or bare base64 → bytes.
pub fn decode_base64(s: &str, kind: MediaKind, limit: u64) -> Result<Vec<u8>, ApiError> {
    let data = match s.strip_prefix("data:") {
        Some(rest) => match rest.split_once(',') {
            Some((meta, data)) if meta.ends_with(";base64") => data,
            _ => {
                return Err(ApiError::validation(
                    "a data URL must look like data:<type>;base64,<data>",
                ));
            }
        },
        None => s,
    };
    let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if (cleaned.len() as u64) / 4 * 3 > limit.saturating_add(3) {
        return Err(too_large(kind, limit));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| ApiError::validation(format!("invalid base64: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(kind, limit));
    }
    Ok(bytes)
}

/// A media caption within the contract's limit (single and bulk sends).
pub fn check_caption(caption: Option<&str>) -> Result<(), ApiError> {
    use wagate_core::limits::CAPTION_MAX_CHARS;
    match caption {
        Some(c) if c.chars().count() > CAPTION_MAX_CHARS => Err(ApiError::new(
            ErrorCode::MessageTextTooLong,
            format!("caption exceeds {CAPTION_MAX_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// A document's file name: 1 to `FILENAME_MAX_CHARS` printable characters
/// (single and bulk sends).
pub fn check_filename(filename: Option<&str>) -> Result<(), ApiError> {
    use wagate_core::limits::FILENAME_MAX_CHARS;
    let Some(name) = filename else {
        return Ok(());
    };
    let n = name.chars().count();
    if n == 0 || n > FILENAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(invalid_filename());
    }
    Ok(())
}

/// What [`check_filename`] answers for a bad name.
pub fn invalid_filename() -> ApiError {
    ApiError::validation(format!(
        "filename must be 1 to {} printable characters",
        wagate_core::limits::FILENAME_MAX_CHARS
    ))
}

//! The rules of a WhatsApp status (a "story"): what a text status may say
//! and look like, and how many people one may go to.
//!
//! A status is a message to the chat `status@broadcast`; a text status
//! carries its background colour (ARGB) and one of WhatsApp's fonts (the
//! protocol's `FontType` numbers). The API, the engine and the events all
//! read and write colours and fonts through here, so `#RRGGBB` means the
//! same thing going out and coming in.

/// The chat every status is a message of.
pub const STATUS_CHAT: &str = "status@broadcast";

/// The longest text of a text status, in characters (WhatsApp's own cap).
pub const STATUS_TEXT_MAX_CHARS: usize = 700;

/// The most people one status goes to (an explicit `contacts` list, or the
/// session's contacts when none is given).
pub const STATUS_RECIPIENTS_MAX: usize = 1_000;

/// The fonts of a text status, by their protocol number: system, system
/// text, script, system bold, morning breeze, calistoga, exo 2, courier
/// prime.
pub const STATUS_FONTS: &[i32] = &[0, 1, 2, 6, 7, 8, 9, 10];

/// The background of a text status when none is given (WhatsApp's green).
pub const STATUS_DEFAULT_BACKGROUND: u32 = 0xFF1E_6E4F;

/// Why a text status is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusPostError {
    #[error("text must not be empty")]
    EmptyText,
    #[error("text must be at most {STATUS_TEXT_MAX_CHARS} characters")]
    TextTooLong,
    #[error("backgroundColor must be #RRGGBB or #AARRGGBB (hex), not '{0}'")]
    BadColour(String),
    #[error("font must be one of {STATUS_FONTS:?}, not {0}")]
    UnknownFont(i64),
    #[error("contacts may name at most {STATUS_RECIPIENTS_MAX} people")]
    TooManyRecipients,
}

/// Checks a text status's text.
pub fn check_text(text: &str) -> Result<(), StatusPostError> {
    if text.trim().is_empty() {
        return Err(StatusPostError::EmptyText);
    }
    if text.chars().count() > STATUS_TEXT_MAX_CHARS {
        return Err(StatusPostError::TextTooLong);
    }
    Ok(())
}

/// `#RRGGBB` (opaque) or `#AARRGGBB` as the protocol's ARGB number.
pub fn parse_background(colour: &str) -> Result<u32, StatusPostError> {
    let bad = || StatusPostError::BadColour(colour.chars().take(32).collect());
    let hex = colour.strip_prefix('#').ok_or_else(bad)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let value = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
    match hex.len() {
        6 => Ok(0xFF00_0000 | value),
        8 => Ok(value),
        _ => Err(bad()),
    }
}

/// The protocol's ARGB number as `#RRGGBB` (opaque) or `#AARRGGBB`.
pub fn background_hex(argb: u32) -> String {
    if argb >> 24 == 0xFF {
        format!("#{:06X}", argb & 0x00FF_FFFF)
    } else {
        format!("#{argb:08X}")
    }
}

/// Checks a font number (one of [`STATUS_FONTS`]).
pub fn check_font(font: i64) -> Result<i32, StatusPostError> {
    i32::try_from(font)
        .ok()
        .filter(|f| STATUS_FONTS.contains(f))
        .ok_or(StatusPostError::UnknownFont(font))
}

/// Checks the length of an explicit recipient list.
pub fn check_recipient_count(n: usize) -> Result<(), StatusPostError> {
    if n > STATUS_RECIPIENTS_MAX {
        return Err(StatusPostError::TooManyRecipients);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_round_trip_and_bad_ones_are_named() {
        assert_eq!(parse_background("#1E6E4F"), Ok(0xFF1E_6E4F));
        assert_eq!(parse_background("#801e6e4f"), Ok(0x801E_6E4F));
        assert_eq!(background_hex(0xFF1E_6E4F), "#1E6E4F");
        assert_eq!(background_hex(0x801E_6E4F), "#801E6E4F");
        for bad in [
            "1E6E4F",
            "#1E6E4",
            "#GGGGGG",
            "#+1E6E4F",
            "",
            "#",
            "#1E6E4F00FF",
        ] {
            assert!(parse_background(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fonts_texts_and_counts() {
        assert_eq!(check_font(0), Ok(0));
        assert_eq!(check_font(10), Ok(10));
        assert!(check_font(3).is_err() && check_font(-1).is_err() && check_font(1 << 40).is_err());
        assert!(check_text("  ").is_err());
        assert!(check_text(&"x".repeat(STATUS_TEXT_MAX_CHARS + 1)).is_err());
        assert!(check_text("Hello").is_ok());
        assert!(check_recipient_count(STATUS_RECIPIENTS_MAX).is_ok());
        assert!(check_recipient_count(STATUS_RECIPIENTS_MAX + 1).is_err());
    }
}

//! Labels (WhatsApp Business): a session's named, coloured tags for chats,
//! kept in WhatsApp's app state so the phone and every linked device share
//! them. A label is an id WhatsApp knows it by, a name and a colour, which
//! is an index into WhatsApp's palette of twenty.

/// The longest label name, in characters (WhatsApp's own limit is lower).
pub const LABEL_NAME_MAX_CHARS: usize = 100;

/// The longest label id: WhatsApp's are small numbers as text.
pub const LABEL_ID_MAX_LEN: usize = 32;

/// WhatsApp's label colours by index (the palette its apps paint with).
const PALETTE: [&str; 20] = [
    "#ff9485", "#64c4ff", "#ffd429", "#dfaef0", "#99b6c1", "#55ccb3", "#ff9dff", "#d3a91d",
    "#6d7cce", "#d7e752", "#00d0e2", "#ffc5c7", "#93ceac", "#f74848", "#00a0f2", "#83e422",
    "#ffaf04", "#b5ebff", "#9ba6ff", "#9368cf",
];

/// A label colour: an index into WhatsApp's palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelColor(u8);

impl LabelColor {
    /// How many colours there are; indexes run from 0 to one less.
    pub const COUNT: usize = PALETTE.len();

    /// The colour at `index`, if the palette has one.
    pub fn new(index: i64) -> Option<LabelColor> {
        (0..Self::COUNT as i64)
            .contains(&index)
            .then_some(LabelColor(index as u8))
    }

    /// The colour a synced index names; an index WhatsApp added since
    /// wraps around the palette (as its apps do).
    pub fn of_synced(index: i32) -> LabelColor {
        LabelColor(index.rem_euclid(Self::COUNT as i32) as u8)
    }

    pub fn index(self) -> u8 {
        self.0
    }

    /// `#rrggbb`, as WhatsApp's apps paint it.
    pub fn hex(self) -> &'static str {
        PALETTE[self.0 as usize]
    }
}

/// Why a label's name or id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("name must be 1 to {LABEL_NAME_MAX_CHARS} characters, not blank")]
    NameLength,
    #[error("name must not contain control characters")]
    NameControl,
    #[error("color must be a palette index from 0 to 19")]
    Color,
    #[error("labelId must be 1 to {LABEL_ID_MAX_LEN} letters, digits, '-' or '_'")]
    Id,
}

/// A label name as a client gives it: trimmed, 1 to
/// [`LABEL_NAME_MAX_CHARS`] characters, no control characters.
pub fn label_name(raw: &str) -> Result<String, LabelError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > LABEL_NAME_MAX_CHARS {
        return Err(LabelError::NameLength);
    }
    if name.chars().any(char::is_control) {
        return Err(LabelError::NameControl);
    }
    Ok(name.to_string())
}

/// A label id as a client names it in a path.
pub fn label_id(raw: &str) -> Result<&str, LabelError> {
    let ok = !raw.is_empty()
        && raw.len() <= LABEL_ID_MAX_LEN
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(raw).ok_or(LabelError::Id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_palette_indexes() {
        assert_eq!(LabelColor::new(0).unwrap().hex(), "#ff9485");
        assert_eq!(LabelColor::new(19).unwrap().hex(), "#9368cf");
        assert!(LabelColor::new(20).is_none() && LabelColor::new(-1).is_none());
        assert_eq!(LabelColor::of_synced(21).index(), 1);
        assert_eq!(LabelColor::of_synced(-1).index(), 19);
    }

    #[test]
    fn names_and_ids_are_checked() {
        assert_eq!(label_name("  VIP ").unwrap(), "VIP");
        assert_eq!(label_name(" "), Err(LabelError::NameLength));
        assert_eq!(label_name(&"x".repeat(101)), Err(LabelError::NameLength));
        assert_eq!(label_name("a\u{7}b"), Err(LabelError::NameControl));
        assert_eq!(label_id("12"), Ok("12"));
        assert!(label_id("").is_err() && label_id("a/b").is_err());
        assert!(label_id(&"1".repeat(33)).is_err());
    }
}

//! Length limits from the contract's "Text Message Limits" table.

pub const TEXT_MAX_CHARS: usize = 65_536;
pub const CAPTION_MAX_CHARS: usize = 1_024;
/// A document's file name (the contract: at most 100 characters).
pub const FILENAME_MAX_CHARS: usize = 100;
pub const GROUP_NAME_MAX_CHARS: usize = 100;
pub const GROUP_DESCRIPTION_MAX_CHARS: usize = 2_048;
pub const CONTACT_NAME_MAX_CHARS: usize = 100;
pub const SESSION_NAME_MAX_CHARS: usize = 100;
/// A poll's question.
pub const POLL_NAME_MAX_CHARS: usize = 255;
/// Each of a poll's options.
pub const POLL_OPTION_MAX_CHARS: usize = 100;
/// How many options a poll has (WhatsApp's bounds).
pub const POLL_OPTIONS_MIN: usize = 2;
pub const POLL_OPTIONS_MAX: usize = 12;

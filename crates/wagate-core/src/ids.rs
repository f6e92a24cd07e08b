//! Identifiers the gateway mints: `sess_…`, `tnt_…`, API keys, message ids
//! in the contract's `fromMe_chatId_id` form.

use rand::Rng;
use rand::distr::Alphanumeric;

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(|b| (b as char).to_ascii_lowercase())
        .collect()
}

pub fn session_id() -> String {
    format!("sess_{}", random_alnum(12))
}

pub fn tenant_id() -> String {
    format!("tnt_{}", random_alnum(12))
}

pub fn key_id() -> String {
    format!("key_{}", random_alnum(12))
}

/// A new tenant API key; shown once, stored only as a hash.
pub fn api_key_secret() -> String {
    let raw: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("wag_{raw}")
}

/// The contract's message id: `true_628…@c.us_3EB0ABC123`.
pub fn message_id(from_me: bool, chat_api: &str, wa_id: &str) -> String {
    format!("{from_me}_{chat_api}_{wa_id}")
}

/// Splits a contract message id back into (from_me, chat, WhatsApp id).
/// A bare WhatsApp id is accepted too (from_me and chat unknown).
pub fn parse_message_id(id: &str) -> (Option<bool>, Option<&str>, &str) {
    let mut parts = id.splitn(3, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(f @ ("true" | "false")), Some(chat), Some(wa)) if chat.contains('@') => {
            (Some(f == "true"), Some(chat), wa)
        }
        _ => (None, None, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_round_trip() {
        let id = message_id(true, "628123@c.us", "3EB0ABC");
        assert_eq!(id, "true_628123@c.us_3EB0ABC");
        assert_eq!(
            parse_message_id(&id),
            (Some(true), Some("628123@c.us"), "3EB0ABC")
        );
        assert_eq!(parse_message_id("3EB0ABC"), (None, None, "3EB0ABC"));
    }

    #[test]
    fn ids_have_their_prefix() {
        assert!(session_id().starts_with("sess_"));
        assert_eq!(session_id().len(), 17);
        assert!(api_key_secret().starts_with("wag_"));
    }
}

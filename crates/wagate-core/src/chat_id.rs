//! Chat ids as the API accepts them.
//!
//! Clients write a chat as `628123456789@c.us` (the contract's form),
//! `628123456789@s.whatsapp.net` (WhatsApp's own), plain digits (with an
//! optional leading `+`, spaces or dashes), a group `…@g.us`, or a LID
//! `…@lid`. Everything is normalised to one [`ChatId`] that knows both its
//! WhatsApp JID and its API spelling.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChatId {
    /// A person, by phone number (digits only, with country code).
    User(String),
    /// A group, by its id (`<creator>-<ts>` or digits).
    Group(String),
    /// A person, by LID.
    Lid(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChatIdError(pub String);

const MIN_PHONE_DIGITS: usize = 7;
const MAX_PHONE_DIGITS: usize = 15;

impl ChatId {
    pub fn parse(raw: &str) -> Result<ChatId, ChatIdError> {
        let raw = raw.trim();
        let bad = || {
            ChatIdError(format!(
                "invalid chatId '{raw}': use 628123456789@c.us, 628123456789@s.whatsapp.net, digits, <id>@g.us or <id>@lid"
            ))
        };
        let (user, server) = match raw.split_once('@') {
            Some((u, s)) => (u, Some(s)),
            None => (raw, None),
        };
        // A device suffix (`628…:3@s.whatsapp.net`) addresses the person.
        let user = user.split(':').next().unwrap_or(user);
        match server {
            None | Some("c.us") | Some("s.whatsapp.net") => {
                let digits = normalize_phone(user).ok_or_else(bad)?;
                Ok(ChatId::User(digits))
            }
            Some("g.us") => {
                let ok = !user.is_empty()
                    && user.len() <= 64
                    && user.chars().all(|c| c.is_ascii_digit() || c == '-');
                if ok {
                    Ok(ChatId::Group(user.to_string()))
                } else {
                    Err(bad())
                }
            }
            Some("lid") => {
                if !user.is_empty() && user.len() <= 32 && user.chars().all(|c| c.is_ascii_digit())
                {
                    Ok(ChatId::Lid(user.to_string()))
                } else {
                    Err(bad())
                }
            }
            Some(_) => Err(bad()),
        }
    }

    /// WhatsApp's JID (`628…@s.whatsapp.net`, `…@g.us`, `…@lid`).
    pub fn jid(&self) -> String {
        match self {
            ChatId::User(u) => format!("{u}@s.whatsapp.net"),
            ChatId::Group(g) => format!("{g}@g.us"),
            ChatId::Lid(l) => format!("{l}@lid"),
        }
    }

    /// The API's spelling (`628…@c.us`, `…@g.us`, `…@lid`).
    pub fn api(&self) -> String {
        match self {
            ChatId::User(u) => format!("{u}@c.us"),
            ChatId::Group(g) => format!("{g}@g.us"),
            ChatId::Lid(l) => format!("{l}@lid"),
        }
    }

    pub fn is_group(&self) -> bool {
        matches!(self, ChatId::Group(_))
    }

    /// The API spelling of any WhatsApp JID string (`user@s.whatsapp.net` →
    /// `user@c.us`; device suffixes dropped). Unknown shapes pass through.
    pub fn api_from_jid(jid: &str) -> String {
        ChatId::parse(jid)
            .map(|c| c.api())
            .unwrap_or_else(|_| jid.to_string())
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.api())
    }
}

/// Digits of a phone number written with an optional `+`, spaces, dashes or
/// parentheses; `None` unless 7–15 digits remain.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix('+').unwrap_or(raw);
    let mut digits = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    (MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS)
        .contains(&digits.len())
        .then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_user_spellings() {
        for raw in [
            "628123456789@c.us",
            "628123456789@s.whatsapp.net",
            "628123456789",
            "+62 812-3456-789",
            "628123456789:4@s.whatsapp.net",
        ] {
            let c = ChatId::parse(raw).unwrap();
            assert_eq!(c.jid(), "628123456789@s.whatsapp.net", "{raw}");
            assert_eq!(c.api(), "628123456789@c.us");
        }
    }

    #[test]
    fn groups_and_lids() {
        assert_eq!(
            ChatId::parse("628123456789-1234567890@g.us").unwrap().jid(),
            "628123456789-1234567890@g.us"
        );
        assert!(ChatId::parse("123456@lid").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        for raw in [
            "",
            "abc",
            "123",
            "628123456789@example.com",
            "62812345678901234567",
            "x@g.us",
        ] {
            assert!(ChatId::parse(raw).is_err(), "{raw}");
        }
    }
}

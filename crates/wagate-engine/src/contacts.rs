//! Contacts: whether phone numbers are on WhatsApp, and recipient checks
//! before sending.
//!
//! With `VALIDATE_RECIPIENTS` on (the default) a send to a phone number
//! first asks WhatsApp whether the number is registered and answers
//! `MESSAGE_NUMBER_NOT_ON_WHATSAPP` when it is not. Positive answers are
//! kept in memory for [`POSITIVE_TTL`] per session, so a conversation costs
//! one check, not one per message. Negative answers are never cached (a
//! number may register at any time). Groups are not checked.

use tracing::warn;
use wagate_core::ChatId;
use whatsapp_rust::Jid;
use whatsapp_rust::client::Client;

pub use crate::config::ContactsConfig;
use crate::error::EngineError;
pub use crate::recipient_cache::{POSITIVE_TTL, RecipientCache};
use crate::session::Session;

/// Most numbers in one check.
pub const MAX_BATCH: usize = 50;

/// One number's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberCheck {
    /// The digits asked about.
    pub phone: String,
    pub exists: bool,
    /// `628…@c.us` when it exists.
    pub chat_id: Option<String>,
}

/// Digits of a phone number as a client may write it (`+62 812-3456`,
/// `628123456@c.us`, `628123456@s.whatsapp.net`); `None` when it is not one.
pub fn phone_digits(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let user = raw
        .strip_suffix("@c.us")
        .or_else(|| raw.strip_suffix("@s.whatsapp.net"))
        .unwrap_or(raw);
    let digits: String = user
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        .collect();
    ((5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

impl Session {
    /// Asks WhatsApp which of `phones` (digits) are registered.
    pub async fn check_numbers(&self, phones: &[String]) -> Result<Vec<NumberCheck>, EngineError> {
        let client = self.ready_client().await?;
        self.query_numbers(&client, phones).await
    }

    async fn query_numbers(
        &self,
        client: &Client,
        phones: &[String],
    ) -> Result<Vec<NumberCheck>, EngineError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let jids: Vec<Jid> = phones.iter().map(|p| Jid::pn(p.as_str())).collect();
        let results = client
            .contacts()
            .is_on_whatsapp(&jids)
            .await
            .map_err(|e| EngineError::Engine(format!("number check failed: {e}")))?;
        let cache = &self.shared.recipients;
        Ok(phones
            .iter()
            .map(|phone| {
                let exists = results.iter().any(|r| {
                    r.is_registered
                        && (r.jid.user == *phone
                            || r.pn_jid.as_ref().is_some_and(|pn| pn.user == *phone))
                });
                if exists {
                    cache.remember(&self.id, phone);
                }
                NumberCheck {
                    phone: phone.clone(),
                    exists,
                    chat_id: exists.then(|| format!("{phone}@c.us")),
                }
            })
            .collect())
    }

    /// Fails with [`EngineError::BlockedContact`] when this session blocked
    /// `chat` (from the cached blocklist, see [`crate::blocklist`]), and,
    /// with recipient validation on, with [`EngineError::NotOnWhatsapp`]
    /// when `chat` is a phone number that is not registered. Groups and
    /// other ids pass. A check that cannot be made (the query fails) lets
    /// the send go ahead and is logged.
    pub(crate) async fn ensure_recipient(
        &self,
        client: &Client,
        chat: &ChatId,
    ) -> Result<(), EngineError> {
        self.ensure_not_blocked(chat).await?;
        if !self.shared.config.contacts.validate_recipients {
            return Ok(());
        }
        let jid = chat.jid();
        let Some(phone) = jid.strip_suffix("@s.whatsapp.net") else {
            return Ok(());
        };
        if self.shared.recipients.is_known(&self.id, phone) {
            return Ok(());
        }
        match self.query_numbers(client, &[phone.to_string()]).await {
            Ok(answers) if answers.iter().any(|a| a.exists) => Ok(()),
            Ok(_) => Err(EngineError::NotOnWhatsapp(chat.api())),
            Err(e) => {
                warn!(session = %self.id, "recipient check failed, sending anyway: {e}");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_parse() {
        assert_eq!(
            phone_digits("+62 812-3456-789").as_deref(),
            Some("628123456789")
        );
        assert_eq!(
            phone_digits("628123456789@c.us").as_deref(),
            Some("628123456789")
        );
        assert_eq!(
            phone_digits("628123456789@s.whatsapp.net").as_deref(),
            Some("628123456789")
        );
        assert_eq!(phone_digits("1203630@g.us"), None);
        assert_eq!(phone_digits("abc"), None);
        assert_eq!(phone_digits("123"), None);
    }

    #[test]
    fn validation_is_on_unless_turned_off() {
        assert!(ContactsConfig::default().validate_recipients);
        assert!(
            ContactsConfig::from_value(None)
                .unwrap()
                .validate_recipients
        );
        assert!(
            !ContactsConfig::from_value(Some("false"))
                .unwrap()
                .validate_recipients
        );
        assert!(ContactsConfig::from_value(Some("maybe")).is_err());
    }

    #[test]
    fn positive_answers_are_cached_per_session() {
        let c = RecipientCache::default();
        assert!(!c.is_known("s1", "628"));
        c.remember("s1", "628");
        assert!(c.is_known("s1", "628"));
        assert!(!c.is_known("s2", "628"));
    }
}

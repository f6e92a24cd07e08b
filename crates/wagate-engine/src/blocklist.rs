//! Blocking contacts: block, unblock, the blocklist, and a cached
//! [`Session::is_blocked`] for the send path.
//!
//! WhatsApp keeps each account's blocklist on its server; whatsapp-rust
//! asks for it (`<iq xmlns="blocklist" type="get">`) and changes it one
//! contact at a time (`<item action="block|unblock" jid=LID pn_jid=PN/>`).
//! whatsapp-rust's `block` needs the contact's LID↔phone mapping, which it
//! learns from a number check; when there is still none (a server that
//! addresses people by phone number only, like the sandbox), the request
//! goes out with the phone-number JID alone.
//!
//! The engine keeps no blocklist of its own beyond a per-session cache:
//! every block/unblock/list refreshes it, and an entry older than
//! [`BLOCKLIST_TTL`] is fetched again before it is believed, so a block
//! made on the phone itself is seen within that time (whatsapp-rust emits
//! no event for it).

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::warn;
use wagate_core::ChatId;
use whatsapp_rust::client::Client;
use whatsapp_rust::wacore::iq::blocklist::UpdateBlocklistSpec;
use whatsapp_rust::{BlockingError, IqError, Jid};

use crate::error::EngineError;
use crate::session::Session;

/// How long a fetched blocklist is believed by [`Session::is_blocked`].
pub const BLOCKLIST_TTL: Duration = Duration::from_secs(5 * 60);

/// Cache size beyond which stale entries are dropped on the next fetch.
const CACHE_PRUNE_AT: usize = 1024;

/// One blocked contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedContact {
    /// The person: by phone number when it is known, else by LID.
    pub chat: ChatId,
    /// When it was blocked (unix seconds), when WhatsApp says.
    pub since: Option<i64>,
}

struct Cached {
    /// The account the list belongs to (a session may be paired again with
    /// another number).
    phone: Option<String>,
    /// User parts of the blocked: phone numbers and LIDs.
    users: HashSet<String>,
    fetched: Instant,
}

/// Blocklists by session id. Process-wide because [`Session`]'s shared
/// state lives in `session.rs`; session ids are unique across tenants.
static CACHE: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(Default::default);

fn cache() -> MutexGuard<'static, HashMap<String, Cached>> {
    CACHE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The user part a person is addressed by; `None` for groups.
fn person_user(chat: &ChatId) -> Option<&str> {
    match chat {
        ChatId::User(u) | ChatId::Lid(u) => Some(u),
        ChatId::Group(_) => None,
    }
}

fn person_jid(chat: &ChatId) -> Result<Jid, EngineError> {
    if chat.is_group() {
        return Err(EngineError::Invalid(
            "a group cannot be blocked; give a contact (628…@c.us)".into(),
        ));
    }
    chat.jid()
        .parse()
        .map_err(|_| EngineError::InvalidChatId(chat.api()))
}

impl Session {
    /// The account's blocklist, fresh from WhatsApp.
    pub async fn blocklist(&self) -> Result<Vec<BlockedContact>, EngineError> {
        let client = self.ready_client().await?;
        self.fetch_blocklist(&client).await
    }

    /// Blocks a contact. `CONTACT_BLOCKED` when it already is,
    /// `CONTACT_NOT_FOUND` when the number is not on WhatsApp.
    pub async fn block(&self, chat: &ChatId) -> Result<(), EngineError> {
        let jid = person_jid(chat)?;
        let client = self.ready_client().await?;
        self.ensure_not_self(chat)?;
        self.ensure_contact_exists(chat).await?;
        if self.listed(&client, chat).await? {
            return Err(EngineError::ContactBlocked(chat.api()));
        }
        match client.blocking().block(&jid).await {
            Ok(()) => {}
            Err(BlockingError::InvalidJid(_)) => client
                .execute(UpdateBlocklistSpec::block(&jid))
                .await
                .map_err(|e| iq_error(chat, e))?,
            Err(BlockingError::Iq(e)) => return Err(iq_error(chat, e)),
            Err(e) => return Err(EngineError::Engine(format!("block failed: {e}"))),
        }
        self.fetch_blocklist(&client).await?;
        Ok(())
    }

    /// Unblocks a contact. `CONTACT_NOT_BLOCKED` when it is not blocked.
    pub async fn unblock(&self, chat: &ChatId) -> Result<(), EngineError> {
        let jid = person_jid(chat)?;
        let client = self.ready_client().await?;
        if !self.listed(&client, chat).await? {
            return Err(EngineError::ContactNotBlocked(chat.api()));
        }
        match client.blocking().unblock(&jid).await {
            Ok(()) => {}
            Err(BlockingError::InvalidJid(_)) => client
                .execute(UpdateBlocklistSpec::unblock(&jid))
                .await
                .map_err(|e| iq_error(chat, e))?,
            Err(BlockingError::Iq(e)) => return Err(iq_error(chat, e)),
            Err(e) => return Err(EngineError::Engine(format!("unblock failed: {e}"))),
        }
        self.fetch_blocklist(&client).await?;
        Ok(())
    }

    /// Whether this session blocked `chat` (never true for groups). Answers
    /// from the cached blocklist while it is younger than [`BLOCKLIST_TTL`],
    /// otherwise asks WhatsApp first (one IQ). When the session is not
    /// connected or the question fails, answers `false` (the send then
    /// fails or succeeds on its own).
    pub async fn is_blocked(&self, chat: &ChatId) -> bool {
        let Some(user) = person_user(chat) else {
            return false;
        };
        if let Some(answer) = self.cached_answer(user) {
            return answer;
        }
        let Some(client) = self.client().await else {
            return false;
        };
        match self.fetch_blocklist(&client).await {
            Ok(_) => self.cached_answer(user).unwrap_or(false),
            Err(e) => {
                warn!(session = %self.id, "could not fetch the blocklist: {e}");
                false
            }
        }
    }

    /// Like [`Session::is_blocked`] but from the cache only: `false` when
    /// the cached blocklist is missing or older than [`BLOCKLIST_TTL`].
    pub fn is_blocked_cached(&self, chat: &ChatId) -> bool {
        person_user(chat)
            .and_then(|u| self.cached_answer(u))
            .unwrap_or(false)
    }

    /// `MESSAGE_BLOCKED_CONTACT` when `chat` is blocked (for the send path).
    pub async fn ensure_not_blocked(&self, chat: &ChatId) -> Result<(), EngineError> {
        if self.is_blocked(chat).await {
            Err(EngineError::BlockedContact(chat.api()))
        } else {
            Ok(())
        }
    }

    /// `CONTACT_NOT_FOUND` when `chat` is a phone number that is not on
    /// WhatsApp (a positive answer cached by recipient validation counts).
    pub(crate) async fn ensure_contact_exists(&self, chat: &ChatId) -> Result<(), EngineError> {
        let ChatId::User(phone) = chat else {
            return Ok(());
        };
        if self.shared.recipients.is_known(&self.id, phone) {
            return Ok(());
        }
        let answers = self.check_numbers(std::slice::from_ref(phone)).await?;
        if answers.iter().any(|a| a.exists) {
            Ok(())
        } else {
            Err(EngineError::ContactNotFound(chat.api()))
        }
    }

    fn ensure_not_self(&self, chat: &ChatId) -> Result<(), EngineError> {
        match (chat, self.live().phone) {
            (ChatId::User(u), Some(me)) if *u == me => {
                Err(EngineError::Invalid("a session cannot block itself".into()))
            }
            _ => Ok(()),
        }
    }

    /// Whether `chat` is on the blocklist as WhatsApp has it now.
    async fn listed(&self, client: &Client, chat: &ChatId) -> Result<bool, EngineError> {
        self.fetch_blocklist(client).await?;
        Ok(person_user(chat).is_some_and(|u| self.cached_answer(u).unwrap_or(false)))
    }

    fn cached_answer(&self, user: &str) -> Option<bool> {
        let phone = self.live().phone;
        let cache = cache();
        let entry = cache.get(&self.id)?;
        (entry.phone == phone && entry.fetched.elapsed() < BLOCKLIST_TTL)
            .then(|| entry.users.contains(user))
    }

    /// Asks WhatsApp for the blocklist and refreshes the cache.
    async fn fetch_blocklist(&self, client: &Client) -> Result<Vec<BlockedContact>, EngineError> {
        let entries = client
            .blocking()
            .get_blocklist()
            .await
            .map_err(|e| EngineError::Engine(format!("blocklist query failed: {e}")))?;
        let mut out = Vec::with_capacity(entries.len());
        let mut users = HashSet::with_capacity(entries.len());
        for e in entries {
            let bare = e.jid.to_non_ad();
            // The other half of the LID↔phone pair, when whatsapp-rust knows it.
            let mapping = client.get_lid_pn_entry(&bare).await.ok().flatten();
            users.insert(bare.user.to_string());
            let chat = if bare.is_lid() {
                match &mapping {
                    Some(m) => {
                        users.insert(m.phone_number.to_string());
                        ChatId::User(m.phone_number.to_string())
                    }
                    None => ChatId::Lid(bare.user.to_string()),
                }
            } else if bare.is_pn() {
                if let Some(m) = &mapping {
                    users.insert(m.lid.to_string());
                }
                ChatId::User(bare.user.to_string())
            } else {
                continue;
            };
            out.push(BlockedContact {
                chat,
                since: e.timestamp.and_then(|t| i64::try_from(t).ok()),
            });
        }
        let mut cache = cache();
        if cache.len() >= CACHE_PRUNE_AT {
            // Stale entries are never believed; drop them (deleted sessions).
            cache.retain(|_, c| c.fetched.elapsed() < BLOCKLIST_TTL);
        }
        cache.insert(
            self.id.clone(),
            Cached {
                phone: self.live().phone,
                users,
                fetched: Instant::now(),
            },
        );
        Ok(out)
    }
}

/// Drops a session's cached blocklist (when the session is deleted).
pub fn forget(session_id: &str) {
    cache().remove(session_id);
}

fn iq_error(chat: &ChatId, e: IqError) -> EngineError {
    match e {
        IqError::ServerError { code: 404, .. } => EngineError::ContactNotFound(chat.api()),
        IqError::ServerError {
            code: 400, text, ..
        } => EngineError::Invalid(format!("WhatsApp refused the change: {text}")),
        other => EngineError::Engine(format!("blocklist change failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cannot_be_blocked() {
        let group = ChatId::parse("1203630-1700000000@g.us").unwrap();
        assert!(matches!(person_jid(&group), Err(EngineError::Invalid(_))));
        assert_eq!(person_user(&group), None);
        let user = ChatId::parse("628123456789@c.us").unwrap();
        assert_eq!(
            person_jid(&user).unwrap().to_string(),
            "628123456789@s.whatsapp.net"
        );
        assert_eq!(person_user(&user), Some("628123456789"));
    }
}

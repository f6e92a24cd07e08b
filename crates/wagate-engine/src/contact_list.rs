//! The contact list (`GET …/contacts`): the people this session knows.
//!
//! A linked device learns the phone's address book only through app-state
//! sync (`contactAction` mutations), and whatsapp-rust keeps no contact
//! store of its own beyond LID↔phone mappings. So the list is what the
//! session has seen itself:
//!
//! - everyone it exchanged a one-to-one message with (sent or received);
//! - everyone who wrote in one of its groups;
//! - everyone on its blocklist (fetched from WhatsApp);
//!
//! each once, most recently heard from first, blocked contacts not in the
//! history last. Its own number is left out. `pushName` is the name the
//! person last sent with a message; `name` is the address-book name, which
//! without app-state sync is not known, so it falls back to the push name;
//! `isMyContact` is therefore `false` for everyone.

use std::collections::HashSet;

use tracing::warn;
use wagate_core::ChatId;

use crate::error::EngineError;
use crate::session::Session;

/// One person of the contact list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub chat: ChatId,
    /// The address-book name when known, else the push name.
    pub name: Option<String>,
    pub push_name: Option<String>,
    /// In the phone's address book (never known without app-state sync).
    pub is_my_contact: bool,
    pub is_blocked: bool,
}

impl Session {
    /// The people this session knows (see the module documentation). The
    /// blocklist part needs a connected session; when it is not connected
    /// the history part is listed with `isBlocked` from the cached
    /// blocklist only.
    pub async fn contacts(&self) -> Result<Vec<Contact>, EngineError> {
        let known = self.shared.store.list_known_contacts(&self.id).await?;
        let blocked = match self.blocklist().await {
            Ok(b) => b,
            Err(EngineError::NotReady(_) | EngineError::Initializing | EngineError::Banned) => {
                Vec::new()
            }
            Err(e) => {
                warn!(session = %self.id, "contact list without the blocklist: {e}");
                Vec::new()
            }
        };
        let own = self.live().phone;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(known.len() + blocked.len());
        for k in known {
            let Ok(chat) = ChatId::parse(&k.jid) else {
                continue;
            };
            if matches!(&chat, ChatId::User(u) if Some(u) == own.as_ref()) || chat.is_group() {
                continue;
            }
            if !seen.insert(chat.clone()) {
                continue;
            }
            let is_blocked =
                blocked.iter().any(|b| b.chat == chat) || self.is_blocked_cached(&chat);
            out.push(Contact {
                name: k.push_name.clone(),
                push_name: k.push_name,
                is_my_contact: false,
                is_blocked,
                chat,
            });
        }
        for b in blocked {
            if seen.insert(b.chat.clone()) {
                out.push(Contact {
                    chat: b.chat,
                    name: None,
                    push_name: None,
                    is_my_contact: false,
                    is_blocked: true,
                });
            }
        }
        Ok(out)
    }
}

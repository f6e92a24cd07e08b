//! The people a session knows from its message history: everyone it
//! exchanged a one-to-one message with, and everyone who wrote in one of
//! its groups, with the push name they last sent. (WhatsApp's address
//! book reaches a linked device only through app-state sync; this is what
//! the history itself says.)

use std::collections::HashMap;

use sqlx::Row;

use crate::{Store, StoreError};

/// Most people listed (the most recently heard from first).
pub const MAX_KNOWN_CONTACTS: i64 = 10_000;

/// A person seen in a session's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownContact {
    /// WhatsApp JID (`628…@s.whatsapp.net` or `…@lid`).
    pub jid: String,
    /// The push name of their newest message that carried one.
    pub push_name: Option<String>,
    /// `seq` of the newest message that involved them (for ordering).
    pub last_seq: i64,
}

impl Store {
    /// Everyone `session_id` exchanged a one-to-one message with or heard
    /// from in a group, newest first (at most [`MAX_KNOWN_CONTACTS`]).
    /// Broadcast lists, status and newsletters are not people.
    pub async fn list_known_contacts(
        &self,
        session_id: &str,
    ) -> Result<Vec<KnownContact>, StoreError> {
        let rows = sqlx::query(
            "SELECT peer, MAX(seq) AS last_seq FROM (
                 SELECT chat_id AS peer, seq FROM messages
                  WHERE session_id = $1
                    AND (chat_id LIKE '%@s.whatsapp.net' OR chat_id LIKE '%@lid')
                 UNION ALL
                 SELECT sender AS peer, seq FROM messages
                  WHERE session_id = $1 AND chat_id LIKE '%@g.us' AND from_me = 0
                    AND (sender LIKE '%@s.whatsapp.net' OR sender LIKE '%@lid')
             ) AS people
             GROUP BY peer ORDER BY last_seq DESC LIMIT $2",
        )
        .bind(session_id)
        .bind(MAX_KNOWN_CONTACTS)
        .fetch_all(&self.pool)
        .await?;
        let names = sqlx::query(
            "SELECT m.sender AS sender, m.push_name AS push_name FROM messages m
             JOIN (SELECT sender, MAX(seq) AS newest FROM messages
                    WHERE session_id = $1 AND from_me = 0 AND push_name IS NOT NULL
                    GROUP BY sender) n ON m.seq = n.newest",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        let mut push_names: HashMap<String, String> = HashMap::with_capacity(names.len());
        for r in &names {
            push_names.insert(r.try_get("sender")?, r.try_get("push_name")?);
        }
        rows.iter()
            .map(|r| {
                let jid: String = r.try_get("peer")?;
                Ok(KnownContact {
                    push_name: push_names.get(&jid).cloned(),
                    last_seq: r.try_get("last_seq")?,
                    jid,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

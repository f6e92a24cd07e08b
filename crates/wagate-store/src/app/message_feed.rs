//! The tenant-wide message feed: every message of a tenant's sessions (or
//! one session's, one chat's, only incoming ones) after a cursor, the
//! message's `seq`, oldest first. It backs `GET /api/messages` and the
//! drop-in modes' histories (`/compat/wago/messages`, seed 003's
//! `/session/:id/messages` and `/tenant/messages`).

use sqlx::AssertSqlSafe;

use super::messages::{COLUMNS, message_from_row};
use crate::app::MessageRecord;
use crate::{Store, StoreError};

/// Which messages a tenant-wide feed reads: everything after a cursor (the
/// message's `seq`), oldest first.
#[derive(Clone, Debug, Default)]
pub struct MessageFeed {
    /// Only this tenant's sessions (`None`: every tenant, the admin's view).
    pub tenant_id: Option<String>,
    pub session_id: Option<String>,
    /// A chat JID.
    pub chat_id: Option<String>,
    /// Only messages others sent (seed 002's inbox).
    pub incoming_only: bool,
    /// Only messages with `seq > after`.
    pub after: i64,
    pub limit: u32,
}

impl Store {
    /// A page of the tenant-wide message feed, oldest first.
    pub async fn message_feed(&self, q: &MessageFeed) -> Result<Vec<MessageRecord>, StoreError> {
        let limit = q.limit.clamp(1, 1000) as i64;
        let mut filters = vec!["seq > $1".to_string()];
        let mut binds: Vec<&str> = Vec::new();
        if let Some(t) = &q.tenant_id {
            binds.push(t);
            filters.push(format!(
                "session_id IN (SELECT id FROM sessions WHERE tenant_id = ${})",
                binds.len() + 1
            ));
        }
        if let Some(s) = &q.session_id {
            binds.push(s);
            filters.push(format!("session_id = ${}", binds.len() + 1));
        }
        if let Some(c) = &q.chat_id {
            binds.push(c);
            filters.push(format!("chat_id = ${}", binds.len() + 1));
        }
        if q.incoming_only {
            filters.push("from_me = 0".to_string());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE {} ORDER BY seq LIMIT {limit}",
            filters.join(" AND ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(q.after);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }
}

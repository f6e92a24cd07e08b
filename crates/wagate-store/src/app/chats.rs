//! Chats: the chat list (each chat's newest message, name, unread count and
//! settings, a page at a time) and the chat settings WhatsApp keeps in app
//! state — archived, pinned, muted, marked unread — plus the local effects
//! of starring, deleting for me, clearing and deleting a chat.
//!
//! Settings changes go through a [`SpineTx`] and report only what actually
//! changed, so one change heard twice (sent from here, then echoed back by
//! the app-state sync) is announced once.

use sqlx::{AnyConnection, AssertSqlSafe, Row};
use wagate_core::MessageStatus;
use wagate_core::status_post::STATUS_CHAT;

use super::messages::{COLUMNS, message_from_row};
use crate::app::{MessageRecord, SpineTx};
use crate::{DbKind, Store, StoreError};

/// A chat's settings; the default is a chat nobody touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatSettings {
    pub archived: bool,
    /// Pinned since (epoch ms); `None` = not pinned.
    pub pinned_at: Option<i64>,
    /// Muted until (epoch ms), `-1` forever; `None` = not muted.
    pub muted_until: Option<i64>,
    pub marked_unread: bool,
}

/// Settings to change (`None` = leave as is). After [`SpineTx::change_chat`],
/// the fields that really changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatChange {
    pub archived: Option<bool>,
    /// `Some(Some(t))` pins (since `t`, kept when already pinned);
    /// `Some(None)` unpins.
    pub pinned_at: Option<Option<i64>>,
    pub muted_until: Option<Option<i64>>,
    pub marked_unread: Option<bool>,
}

impl ChatChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One row of the chat list.
#[derive(Clone, Debug)]
pub struct ChatRow {
    pub last: MessageRecord,
    /// The newest push name a contact sent in the chat.
    pub name: Option<String>,
    /// Incoming messages not read yet.
    pub unread_count: i64,
    pub settings: ChatSettings,
}

/// Which chats a page lists.
#[derive(Clone, Copy, Debug)]
pub struct ChatPage {
    pub limit: u32,
    pub offset: u64,
    /// Only archived (`Some(true)`) or only unarchived (`Some(false)`) chats.
    pub archived: Option<bool>,
}

impl Store {
    /// A page of the session's chats: pinned first (latest pinned first),
    /// then by newest message; with the number of chats in all. Statuses
    /// (`status@broadcast`) are kept in the history but are not a chat.
    pub async fn list_chat_page(
        &self,
        session_id: &str,
        page: ChatPage,
    ) -> Result<(Vec<ChatRow>, u64), StoreError> {
        let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("m.{c}")).collect();
        let columns = columns.join(", ");
        let limit = page.limit.clamp(1, 1000);
        let offset = page.offset.min(i64::MAX as u64);
        let archived_filter = match page.archived {
            Some(_) => "AND COALESCE(c.archived, 0) = $3",
            None => "AND $3 = $3",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns},
               (SELECT p.push_name FROM messages p WHERE p.session_id = m.session_id
                  AND p.chat_id = m.chat_id AND p.from_me = 0 AND p.push_name IS NOT NULL
                  ORDER BY p.seq DESC LIMIT 1) AS chat_name,
               (SELECT COUNT(*) FROM messages u WHERE u.session_id = m.session_id
                  AND u.chat_id = m.chat_id AND u.from_me = 0 AND u.status = $2) AS unread_count,
               COALESCE(c.archived, 0) AS c_archived, c.pinned_at AS c_pinned_at,
               c.muted_until AS c_muted_until, COALESCE(c.marked_unread, 0) AS c_marked_unread
             FROM messages m LEFT JOIN chat_settings c
               ON c.session_id = m.session_id AND c.chat_id = m.chat_id
             WHERE m.seq IN (SELECT MAX(seq) FROM messages WHERE session_id = $1
                               AND chat_id <> '{STATUS_CHAT}' GROUP BY chat_id)
               {archived_filter}
             ORDER BY CASE WHEN c.pinned_at IS NULL THEN 0 ELSE 1 END DESC,
               COALESCE(c.pinned_at, 0) DESC, m.seq DESC
             LIMIT {limit} OFFSET {offset}"
        )))
        .bind(session_id)
        .bind(MessageStatus::Received.as_str())
        .bind(i64::from(page.archived.unwrap_or(false)))
        .fetch_all(&self.pool)
        .await?;
        let chats = rows
            .iter()
            .map(|r| {
                Ok(ChatRow {
                    last: message_from_row(r)?,
                    name: r.try_get("chat_name")?,
                    unread_count: r.try_get("unread_count")?,
                    settings: ChatSettings {
                        archived: r.try_get::<i64, _>("c_archived")? != 0,
                        pinned_at: r.try_get("c_pinned_at")?,
                        muted_until: r.try_get("c_muted_until")?,
                        marked_unread: r.try_get::<i64, _>("c_marked_unread")? != 0,
                    },
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(DISTINCT m.chat_id) FROM messages m LEFT JOIN chat_settings c
               ON c.session_id = m.session_id AND c.chat_id = m.chat_id
             WHERE m.session_id = $1 AND m.chat_id <> '{STATUS_CHAT}' {}",
            archived_filter.replace("$3", "$2")
        )))
        .bind(session_id)
        .bind(i64::from(page.archived.unwrap_or(false)))
        .fetch_one(&self.pool)
        .await?;
        Ok((chats, total.max(0) as u64))
    }

    /// How many of a chat's messages a clear would remove (all, or all but
    /// the starred ones).
    pub async fn count_chat_messages(
        &self,
        session_id: &str,
        chat_id: &str,
        keep_starred: bool,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE session_id = $1 AND chat_id = $2
               AND (starred = 0 OR $3 = 0)",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(i64::from(keep_starred))
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// A chat's settings (the default when nothing was ever set).
    pub async fn chat_settings(
        &self,
        session_id: &str,
        chat_id: &str,
    ) -> Result<ChatSettings, StoreError> {
        settings(&mut *self.pool.acquire().await?, session_id, chat_id, "").await
    }
}

impl SpineTx {
    /// Applies `change` to the chat's settings; returns what really changed
    /// (empty when nothing did, and then nothing is written).
    pub async fn change_chat(
        &mut self,
        session_id: &str,
        chat_id: &str,
        change: &ChatChange,
        now: i64,
    ) -> Result<ChatChange, StoreError> {
        // Write first: the transaction takes the write lock before it reads
        // (SQLite cannot upgrade a read under a concurrent writer, and on
        // PostgreSQL the row is locked), so two hearings of one change are
        // applied one after the other and the second sees the first.
        sqlx::query(
            "INSERT INTO chat_settings (session_id, chat_id, archived, marked_unread, updated_at)
             VALUES ($1, $2, 0, 0, $3) ON CONFLICT (session_id, chat_id) DO NOTHING",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(now)
        .execute(self.conn())
        .await?;
        let lock = match self.kind() {
            DbKind::Postgres => " FOR UPDATE",
            DbKind::Sqlite => "",
        };
        let mut s = settings(self.conn(), session_id, chat_id, lock).await?;
        let mut changed = ChatChange::default();
        if let Some(a) = change.archived.filter(|a| *a != s.archived) {
            s.archived = a;
            changed.archived = Some(a);
        }
        match change.pinned_at {
            Some(Some(at)) if s.pinned_at.is_none() => {
                s.pinned_at = Some(at);
                changed.pinned_at = Some(Some(at));
            }
            Some(None) if s.pinned_at.is_some() => {
                s.pinned_at = None;
                changed.pinned_at = Some(None);
            }
            _ => {}
        }
        if let Some(m) = change.muted_until.filter(|m| *m != s.muted_until) {
            s.muted_until = m;
            changed.muted_until = Some(m);
        }
        if let Some(u) = change.marked_unread.filter(|u| *u != s.marked_unread) {
            s.marked_unread = u;
            changed.marked_unread = Some(u);
        }
        if changed.is_empty() {
            return Ok(changed);
        }
        sqlx::query(
            "INSERT INTO chat_settings (session_id, chat_id, archived, pinned_at, muted_until, marked_unread, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (session_id, chat_id) DO UPDATE SET archived = excluded.archived,
               pinned_at = excluded.pinned_at, muted_until = excluded.muted_until,
               marked_unread = excluded.marked_unread, updated_at = excluded.updated_at",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(i64::from(s.archived))
        .bind(s.pinned_at)
        .bind(s.muted_until)
        .bind(i64::from(s.marked_unread))
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(changed)
    }

    /// Stars or unstars a message; whether it changed.
    pub async fn star_message(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        starred: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET starred = $4
             WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3 AND starred <> $4",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(wa_id)
        .bind(i64::from(starred))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes one message from the session's history; whether it was there.
    pub async fn delete_message_for_me(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM messages WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(wa_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a chat's messages (starred ones too unless `keep_starred`);
    /// how many.
    pub async fn clear_chat(
        &mut self,
        session_id: &str,
        chat_id: &str,
        keep_starred: bool,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM messages WHERE session_id = $1 AND chat_id = $2 AND (starred = 0 OR $3 = 0)",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(i64::from(keep_starred))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes a chat: its messages and its settings; how many rows went
    /// (0 when the session had nothing of it).
    pub async fn delete_chat(
        &mut self,
        session_id: &str,
        chat_id: &str,
    ) -> Result<u64, StoreError> {
        let messages = self.clear_chat(session_id, chat_id, false).await?;
        let settings =
            sqlx::query("DELETE FROM chat_settings WHERE session_id = $1 AND chat_id = $2")
                .bind(session_id)
                .bind(chat_id)
                .execute(self.conn())
                .await?;
        Ok(messages + settings.rows_affected())
    }

    /// Marks the chat's unread incoming messages read (the chat was read on
    /// another device); how many.
    pub async fn mark_incoming_read(
        &mut self,
        session_id: &str,
        chat_id: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET status = $3
             WHERE session_id = $1 AND chat_id = $2 AND from_me = 0 AND status = $4",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(MessageStatus::Read.as_str())
        .bind(MessageStatus::Received.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

/// A chat's settings; `lock` is `""` or `" FOR UPDATE"`.
async fn settings(
    conn: &mut AnyConnection,
    session_id: &str,
    chat_id: &str,
    lock: &'static str,
) -> Result<ChatSettings, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT archived, pinned_at, muted_until, marked_unread FROM chat_settings
         WHERE session_id = $1 AND chat_id = $2{lock}"
    )))
    .bind(session_id)
    .bind(chat_id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(ChatSettings::default());
    };
    Ok(ChatSettings {
        archived: r.try_get::<i64, _>("archived")? != 0,
        pinned_at: r.try_get("pinned_at")?,
        muted_until: r.try_get("muted_until")?,
        marked_unread: r.try_get::<i64, _>("marked_unread")? != 0,
    })
}

//! Labels (WhatsApp Business) as the account's app state holds them: each
//! label's name and colour, and which chats carry it. Changes go through a
//! [`SpineTx`] and report whether they changed anything, so one change
//! heard twice (made here, then echoed back by the app-state sync) is
//! announced once.

use sqlx::Row;

use crate::app::SpineTx;
use crate::{DbKind, Store, StoreError};

/// One label of a session's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRecord {
    pub id: String,
    pub name: String,
    /// An index into WhatsApp's palette.
    pub color: i64,
    /// How many chats carry it.
    pub chats: i64,
}

fn label_from_row(r: &sqlx::any::AnyRow) -> Result<LabelRecord, sqlx::Error> {
    Ok(LabelRecord {
        id: r.try_get("label_id")?,
        name: r.try_get("name")?,
        color: r.try_get("color")?,
        chats: r.try_get("chats")?,
    })
}

/// Labels from rows, by id (numeric ids in numeric order).
fn by_id(rows: &[sqlx::any::AnyRow]) -> Result<Vec<LabelRecord>, sqlx::Error> {
    let mut labels = rows
        .iter()
        .map(label_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    labels.sort_by(|a, b| id_order(&a.id).cmp(&id_order(&b.id)));
    Ok(labels)
}

const SELECT_LABELS: &str = "SELECT l.label_id, l.name, l.color,
       (SELECT COUNT(*) FROM chat_labels c
          WHERE c.session_id = l.session_id AND c.label_id = l.label_id) AS chats
     FROM labels l WHERE l.session_id = $1";

impl Store {
    /// The session's labels, by id (numeric ids in numeric order).
    pub async fn labels(&self, session_id: &str) -> Result<Vec<LabelRecord>, StoreError> {
        let rows = sqlx::query(SELECT_LABELS)
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(by_id(&rows)?)
    }

    /// One label of the session.
    pub async fn label(
        &self,
        session_id: &str,
        label_id: &str,
    ) -> Result<Option<LabelRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_LABELS} AND l.label_id = $2"
        )))
        .bind(session_id)
        .bind(label_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(label_from_row).transpose()?)
    }

    /// The labels a chat carries, by id.
    pub async fn chat_labels(
        &self,
        session_id: &str,
        chat_id: &str,
    ) -> Result<Vec<LabelRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_LABELS} AND l.label_id IN (SELECT c.label_id FROM chat_labels c
               WHERE c.session_id = $1 AND c.chat_id = $2)"
        )))
        .bind(session_id)
        .bind(chat_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(by_id(&rows)?)
    }

    /// An id no label of the session has: one more than the highest
    /// numeric id (WhatsApp's ids are small numbers).
    pub async fn next_label_id(&self, session_id: &str) -> Result<String, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT label_id FROM labels WHERE session_id = $1")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?;
        let high = ids
            .iter()
            .filter_map(|id| id.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        Ok((high + 1).to_string())
    }

    /// The chats that carry a label, newest association last.
    pub async fn label_chats(
        &self,
        session_id: &str,
        label_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT chat_id FROM chat_labels WHERE session_id = $1 AND label_id = $2
             ORDER BY chat_id",
        )
        .bind(session_id)
        .bind(label_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every (chat, label) pair of the session whose label exists, for the
    /// chat list.
    pub async fn chat_label_pairs(
        &self,
        session_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.chat_id, c.label_id FROM chat_labels c JOIN labels l
               ON l.session_id = c.session_id AND l.label_id = c.label_id
             WHERE c.session_id = $1",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        let mut pairs = rows
            .iter()
            .map(|r| Ok((r.try_get("chat_id")?, r.try_get("label_id")?)))
            .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
        pairs.sort_by(|a, b| (&a.0, id_order(&a.1)).cmp(&(&b.0, id_order(&b.1))));
        Ok(pairs)
    }
}

/// Numeric ids sort as numbers, before any other id.
fn id_order(id: &str) -> (u8, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, ""),
        Err(_) => (1, 0, id),
    }
}

impl SpineTx {
    /// Creates or changes a label; whether its name or colour changed.
    pub async fn put_label(
        &mut self,
        session_id: &str,
        label_id: &str,
        name: &str,
        color: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let lock = match self.kind() {
            DbKind::Postgres => " FOR UPDATE",
            DbKind::Sqlite => "",
        };
        // Written first (a no-op update) so SQLite holds the write lock
        // before it reads, as `change_chat` does.
        sqlx::query(
            "UPDATE labels SET updated_at = updated_at WHERE session_id = $1 AND label_id = $2",
        )
        .bind(session_id)
        .bind(label_id)
        .execute(self.conn())
        .await?;
        let now_row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, color FROM labels WHERE session_id = $1 AND label_id = $2{lock}"
        )))
        .bind(session_id)
        .bind(label_id)
        .fetch_optional(self.conn())
        .await?;
        if let Some(r) = now_row {
            let (old_name, old_color): (String, i64) = (r.try_get("name")?, r.try_get("color")?);
            if old_name == name && old_color == color {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO labels (session_id, label_id, name, color, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session_id, label_id) DO UPDATE SET name = excluded.name,
               color = excluded.color, updated_at = excluded.updated_at",
        )
        .bind(session_id)
        .bind(label_id)
        .bind(name)
        .bind(color)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(true)
    }

    /// Deletes a label and its chat associations; whether it existed.
    pub async fn delete_label(
        &mut self,
        session_id: &str,
        label_id: &str,
    ) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM chat_labels WHERE session_id = $1 AND label_id = $2")
            .bind(session_id)
            .bind(label_id)
            .execute(self.conn())
            .await?;
        let done = sqlx::query("DELETE FROM labels WHERE session_id = $1 AND label_id = $2")
            .bind(session_id)
            .bind(label_id)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Puts a label on a chat (`labeled`) or takes it off; whether that
    /// changed anything.
    pub async fn label_chat(
        &mut self,
        session_id: &str,
        label_id: &str,
        chat_id: &str,
        labeled: bool,
    ) -> Result<bool, StoreError> {
        let done = if labeled {
            sqlx::query(
                "INSERT INTO chat_labels (session_id, label_id, chat_id) VALUES ($1, $2, $3)
                 ON CONFLICT (session_id, label_id, chat_id) DO NOTHING",
            )
        } else {
            sqlx::query(
                "DELETE FROM chat_labels WHERE session_id = $1 AND label_id = $2 AND chat_id = $3",
            )
        }
        .bind(session_id)
        .bind(label_id)
        .bind(chat_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

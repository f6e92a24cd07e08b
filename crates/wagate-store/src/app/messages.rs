//! Message history: every message a session sent or received, keyed by
//! (session, chat, WhatsApp id) so a redelivered message is stored once.

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use wagate_core::{MessageStatus, MessageType};

use crate::app::{SpineTx, SpineUnit, wire};
use crate::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub session_id: String,
    /// WhatsApp JID of the chat (`…@s.whatsapp.net` / `…@g.us`).
    pub chat_id: String,
    pub wa_id: String,
    pub from_me: bool,
    pub sender: String,
    pub recipient: String,
    pub msg_type: MessageType,
    pub body: Option<String>,
    pub wa_timestamp: i64,
    pub status: MessageStatus,
    pub quoted_id: Option<String>,
    pub push_name: Option<String>,
    /// The file the message carried, when it carried one and it was stored.
    pub media: Option<MediaFile>,
    /// Pushed by the phone at link (history sync), not received live.
    pub from_history: bool,
}

/// A stored media file of a message. `file_id` is what the files endpoint
/// looks up; `path` is relative to the media directory and never comes from
/// a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFile {
    pub file_id: String,
    pub mimetype: String,
    pub filename: Option<String>,
    pub size: i64,
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct MessageRecord {
    pub seq: i64,
    pub session_id: String,
    pub chat_id: String,
    pub wa_id: String,
    pub from_me: bool,
    pub sender: String,
    pub recipient: String,
    pub msg_type: MessageType,
    pub body: Option<String>,
    pub wa_timestamp: i64,
    pub status: MessageStatus,
    pub quoted_id: Option<String>,
    pub push_name: Option<String>,
    pub created_at: i64,
    pub media: Option<MediaFile>,
    /// A location's coordinates or a contact card (`extras` column; see
    /// [`Store::set_message_extras`]).
    pub extras: Option<serde_json::Value>,
    /// Pushed by the phone at link (history sync), not received live.
    pub from_history: bool,
    /// The account starred it (on any of its devices).
    pub starred: bool,
}

pub(super) const COLUMNS: &str = "seq, session_id, chat_id, wa_id, from_me, sender, recipient, msg_type, body, wa_timestamp, status, quoted_id, push_name, created_at, media_file_id, media_mimetype, media_filename, media_size, media_path, extras, from_history, starred";

impl Store {
    /// Stores a message; a second copy of the same (session, chat, id) is
    /// ignored. Returns whether it was new.
    pub async fn insert_message(&self, m: &NewMessage) -> Result<bool, StoreError> {
        insert_message(&mut *self.pool.acquire().await?, m).await
    }

    /// Keeps what a location or contact-card message carries beyond its
    /// body (JSON, shown in history as `location` / `vcard` / `vcards`).
    /// Returns whether the message exists.
    pub async fn set_message_extras(
        &self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        extras: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        set_message_extras(
            &mut *self.pool.acquire().await?,
            session_id,
            chat_id,
            wa_id,
            extras,
        )
        .await
    }

    /// The newest `limit` messages of a chat, newest first, optionally only
    /// those older than the message `before` (a WhatsApp id).
    pub async fn list_messages(
        &self,
        session_id: &str,
        chat_id: &str,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let limit = limit.clamp(1, 1000) as i64;
        let rows = match before {
            Some(before) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND chat_id = $2
                     AND seq < (SELECT seq FROM messages WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3)
                     ORDER BY seq DESC LIMIT {limit}"
                )))
                .bind(session_id)
                .bind(chat_id)
                .bind(before)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND chat_id = $2
                     ORDER BY seq DESC LIMIT {limit}"
                )))
                .bind(session_id)
                .bind(chat_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    pub async fn get_message(
        &self,
        session_id: &str,
        wa_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND wa_id = $2 ORDER BY seq DESC LIMIT 1"
        )))
        .bind(session_id)
        .bind(wa_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| message_from_row(&r)).transpose()?)
    }

    /// The media file `file_id` of one of `session_id`'s messages.
    pub async fn get_media_file(
        &self,
        session_id: &str,
        file_id: &str,
    ) -> Result<Option<MediaFile>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE session_id = $1 AND media_file_id = $2 LIMIT 1"
        )))
        .bind(session_id)
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| message_from_row(&r))
            .transpose()?
            .and_then(|m| m.media))
    }

    /// Marks a message deleted for everyone (see [`SpineTx::mark_message_revoked`]).
    pub async fn mark_message_revoked(
        &self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = tx.mark_message_revoked(session_id, chat_id, wa_id).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Moves a message's status forward (see [`SpineTx::advance_message_status`]).
    pub async fn advance_message_status(
        &self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        status: MessageStatus,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = tx
            .advance_message_status(session_id, chat_id, wa_id, status)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// Message changes inside a spine transaction, so each commits with the
/// event that announces it.
impl SpineTx {
    /// Stores a message; a second copy of the same (session, chat, id) is
    /// ignored. Returns whether it was new.
    pub async fn insert_message(&mut self, m: &NewMessage) -> Result<bool, StoreError> {
        insert_message(self.conn(), m).await
    }

    /// See [`Store::set_message_extras`].
    pub async fn set_message_extras(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        extras: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        set_message_extras(self.conn(), session_id, chat_id, wa_id, extras).await
    }

    /// Marks a message deleted for everyone: its type becomes `revoked` and
    /// its text is dropped (the media file row stays for the operator).
    /// Returns whether it changed (false when missing or already revoked).
    pub async fn mark_message_revoked(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET msg_type = 'revoked', body = NULL
             WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3 AND msg_type <> 'revoked'",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(wa_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces the text of an edited message. Returns whether it existed.
    pub async fn set_message_body(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET body = $4
             WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3 AND msg_type <> 'revoked'",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(wa_id)
        .bind(body)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the status of the message `wa_id` *of chat `chat_id`* forward
    /// (never backwards: a late `delivered` does not undo `read`). A receipt
    /// naming an id of another chat changes nothing.
    pub async fn advance_message_status(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        status: MessageStatus,
    ) -> Result<bool, StoreError> {
        let Some(q) = advance_status_query(session_id, chat_id, wa_id, status) else {
            return Ok(false);
        };
        Ok(q.execute(self.conn()).await?.rows_affected() > 0)
    }
}

/// Message changes in a spine unit (`events/unit.rs`): the hot path's
/// messages and receipts, each in one hand-off to the writer.
impl SpineUnit {
    /// Gate: stores a message unless the same (session, chat, id) is
    /// stored already; the rest of the unit happens only when it was new.
    pub fn insert_message(&mut self, m: &NewMessage) -> Result<(), StoreError> {
        self.gate(insert_message_query(m))
    }

    /// After the gate: see [`Store::set_message_extras`].
    pub fn set_message_extras(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        extras: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.then(|gate| {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE messages SET extras = $4
                 WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3 AND {gate}"
            )))
            .bind(session_id.to_string())
            .bind(chat_id.to_string())
            .bind(wa_id.to_string())
            .bind(extras.to_string())
        })
    }

    /// Gate: moves a message's status forward (see
    /// [`SpineTx::advance_message_status`]); the rest of the unit happens
    /// only when it moved.
    pub fn advance_message_status(
        &mut self,
        session_id: &str,
        chat_id: &str,
        wa_id: &str,
        status: MessageStatus,
    ) -> Result<(), StoreError> {
        match advance_status_query(session_id, chat_id, wa_id, status) {
            Some(query) => self.gate(query),
            None => {
                self.close();
                Ok(())
            }
        }
    }
}

/// The update that moves a message's status to `status` from one before
/// it (`None`: no status comes before it).
fn advance_status_query(
    session_id: &str,
    chat_id: &str,
    wa_id: &str,
    status: MessageStatus,
) -> Option<sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>> {
    let allowed: Vec<&str> = status.before().map(MessageStatus::as_str).collect();
    if allowed.is_empty() {
        return None;
    }
    let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("${}", i + 5)).collect();
    let sql = format!(
        "UPDATE messages SET status = $1
         WHERE session_id = $2 AND chat_id = $3 AND wa_id = $4 AND status IN ({})",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(status.as_str())
        .bind(session_id.to_string())
        .bind(chat_id.to_string())
        .bind(wa_id.to_string());
    for s in allowed {
        q = q.bind(s);
    }
    Some(q)
}

async fn insert_message(conn: &mut AnyConnection, m: &NewMessage) -> Result<bool, StoreError> {
    let done = insert_message_query(m).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}

/// The insert of a message that does nothing when it is stored already.
fn insert_message_query(
    m: &NewMessage,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO messages (session_id, chat_id, wa_id, from_me, sender, recipient, msg_type, body,
                               wa_timestamp, status, quoted_id, push_name, created_at,
                               media_file_id, media_mimetype, media_filename, media_size, media_path,
                               from_history)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT (session_id, chat_id, wa_id) DO NOTHING",
    )
    .bind(&m.session_id)
    .bind(&m.chat_id)
    .bind(&m.wa_id)
    .bind(m.from_me as i64)
    .bind(&m.sender)
    .bind(&m.recipient)
    .bind(m.msg_type.as_str())
    .bind(&m.body)
    .bind(m.wa_timestamp)
    .bind(m.status.as_str())
    .bind(&m.quoted_id)
    .bind(&m.push_name)
    .bind(wagate_core::now_ms())
    .bind(m.media.as_ref().map(|f| f.file_id.clone()))
    .bind(m.media.as_ref().map(|f| f.mimetype.clone()))
    .bind(m.media.as_ref().and_then(|f| f.filename.clone()))
    .bind(m.media.as_ref().map(|f| f.size))
    .bind(m.media.as_ref().map(|f| f.path.clone()))
    .bind(m.from_history as i64)
}

async fn set_message_extras(
    conn: &mut AnyConnection,
    session_id: &str,
    chat_id: &str,
    wa_id: &str,
    extras: &serde_json::Value,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE messages SET extras = $4 WHERE session_id = $1 AND chat_id = $2 AND wa_id = $3",
    )
    .bind(session_id)
    .bind(chat_id)
    .bind(wa_id)
    .bind(extras.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) fn message_from_row(r: &sqlx::any::AnyRow) -> Result<MessageRecord, sqlx::Error> {
    let from_me: i64 = r.try_get("from_me")?;
    Ok(MessageRecord {
        seq: r.try_get("seq")?,
        session_id: r.try_get("session_id")?,
        chat_id: r.try_get("chat_id")?,
        wa_id: r.try_get("wa_id")?,
        from_me: from_me != 0,
        sender: r.try_get("sender")?,
        recipient: r.try_get("recipient")?,
        msg_type: wire(r, "msg_type")?,
        body: r.try_get("body")?,
        wa_timestamp: r.try_get("wa_timestamp")?,
        status: wire(r, "status")?,
        quoted_id: r.try_get("quoted_id")?,
        push_name: r.try_get("push_name")?,
        created_at: r.try_get("created_at")?,
        media: media_from_row(r)?,
        extras: r
            .try_get::<Option<String>, _>("extras")?
            .and_then(|x| serde_json::from_str(&x).ok()),
        from_history: r.try_get::<i64, _>("from_history")? != 0,
        starred: r.try_get::<i64, _>("starred")? != 0,
    })
}

fn media_from_row(r: &sqlx::any::AnyRow) -> Result<Option<MediaFile>, sqlx::Error> {
    let file_id: Option<String> = r.try_get("media_file_id")?;
    let path: Option<String> = r.try_get("media_path")?;
    let (Some(file_id), Some(path)) = (file_id, path) else {
        return Ok(None);
    };
    let mimetype: Option<String> = r.try_get("media_mimetype")?;
    let size: Option<i64> = r.try_get("media_size")?;
    Ok(Some(MediaFile {
        file_id,
        mimetype: mimetype.unwrap_or_else(|| "application/octet-stream".into()),
        filename: r.try_get("media_filename")?,
        size: size.unwrap_or(0),
        path,
    }))
}

/// The dashboard overview's counters since a point in time.
#[derive(Clone, Debug, Default)]
pub struct ActivityCounts {
    pub messages_in: i64,
    pub messages_out: i64,
    /// Messages waiting in the send queue (queued or being sent).
    pub queue_depth: i64,
    /// Webhook attempts that failed or will be retried.
    pub webhook_failures: i64,
}

impl Store {
    /// Counters over the sessions of `tenant` (every tenant when `None`):
    /// messages in and out and webhook failures since `since_ms`, and the
    /// current send-queue depth.
    pub async fn activity_counts(
        &self,
        tenant: Option<&str>,
        since_ms: i64,
    ) -> Result<ActivityCounts, StoreError> {
        let scope = match tenant {
            Some(_) => "session_id IN (SELECT id FROM sessions WHERE tenant_id = $2)",
            None => "$2 = $2",
        };
        let tenant = tenant.unwrap_or("");
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT from_me, COUNT(*) AS n FROM messages WHERE created_at >= $1 AND {scope} GROUP BY from_me"
        )))
        .bind(since_ms)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = ActivityCounts::default();
        for r in &rows {
            let from_me: i64 = r.try_get("from_me")?;
            let n: i64 = r.try_get("n")?;
            if from_me != 0 {
                counts.messages_out += n;
            } else {
                counts.messages_in += n;
            }
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM send_queue WHERE status IN ('queued', 'sending') AND $1 = $1 AND {scope}"
        )))
        .bind(since_ms)
        .bind(tenant)
        .fetch_one(&self.pool)
        .await?;
        counts.queue_depth = row.try_get("n")?;
        let hook_scope = scope.replace("session_id IN", "w.session_id IN");
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.outcome <> 'delivered' AND d.created_at >= $1 AND {hook_scope}"
        )))
        .bind(since_ms)
        .bind(tenant)
        .fetch_one(&self.pool)
        .await?;
        counts.webhook_failures = row.try_get("n")?;
        Ok(counts)
    }
}

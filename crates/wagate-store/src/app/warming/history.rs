//! What rooms said (`warming_messages`): one row per round and line, sent,
//! failed, or rendered in a dry run, with its status as it moves on.

use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError};

/// One message of a room: sent, failed, or rendered in a dry run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmingMessage {
    pub id: String,
    pub room_id: String,
    pub round: i64,
    pub line: i64,
    pub actor: String,
    pub from_session: Option<String>,
    pub to_session: Option<String>,
    /// The recipient's JID.
    pub to_chat: String,
    pub text: String,
    /// `PENDING` (rendered, not queued yet), `QUEUED`, `SUCCESS`, `FAILED`,
    /// `SIMULATED` (dry run), `RECEIVED` (a person wrote to the room).
    pub status: String,
    pub queue_id: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const MESSAGE_COLUMNS: &str = "id, room_id, round, line, actor, from_session, to_session, to_chat, text, status, queue_id, error, created_at, updated_at";

impl Store {
    /// Records a message of a room; an existing row for the same round and
    /// line is kept (and returned) instead.
    pub async fn insert_warming_message(
        &self,
        m: &WarmingMessage,
    ) -> Result<WarmingMessage, StoreError> {
        sqlx::query(
            "INSERT INTO warming_messages (id, room_id, round, line, actor, from_session, to_session,
                to_chat, text, status, queue_id, error, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
             ON CONFLICT DO NOTHING",
        )
        .bind(&m.id)
        .bind(&m.room_id)
        .bind(m.round)
        .bind(m.line)
        .bind(&m.actor)
        .bind(&m.from_session)
        .bind(&m.to_session)
        .bind(&m.to_chat)
        .bind(&m.text)
        .bind(&m.status)
        .bind(&m.queue_id)
        .bind(&m.error)
        .bind(m.created_at)
        .execute(&self.pool)
        .await?;
        self.warming_message_at(&m.room_id, m.round, m.line)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn warming_message_at(
        &self,
        room_id: &str,
        round: i64,
        line: i64,
    ) -> Result<Option<WarmingMessage>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM warming_messages WHERE room_id = $1 AND round = $2 AND line = $3"
        )))
        .bind(room_id)
        .bind(round)
        .bind(line)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| message_from_row(&r)).transpose()?)
    }

    pub async fn set_warming_message_status(
        &self,
        id: &str,
        status: &str,
        queue_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE warming_messages SET status = $1, queue_id = COALESCE($2, queue_id),
                error = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(queue_id)
        .bind(error)
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A room's messages, oldest first (the last `limit`).
    pub async fn warming_messages(
        &self,
        room_id: &str,
        limit: i64,
    ) -> Result<Vec<WarmingMessage>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM warming_messages WHERE room_id = $1
             ORDER BY created_at DESC, round DESC, line DESC LIMIT $2"
        )))
        .bind(room_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<WarmingMessage> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }
}

fn message_from_row(r: &sqlx::any::AnyRow) -> Result<WarmingMessage, sqlx::Error> {
    Ok(WarmingMessage {
        id: r.try_get("id")?,
        room_id: r.try_get("room_id")?,
        round: r.try_get("round")?,
        line: r.try_get("line")?,
        actor: r.try_get("actor")?,
        from_session: r.try_get("from_session")?,
        to_session: r.try_get("to_session")?,
        to_chat: r.try_get("to_chat")?,
        text: r.try_get("text")?,
        status: r.try_get("status")?,
        queue_id: r.try_get("queue_id")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

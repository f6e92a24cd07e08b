//! Warming rooms, their script lines and what they said.
//!
//! A room row keeps where it is (`round`, `position`) and when it may speak
//! next (`next_at`). Workers of every process share the table: a worker
//! claims a room with a lease (`lease_owner`, `lease_until`) through one
//! conditional `UPDATE`, so two processes on one PostgreSQL never drive the
//! same room at once. The room's settings and actors are JSON owned by the
//! engine.

use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmingRoom {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub mode: String,
    pub status: String,
    pub pause_reason: Option<String>,
    /// Paused by the gateway (a member left CONNECTED), not the operator.
    pub pause_auto: bool,
    /// JSON list of actors.
    pub actors: String,
    /// JSON settings.
    pub settings: String,
    pub round: i64,
    pub position: i64,
    pub next_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmingLine {
    pub id: String,
    pub room_id: String,
    pub seq: i64,
    pub actor: String,
    pub text: String,
}

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

/// A session's warming numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarmingHealth {
    pub sent: i64,
    pub received: i64,
    pub failed: i64,
    /// Distinct days (UTC) with a message sent.
    pub days_warmed: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
}

const ROOM_COLUMNS: &str = "id, tenant_id, name, mode, status, pause_reason, pause_auto, actors, settings, round, position, next_at, created_at, updated_at, started_at, finished_at";
const MESSAGE_COLUMNS: &str = "id, room_id, round, line, actor, from_session, to_session, to_chat, text, status, queue_id, error, created_at, updated_at";

impl Store {
    pub async fn insert_warming_room(
        &self,
        room: &WarmingRoom,
        lines: &[WarmingLine],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO warming_rooms (id, tenant_id, name, mode, status, pause_reason, pause_auto,
                actors, settings, round, position, next_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, NULL, 0, $6, $7, 0, 0, 0, $8, $8)",
        )
        .bind(&room.id)
        .bind(&room.tenant_id)
        .bind(&room.name)
        .bind(&room.mode)
        .bind(&room.status)
        .bind(&room.actors)
        .bind(&room.settings)
        .bind(room.created_at)
        .execute(&mut *tx)
        .await?;
        for l in lines {
            insert_line(&mut *tx, l).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_warming_room(&self, id: &str) -> Result<Option<WarmingRoom>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS} FROM warming_rooms WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| room_from_row(&r)).transpose()?)
    }

    /// A tenant's rooms (every room with `None`), newest first.
    pub async fn list_warming_rooms(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<WarmingRoom>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS} FROM warming_rooms
             WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id LIMIT 1000"
        )))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(room_from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Replaces a room's name, actors and settings.
    pub async fn update_warming_room(
        &self,
        id: &str,
        name: &str,
        actors: &str,
        settings: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE warming_rooms SET name = $1, actors = $2, settings = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(name)
        .bind(actors)
        .bind(settings)
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_warming_room(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        for table in ["warming_lines", "warming_messages"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE room_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM warming_rooms WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves a room to `status` if it is in one of `from` (empty: any).
    /// `restart` puts it back at its first line. Returns whether it moved.
    pub async fn set_warming_status(
        &self,
        id: &str,
        from: &[&str],
        status: &str,
        reason: Option<&str>,
        auto: bool,
        restart: bool,
    ) -> Result<bool, StoreError> {
        let now = wagate_core::now_ms();
        let guard = if from.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = from.iter().map(|s| format!("'{s}'")).collect();
            format!(" AND status IN ({})", list.join(","))
        };
        debug_assert!(
            from.iter()
                .all(|s| s.bytes().all(|b| b.is_ascii_uppercase()))
        );
        let restart_sql = if restart {
            ", round = round + 1, position = 0, started_at = $5, finished_at = NULL"
        } else {
            ""
        };
        let finished_sql = if status == "FINISHED" || status == "STOPPED" {
            ", finished_at = $5"
        } else {
            ""
        };
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE warming_rooms SET status = $1, pause_reason = $2, pause_auto = $3,
                next_at = 0, updated_at = $5{restart_sql}{finished_sql}
             WHERE id = $4{guard}"
        )))
        .bind(status)
        .bind(reason)
        .bind(i64::from(auto))
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Rooms a worker should look at now: running and due, or paused by
    /// the gateway (they may resume), and not leased by another worker.
    pub async fn due_warming_rooms(&self, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM warming_rooms
             WHERE ((status = 'RUNNING' AND next_at <= $1) OR (status = 'PAUSED' AND pause_auto = 1))
               AND lease_until < $1
             ORDER BY next_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Takes (or renews) the lease on a room for `owner` until `until`.
    /// Only one worker holds a room at a time.
    pub async fn claim_warming_room(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE warming_rooms SET lease_owner = $1, lease_until = $2
             WHERE id = $3 AND (lease_until < $4 OR lease_owner = $1)",
        )
        .bind(owner)
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn release_warming_room(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE warming_rooms SET lease_until = 0 WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a running room to (`round`, `position`) and schedules its next
    /// step; only while it is still running.
    pub async fn advance_warming_room(
        &self,
        id: &str,
        round: i64,
        position: i64,
        next_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE warming_rooms SET round = $1, position = $2, next_at = $3, updated_at = $4
             WHERE id = $5 AND status = 'RUNNING'",
        )
        .bind(round)
        .bind(position)
        .bind(next_at)
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    // ── lines ──────────────────────────────────────────────────────────

    pub async fn warming_lines(&self, room_id: &str) -> Result<Vec<WarmingLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, room_id, seq, actor, text FROM warming_lines WHERE room_id = $1 ORDER BY seq, id",
        )
        .bind(room_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(line_from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    pub async fn insert_warming_line(&self, line: &WarmingLine) -> Result<(), StoreError> {
        insert_line(&self.pool, line).await
    }

    pub async fn update_warming_line(
        &self,
        room_id: &str,
        id: &str,
        actor: &str,
        text: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE warming_lines SET actor = $1, text = $2 WHERE room_id = $3 AND id = $4",
        )
        .bind(actor)
        .bind(text)
        .bind(room_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_warming_line(&self, room_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM warming_lines WHERE room_id = $1 AND id = $2")
            .bind(room_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Renumbers a room's lines in the order of `ids` (all of them).
    pub async fn reorder_warming_lines(
        &self,
        room_id: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (seq, id) in ids.iter().enumerate() {
            sqlx::query("UPDATE warming_lines SET seq = $1 WHERE room_id = $2 AND id = $3")
                .bind(seq as i64)
                .bind(room_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ── history ────────────────────────────────────────────────────────

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

    /// Messages a session sent through warming rooms since `since`.
    pub async fn warming_sent_since(
        &self,
        session_id: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages
             WHERE from_session = $1 AND created_at >= $2 AND status IN ('QUEUED', 'SUCCESS')",
        )
        .bind(session_id)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// A session's warming numbers over every room.
    pub async fn warming_health(&self, session_id: &str) -> Result<WarmingHealth, StoreError> {
        let sent = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS first_at, MAX(created_at) AS last_at
             FROM warming_messages WHERE from_session = $1 AND status = 'SUCCESS'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let failed = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages WHERE from_session = $1 AND status = 'FAILED'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let received = sqlx::query(
            "SELECT COUNT(*) AS n FROM warming_messages
             WHERE to_session = $1 AND status IN ('SUCCESS', 'RECEIVED')",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        let days = sqlx::query(
            "SELECT COUNT(DISTINCT created_at / 86400000) AS n FROM warming_messages
             WHERE from_session = $1 AND status = 'SUCCESS'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(WarmingHealth {
            sent: sent.try_get("n")?,
            first_at: sent.try_get("first_at")?,
            last_at: sent.try_get("last_at")?,
            failed: failed.try_get("n")?,
            received: received.try_get("n")?,
            days_warmed: days.try_get("n")?,
        })
    }
}

async fn insert_line<'e, E>(executor: E, l: &WarmingLine) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO warming_lines (id, room_id, seq, actor, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&l.id)
    .bind(&l.room_id)
    .bind(l.seq)
    .bind(&l.actor)
    .bind(&l.text)
    .bind(wagate_core::now_ms())
    .execute(executor)
    .await?;
    Ok(())
}

fn room_from_row(r: &sqlx::any::AnyRow) -> Result<WarmingRoom, sqlx::Error> {
    Ok(WarmingRoom {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        mode: r.try_get("mode")?,
        status: r.try_get("status")?,
        pause_reason: r.try_get("pause_reason")?,
        pause_auto: r.try_get::<i64, _>("pause_auto")? != 0,
        actors: r.try_get("actors")?,
        settings: r.try_get("settings")?,
        round: r.try_get("round")?,
        position: r.try_get("position")?,
        next_at: r.try_get("next_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

fn line_from_row(r: &sqlx::any::AnyRow) -> Result<WarmingLine, sqlx::Error> {
    Ok(WarmingLine {
        id: r.try_get("id")?,
        room_id: r.try_get("room_id")?,
        seq: r.try_get("seq")?,
        actor: r.try_get("actor")?,
        text: r.try_get("text")?,
    })
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

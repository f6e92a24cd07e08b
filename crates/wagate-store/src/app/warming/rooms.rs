//! Warming rooms themselves: the `warming_rooms` row ([`WarmingRoom`]),
//! creating a room with its script, reading, listing, editing, deleting, and
//! moving it between statuses.

use sqlx::{AssertSqlSafe, Row};

use super::lines::{WarmingLine, insert_line};
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

const ROOM_COLUMNS: &str = "id, tenant_id, name, mode, status, pause_reason, pause_auto, actors, settings, round, position, next_at, created_at, updated_at, started_at, finished_at";

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

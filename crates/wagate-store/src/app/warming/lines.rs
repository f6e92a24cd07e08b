//! A room's script (`warming_lines`): its lines in order, edited one by one
//! or renumbered together.

use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmingLine {
    pub id: String,
    pub room_id: String,
    pub seq: i64,
    pub actor: String,
    pub text: String,
}

impl Store {
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
}

pub(super) async fn insert_line<'e, E>(executor: E, l: &WarmingLine) -> Result<(), StoreError>
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

fn line_from_row(r: &sqlx::any::AnyRow) -> Result<WarmingLine, sqlx::Error> {
    Ok(WarmingLine {
        id: r.try_get("id")?,
        room_id: r.try_get("room_id")?,
        seq: r.try_get("seq")?,
        actor: r.try_get("actor")?,
        text: r.try_get("text")?,
    })
}

//! Driving rooms across processes: which rooms are due, the lease a worker
//! takes on a room (one conditional `UPDATE`, so two processes never drive
//! the same room), and advancing a running room to its next step.

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
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
}

//! The linked device and the identity WhatsApp reported for a session:
//! recorded on connect, forgotten after a logout.

use crate::{Store, StoreError};

impl Store {
    pub async fn set_session_device(
        &self,
        id: &str,
        device_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET device_id = $1, updated_at = $2 WHERE id = $3")
            .bind(device_id)
            .bind(wagate_core::now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records who the session is logged in as, and when it connected.
    /// (Its status is `set_session_status`'s alone.)
    pub async fn set_session_connected(
        &self,
        id: &str,
        phone: Option<&str>,
        push_name: Option<&str>,
        platform: Option<&str>,
        connected_at: i64,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE sessions SET phone = COALESCE($1, phone), push_name = COALESCE($2, push_name),
             platform = COALESCE($3, platform), connected_at = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(phone)
        .bind(push_name)
        .bind(platform)
        .bind(connected_at)
        .bind(wagate_core::now_ms())
        .bind(id);
        self.execute_write(update).await?;
        // One per connect: shares the fsyncs of a reconnect storm.
        self.wait_durable().await
    }

    /// Forgets the linked identity (after a logout).
    pub async fn clear_session_identity(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET device_id = NULL, connected_at = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

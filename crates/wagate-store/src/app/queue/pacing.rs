//! A session's pacing overrides (JSON owned by the engine), kept on the
//! session row; the queue's sender reads them to space out its sends.

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// A session's pacing overrides (JSON), if it has any.
    pub async fn session_pacing(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT pacing FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(r.try_get("pacing")?),
            None => Err(StoreError::NotFound),
        }
    }

    pub async fn set_session_pacing(
        &self,
        session_id: &str,
        pacing: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE sessions SET pacing = $2, updated_at = $3 WHERE id = $1")
            .bind(session_id)
            .bind(pacing)
            .bind(wagate_core::now_ms())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

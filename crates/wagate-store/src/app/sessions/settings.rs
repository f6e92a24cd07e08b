//! The behaviour settings a session chose, one JSON column (`settings`):
//! a [`SettingsPatch`] that a change merges into field by field.

use sqlx::Row;
use wagate_core::SettingsPatch;

use crate::{Store, StoreError};

/// How often a change is tried again when another one landed between
/// reading and writing the column.
const MERGE_ATTEMPTS: usize = 8;

/// The column's value (NULL when nothing is chosen).
pub(super) fn encode(settings: &SettingsPatch) -> Option<String> {
    (settings != &SettingsPatch::default())
        .then(|| serde_json::to_string(settings).unwrap_or_default())
}

/// The chosen settings of a column's value; one that cannot be read (a
/// hand edit) chooses nothing rather than failing the session.
pub(super) fn decode(column: Option<String>) -> SettingsPatch {
    column
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default()
}

impl Store {
    /// Merges `change` into a session's chosen settings and returns the
    /// result; `None` when there is no such session. Concurrent changes
    /// both land: the write only succeeds over the value it merged into.
    pub async fn merge_session_settings(
        &self,
        id: &str,
        change: &SettingsPatch,
    ) -> Result<Option<SettingsPatch>, StoreError> {
        for _ in 0..MERGE_ATTEMPTS {
            let Some(row) = sqlx::query("SELECT settings FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            else {
                return Ok(None);
            };
            let before: Option<String> = row.try_get("settings")?;
            let merged = decode(before.clone()).merged(change);
            let done = sqlx::query(
                "UPDATE sessions SET settings = $1, updated_at = $2
                 WHERE id = $3 AND (settings = $4 OR (settings IS NULL AND $5 = 1))",
            )
            .bind(encode(&merged))
            .bind(wagate_core::now_ms())
            .bind(id)
            .bind(before.clone().unwrap_or_default())
            .bind(i64::from(before.is_none()))
            .execute(&self.pool)
            .await?;
            if done.rows_affected() > 0 {
                return Ok(Some(merged));
            }
        }
        Err(StoreError::Conflict(
            "the session's settings changed too often at once: try again".into(),
        ))
    }
}

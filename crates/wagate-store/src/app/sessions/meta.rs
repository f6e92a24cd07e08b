//! What a client may change on a session besides its lifecycle: its
//! metadata (name, used flag, notes, device name) and the circles, named
//! groups of sessions.

use sqlx::{AssertSqlSafe, Row};

use super::record::SessionMetaPatch;
use crate::{Store, StoreError};

impl Store {
    /// Applies a partial metadata update; false when there is no such session.
    pub async fn update_session_meta(
        &self,
        id: &str,
        patch: &SessionMetaPatch,
    ) -> Result<bool, StoreError> {
        let mut sets = Vec::new();
        let mut n = 1;
        if patch.used.is_some() {
            n += 1;
            sets.push(format!("used = ${n}"));
        }
        if patch.notes.is_some() {
            n += 1;
            sets.push(format!("notes = ${n}"));
        }
        if patch.circle.is_some() {
            n += 1;
            sets.push(format!("circle = ${n}"));
        }
        if patch.name.is_some() {
            n += 1;
            sets.push(format!("name = ${n}"));
        }
        if patch.device_name.is_some() {
            n += 1;
            sets.push(format!("device_name = ${n}"));
        }
        let sql = format!(
            "UPDATE sessions SET updated_at = $1{}{} WHERE id = ${}",
            if sets.is_empty() { "" } else { ", " },
            sets.join(", "),
            n + 1
        );
        let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(wagate_core::now_ms());
        if let Some(u) = patch.used {
            q = q.bind(i64::from(u));
        }
        if let Some(notes) = &patch.notes {
            q = q.bind(notes.clone());
        }
        if let Some(circle) = &patch.circle {
            q = q.bind(circle.clone());
        }
        if let Some(name) = &patch.name {
            q = q.bind(name.clone());
        }
        if let Some(device_name) = &patch.device_name {
            q = q.bind(device_name.clone());
        }
        match q.bind(id).execute(&self.pool).await {
            Ok(done) => Ok(done.rows_affected() > 0),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!(
                    "a session named '{}' already exists",
                    patch.name.as_deref().unwrap_or_default()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Circle names with how many sessions each holds (`None`: every tenant).
    pub async fn list_circles(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = match tenant_id {
            Some(t) => {
                sqlx::query(
                    "SELECT circle, COUNT(*) AS n FROM sessions
                     WHERE circle IS NOT NULL AND tenant_id = $1 GROUP BY circle ORDER BY circle",
                )
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT circle, COUNT(*) AS n FROM sessions
                     WHERE circle IS NOT NULL GROUP BY circle ORDER BY circle",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get("circle")?;
            let n: i64 = r.try_get("n")?;
            out.push((name, n.max(0) as u64));
        }
        Ok(out)
    }

    /// Renames a circle on every session in it (of one tenant, or all for
    /// `None`); returns how many sessions moved.
    pub async fn rename_circle(
        &self,
        tenant_id: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<u64, StoreError> {
        self.set_circle_where(tenant_id, from, Some(to)).await
    }

    /// Takes every session (of one tenant, or all) out of a circle; the
    /// sessions stay. Returns how many.
    pub async fn clear_circle(
        &self,
        tenant_id: Option<&str>,
        name: &str,
    ) -> Result<u64, StoreError> {
        self.set_circle_where(tenant_id, name, None).await
    }

    async fn set_circle_where(
        &self,
        tenant_id: Option<&str>,
        circle: &str,
        to: Option<&str>,
    ) -> Result<u64, StoreError> {
        let now = wagate_core::now_ms();
        let done = match tenant_id {
            Some(t) => {
                sqlx::query(
                    "UPDATE sessions SET circle = $1, updated_at = $2 WHERE circle = $3 AND tenant_id = $4",
                )
                .bind(to)
                .bind(now)
                .bind(circle)
                .bind(t)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query("UPDATE sessions SET circle = $1, updated_at = $2 WHERE circle = $3")
                    .bind(to)
                    .bind(now)
                    .bind(circle)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }
}

//! Session rows: name, owner, status (internal names), the linked device and
//! the identity WhatsApp reported for it.
//!
//! `desired` is what the operator asked for (`running` or `stopped`); at
//! start-up every session that should be running is started again, so a
//! restart of the gateway brings paired sessions back by themselves.

use sqlx::{AssertSqlSafe, Row};
use wagate_core::{SessionStatus, StatusReason};

use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub status: SessionStatus,
    pub status_reason: Option<StatusReason>,
    pub desired_running: bool,
    pub device_id: Option<i64>,
    pub phone: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
    pub connected_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Kept for external apps: is this session taken (default false)?
    pub used: bool,
    pub notes: Option<String>,
    /// The named group of sessions it belongs to.
    pub circle: Option<String>,
    /// What the phone shows under Linked Devices.
    pub device_name: Option<String>,
    pub device_os: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub meta: SessionMeta,
}

/// What a client may set on a session besides its name.
#[derive(Clone, Debug, Default)]
pub struct SessionMeta {
    pub used: bool,
    pub notes: Option<String>,
    pub circle: Option<String>,
    pub device_name: Option<String>,
    pub device_os: Option<String>,
}

/// A partial update of a session's metadata: `None` leaves a field as it is;
/// `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct SessionMetaPatch {
    pub used: Option<bool>,
    pub notes: Option<Option<String>>,
    pub circle: Option<Option<String>>,
    /// A new name (unique per tenant: `Conflict` otherwise).
    pub name: Option<String>,
    /// The device name shown on the phone from the next pairing on.
    pub device_name: Option<Option<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    /// `None` lists every tenant's sessions (admin only).
    pub tenant_id: Option<String>,
    pub status: Option<SessionStatus>,
    pub used: Option<bool>,
    pub circle: Option<String>,
    /// 1-based.
    pub page: u32,
    pub limit: u32,
}

const COLUMNS: &str = "id, tenant_id, name, status, status_reason, desired, device_id, phone, push_name, platform, connected_at, created_at, updated_at, used, notes, circle, device_name, device_os";

impl Store {
    /// Inserts a new session; `Conflict` when the tenant already has one by
    /// that name.
    pub async fn insert_session(&self, new: &NewSession) -> Result<SessionRecord, StoreError> {
        let now = wagate_core::now_ms();
        let result = sqlx::query(
            "INSERT INTO sessions (id, tenant_id, name, status, desired, created_at, updated_at,
             used, notes, circle, device_name, device_os)
             VALUES ($1, $2, $3, $4, 'running', $5, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&new.id)
        .bind(&new.tenant_id)
        .bind(&new.name)
        .bind(SessionStatus::Initializing.internal())
        .bind(now)
        .bind(i64::from(new.meta.used))
        .bind(new.meta.notes.as_deref())
        .bind(new.meta.circle.as_deref())
        .bind(new.meta.device_name.as_deref())
        .bind(new.meta.device_os.as_deref())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "a session named '{}' already exists",
                    new.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.get_session(&new.id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sessions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| session_from_row(&r)).transpose()?)
    }

    /// A tenant's session by the phone number it is linked to (newest first
    /// when a number was linked more than once).
    pub async fn get_session_by_phone(
        &self,
        tenant_id: Option<&str>,
        phone: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = match tenant_id {
            Some(t) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM sessions WHERE phone = $1 AND tenant_id = $2 ORDER BY updated_at DESC LIMIT 1"
                )))
                .bind(phone)
                .bind(t)
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM sessions WHERE phone = $1 ORDER BY updated_at DESC LIMIT 1"
                )))
                .bind(phone)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        Ok(row.map(|r| session_from_row(&r)).transpose()?)
    }

    /// A tenant's session by its name (unique per tenant).
    pub async fn get_session_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND name = $2"
        )))
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| session_from_row(&r)).transpose()?)
    }

    /// One page of sessions and the total count under the filter.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<(Vec<SessionRecord>, u64), StoreError> {
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(t) = &filter.tenant_id {
            binds.push(t.clone());
            clauses.push(format!("tenant_id = ${}", binds.len()));
        }
        if let Some(s) = filter.status {
            binds.push(s.internal().to_string());
            clauses.push(format!("status = ${}", binds.len()));
        }
        if let Some(u) = filter.used {
            // A literal, not a bind: the binds here are all text.
            clauses.push(format!("used = {}", i64::from(u)));
        }
        if let Some(c) = &filter.circle {
            binds.push(c.clone());
            clauses.push(format!("circle = ${}", binds.len()));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = filter.limit.clamp(1, 1000) as i64;
        let offset = (filter.page.max(1) as i64 - 1) * limit;

        let count_sql = format!("SELECT COUNT(*) AS n FROM sessions {where_sql}");
        let mut count_q = sqlx::query(AssertSqlSafe(count_sql.as_str()));
        for b in &binds {
            count_q = count_q.bind(b);
        }
        let total: i64 = count_q.fetch_one(&self.pool).await?.try_get("n")?;

        let page_sql = format!(
            "SELECT {COLUMNS} FROM sessions {where_sql} ORDER BY created_at, id LIMIT {limit} OFFSET {offset}"
        );
        let mut page_q = sqlx::query(AssertSqlSafe(page_sql.as_str()));
        for b in &binds {
            page_q = page_q.bind(b);
        }
        let rows = page_q.fetch_all(&self.pool).await?;
        let records = rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?;
        Ok((records, total.max(0) as u64))
    }

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

    /// Every session that should be running (started again at boot).
    pub async fn sessions_to_resume(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sessions WHERE desired = 'running' ORDER BY created_at"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// At start-up no session is live yet: whatever was CONNECTED (or on its
    /// way) when the process last stopped is now INITIALIZING if it should
    /// run, DISCONNECTED if not. Returns how many rows changed.
    pub async fn reset_live_statuses(&self) -> Result<u64, StoreError> {
        let now = wagate_core::now_ms();
        let mut changed = 0;
        for (desired, status) in [("running", "initializing"), ("stopped", "disconnected")] {
            let done = sqlx::query(
                "UPDATE sessions SET status = $1, updated_at = $2
                 WHERE desired = $3 AND status IN ('ready', 'connecting', 'qr_ready', 'initializing')",
            )
            .bind(status)
            .bind(now)
            .bind(desired)
            .execute(&self.pool)
            .await?;
            changed += done.rows_affected();
        }
        Ok(changed)
    }

    /// Counts per internal status, for health checks: one tenant's
    /// sessions, or every tenant's with `None`.
    pub async fn count_sessions_by_status(
        &self,
        tenant_id: Option<&str>,
    ) -> Result<Vec<(SessionStatus, u64)>, StoreError> {
        let rows = match tenant_id {
            Some(t) => sqlx::query(
                "SELECT status, COUNT(*) AS n FROM sessions WHERE tenant_id = $1 GROUP BY status",
            )
            .bind(t)
            .fetch_all(&self.pool)
            .await?,
            None => {
                sqlx::query("SELECT status, COUNT(*) AS n FROM sessions GROUP BY status")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut out = Vec::new();
        for r in rows {
            let s: String = r.try_get("status")?;
            let n: i64 = r.try_get("n")?;
            if let Some(status) = SessionStatus::from_internal(&s) {
                out.push((status, n.max(0) as u64));
            }
        }
        Ok(out)
    }

    pub async fn set_session_status(
        &self,
        id: &str,
        status: SessionStatus,
        reason: Option<StatusReason>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status.internal())
        .bind(reason.map(StatusReason::as_str))
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_session_desired(&self, id: &str, running: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET desired = $1, updated_at = $2 WHERE id = $3")
            .bind(if running { "running" } else { "stopped" })
            .bind(wagate_core::now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

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
        sqlx::query(
            "UPDATE sessions SET phone = COALESCE($1, phone), push_name = COALESCE($2, push_name),
             platform = COALESCE($3, platform), connected_at = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(phone)
        .bind(push_name)
        .bind(platform)
        .bind(connected_at)
        .bind(wagate_core::now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
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

    /// Deletes the session row and its message history.
    pub async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM messages WHERE session_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn session_from_row(r: &sqlx::any::AnyRow) -> Result<SessionRecord, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let reason: Option<String> = r.try_get("status_reason")?;
    let desired: String = r.try_get("desired")?;
    Ok(SessionRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        status: SessionStatus::from_internal(&status).unwrap_or(SessionStatus::Error),
        status_reason: reason.as_deref().and_then(StatusReason::parse),
        desired_running: desired == "running",
        device_id: r.try_get("device_id")?,
        phone: r.try_get("phone")?,
        push_name: r.try_get("push_name")?,
        platform: r.try_get("platform")?,
        connected_at: r.try_get("connected_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        used: r.try_get::<i64, _>("used")? != 0,
        notes: r.try_get("notes")?,
        circle: r.try_get("circle")?,
        device_name: r.try_get("device_name")?,
        device_os: r.try_get("device_os")?,
    })
}

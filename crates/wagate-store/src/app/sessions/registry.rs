//! Creating, finding, listing and deleting session rows.

use sqlx::{AssertSqlSafe, Row};
use wagate_core::SessionStatus;

use super::record::{COLUMNS, NewSession, SessionFilter, SessionRecord, session_from_row};
use crate::{Store, StoreError};

impl Store {
    /// Inserts a new session; `Conflict` when the tenant already has one by
    /// that name.
    pub async fn insert_session(&self, new: &NewSession) -> Result<SessionRecord, StoreError> {
        let now = wagate_core::now_ms();
        let result = sqlx::query(
            "INSERT INTO sessions (id, tenant_id, name, status, desired, created_at, updated_at,
             used, notes, circle, device_name, device_os, settings)
             VALUES ($1, $2, $3, $4, 'running', $5, $5, $6, $7, $8, $9, $10, $11)",
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
        .bind(super::settings::encode(&new.meta.settings))
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

    /// Deletes the session row, its message history (polls, votes, chat
    /// settings and labels included), its proxy and its cluster lease.
    pub async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        for table in [
            "messages",
            "polls",
            "poll_votes",
            "chat_settings",
            "labels",
            "chat_labels",
            "session_proxies",
            "session_leases",
        ] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE session_id = $1"
            )))
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

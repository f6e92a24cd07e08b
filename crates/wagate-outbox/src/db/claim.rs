//! Claiming a row: the oldest pending row of a filter becomes status 3 for
//! exactly one worker (`FOR UPDATE SKIP LOCKED` on PostgreSQL and
//! MySQL/MariaDB, one `UPDATE … RETURNING` on SQLite), with the session
//! that will send it; and reading a claimed row into an [`OutboxRow`].

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{AppFilter, Dialect, OutboxDb, OutboxRow, STATUS_CLAIMED, STATUS_PENDING};

const SELECT_ROW: &str = "id_outbox, type, from_number, client_id, destination, messages, application, table_id, file, error_count, session_id";

/// The insert time as text (the `Any` driver reads no timestamp types).
fn inserted_text(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "CAST(insertDateTime AS TEXT) AS inserted",
        Dialect::MySql => "CAST(insertDateTime AS CHAR) AS inserted",
        Dialect::Sqlite => "insertDateTime AS inserted",
    }
}

fn row_from(r: &AnyRow) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        id: r.try_get("id_outbox")?,
        msg_type: r.try_get::<Option<i64>, _>("type")?.unwrap_or(0),
        from_number: r.try_get("from_number")?,
        client_id: r.try_get("client_id")?,
        destination: r
            .try_get::<Option<String>, _>("destination")?
            .unwrap_or_default(),
        messages: r.try_get("messages")?,
        application: r.try_get("application")?,
        table_id: r.try_get("table_id")?,
        file: r.try_get("file")?,
        error_count: r.try_get::<Option<i64>, _>("error_count")?.unwrap_or(0),
        session_id: r.try_get("session_id")?,
        inserted: r.try_get("inserted").ok().flatten(),
    })
}

/// What a claim found.
pub enum Claim {
    /// A row, now status 3, to be sent through `session`.
    Row {
        row: Box<OutboxRow>,
        session: String,
    },
    /// Pending rows exist but no session can take them: left pending.
    NoSession,
    /// Nothing pending for this filter.
    Empty,
}

impl OutboxDb {
    /// Claims the oldest pending row of `filter` (FIFO by insert time, then
    /// id), except the rows in `exclude`. `route` picks the session for it,
    /// or `None` when no session can take it: the row then stays pending.
    ///
    /// PostgreSQL and MySQL/MariaDB: `SELECT … FOR UPDATE SKIP LOCKED` and
    /// the `UPDATE` in one transaction, so concurrent workers each get a
    /// different row. SQLite serialises writers: one `UPDATE … RETURNING`.
    pub async fn claim(
        &self,
        filter: &AppFilter,
        worker: &str,
        exclude: &[i64],
        route: impl FnOnce(&OutboxRow) -> Option<String>,
    ) -> Result<Claim, sqlx::Error> {
        let t = &self.table;
        let d = self.dialect;
        let (mut cond, binds) = self.app_condition(filter, 1);
        if !exclude.is_empty() {
            // Integers only: safe to splice.
            let ids: Vec<String> = exclude.iter().map(i64::to_string).collect();
            cond.push_str(&format!(" AND id_outbox NOT IN ({})", ids.join(", ")));
        }
        if d == Dialect::Sqlite {
            let next = binds.len() + 1;
            let sql = format!(
                "UPDATE {t} SET status = {STATUS_CLAIMED}, claimedDateTime = {now}, claimed_by = {p}
                 WHERE id_outbox = (SELECT id_outbox FROM {t} WHERE status = {STATUS_PENDING} AND {cond}
                                    ORDER BY insertDateTime, id_outbox LIMIT 1)
                   AND status = {STATUS_PENDING}
                 RETURNING {SELECT_ROW}, {inserted}",
                inserted = inserted_text(d),
                now = d.now(),
                p = d.ph(next),
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b);
            }
            let Some(r) = q.bind(worker).fetch_optional(&self.pool).await? else {
                return Ok(Claim::Empty);
            };
            let row = row_from(&r)?;
            return Ok(match route(&row) {
                None => {
                    self.release(row.id, worker, false).await?;
                    Claim::NoSession
                }
                Some(session) => {
                    if row.session_id.as_deref() != Some(session.as_str()) {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE {t} SET session_id = $1 WHERE id_outbox = $2"
                        )))
                        .bind(&session)
                        .bind(row.id)
                        .execute(&self.pool)
                        .await?;
                    }
                    Claim::Row {
                        row: Box::new(row),
                        session,
                    }
                }
            });
        }
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {SELECT_ROW}, {inserted} FROM {t} WHERE status = {STATUS_PENDING} AND {cond}
             ORDER BY insertDateTime, id_outbox LIMIT 1 FOR UPDATE SKIP LOCKED",
            inserted = inserted_text(d),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b);
        }
        let Some(r) = q.fetch_optional(&mut *tx).await? else {
            tx.commit().await?;
            return Ok(Claim::Empty);
        };
        let row = row_from(&r)?;
        let Some(session) = route(&row) else {
            tx.rollback().await?;
            return Ok(Claim::NoSession);
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_CLAIMED}, claimedDateTime = {now}, claimed_by = {p1}, session_id = {p2}
             WHERE id_outbox = {p3}",
            now = d.now(),
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
        )))
        .bind(worker)
        .bind(&session)
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Claim::Row {
            row: Box::new(row),
            session,
        })
    }
}

//! Adding a row as an application would ([`NewRow`]): for tools and tests
//! that fill the outbox table.

use super::{OutboxDb, STATUS_PENDING};

/// A row to add (what an application inserts; helper for tools and tests).
#[derive(Clone, Debug, Default)]
pub struct NewRow {
    pub msg_type: i64,
    pub from_number: Option<String>,
    pub client_id: Option<i64>,
    pub destination: String,
    pub messages: Option<String>,
    pub priority: i64,
    pub application: Option<String>,
    pub table_id: Option<String>,
    pub file: Option<String>,
}

impl OutboxDb {
    /// Adds a row (as an application would); returns nothing: ids differ by
    /// dialect and callers match rows by their own columns.
    pub async fn insert(&self, new: &NewRow) -> Result<(), sqlx::Error> {
        let d = self.dialect;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {t} (type, from_number, client_id, destination, messages, status, priority,
                              application, table_id, file, error_count)
             VALUES ({p1}, {p2}, {p3}, {p4}, {p5}, {STATUS_PENDING}, {p6}, {p7}, {p8}, {p9}, 0)",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
            p4 = d.ph(4),
            p5 = d.ph(5),
            p6 = d.ph(6),
            p7 = d.ph(7),
            p8 = d.ph(8),
            p9 = d.ph(9),
        )))
        .bind(new.msg_type)
        .bind(&new.from_number)
        .bind(new.client_id)
        .bind(&new.destination)
        .bind(&new.messages)
        .bind(new.priority)
        .bind(&new.application)
        .bind(&new.table_id)
        .bind(&new.file)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

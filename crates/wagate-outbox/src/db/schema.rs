//! The outbox table's shape: every column (typed per dialect) and index,
//! and the migration that creates the table or adds what is missing to an
//! existing one (additive only; concurrent starts retried).

use std::time::Duration;

use sqlx::Row;

use super::connect::one_line;
use super::{Dialect, OutboxDb};

/// One column of the outbox table: name and type per dialect.
struct Column {
    name: &'static str,
    pg: &'static str,
    my: &'static str,
    lite: &'static str,
}

const fn col(name: &'static str, pg: &'static str, my: &'static str, lite: &'static str) -> Column {
    Column { name, pg, my, lite }
}

/// Every column but the key, in table order. Additive: a missing one is
/// added to an existing table, nothing is ever dropped or changed.
const COLUMNS: &[Column] = &[
    col(
        "type",
        "INTEGER NOT NULL DEFAULT 0",
        "INT NOT NULL DEFAULT 0",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    col("from_number", "VARCHAR(32)", "VARCHAR(32)", "TEXT"),
    col("client_id", "INTEGER", "INT", "INTEGER"),
    col(
        "destination",
        "VARCHAR(255) NOT NULL DEFAULT ''",
        "VARCHAR(255) NOT NULL DEFAULT ''",
        "TEXT NOT NULL DEFAULT ''",
    ),
    col("messages", "TEXT", "MEDIUMTEXT", "TEXT"),
    col(
        "status",
        "INTEGER NOT NULL DEFAULT 0",
        "INT NOT NULL DEFAULT 0",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    col(
        "priority",
        "INTEGER NOT NULL DEFAULT 0",
        "INT NOT NULL DEFAULT 0",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    col("application", "TEXT", "VARCHAR(255)", "TEXT"),
    col("sendingDateTime", "TIMESTAMP(3)", "DATETIME(3)", "TEXT"),
    col(
        "insertDateTime",
        "TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP",
        "DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)",
        "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))",
    ),
    col("table_id", "VARCHAR(255)", "VARCHAR(255)", "TEXT"),
    col("file", "TEXT", "TEXT", "TEXT"),
    col(
        "error_count",
        "INTEGER NOT NULL DEFAULT 0",
        "INT NOT NULL DEFAULT 0",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    col("msg_error", "TEXT", "TEXT", "TEXT"),
    // Added by wagate (not in the seed): who holds a claim and since when
    // (a claim older than the claim timeout is taken back), the session a
    // row went out through, and the gateway's message id.
    col("claimedDateTime", "TIMESTAMP(3)", "DATETIME(3)", "TEXT"),
    col("claimed_by", "VARCHAR(64)", "VARCHAR(64)", "TEXT"),
    col("session_id", "VARCHAR(64)", "VARCHAR(64)", "TEXT"),
    col("message_id", "VARCHAR(255)", "VARCHAR(255)", "TEXT"),
];

/// The indexes (name suffix, columns).
const INDEXES: &[(&str, &str)] = &[
    ("status_app_time", "status, application, insertDateTime"),
    ("status_time", "status, insertDateTime"),
];

impl OutboxDb {
    /// Creates the table if missing, adds missing columns and indexes.
    /// Several workers starting at once may race: a lost race is retried.
    pub async fn migrate(&self) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..5 {
            match self.migrate_once().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = one_line(&e);
                    tracing::debug!(attempt, error = %last, "outbox migration retried");
                    tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
                }
            }
        }
        Err(format!(
            "cannot create or update the outbox table {} on {}: {last}; check that the user may create and alter tables",
            self.table,
            self.dialect.name()
        ))
    }

    async fn migrate_once(&self) -> Result<(), sqlx::Error> {
        let t = &self.table;
        let key = match self.dialect {
            Dialect::Postgres => "id_outbox BIGSERIAL PRIMARY KEY",
            Dialect::MySql => "id_outbox BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            Dialect::Sqlite => "id_outbox INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let ty = |c: &Column| match self.dialect {
            Dialect::Postgres => c.pg,
            Dialect::MySql => c.my,
            Dialect::Sqlite => c.lite,
        };
        let columns: Vec<String> = COLUMNS
            .iter()
            .map(|c| format!("{} {}", c.name, ty(c)))
            .collect();
        let suffix = if self.dialect == Dialect::MySql {
            " DEFAULT CHARSET=utf8mb4"
        } else {
            ""
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {t} ({key}, {}){suffix}",
            columns.join(", ")
        )))
        .execute(&self.pool)
        .await?;
        let existing: Vec<String> = self
            .column_names()
            .await?
            .into_iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        for c in COLUMNS {
            if !existing.contains(&c.name.to_ascii_lowercase()) {
                tracing::info!(table = %t, column = c.name, "adding missing outbox column");
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER TABLE {t} ADD COLUMN {} {}",
                    c.name,
                    ty(c)
                )))
                .execute(&self.pool)
                .await?;
            }
        }
        for (suffix, cols) in INDEXES {
            let name = format!("{t}_{suffix}");
            match self.dialect {
                Dialect::MySql => {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS n FROM information_schema.STATISTICS
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
                    )
                    .bind(t)
                    .bind(&name)
                    .fetch_one(&self.pool)
                    .await?;
                    let n: i64 = row.try_get("n")?;
                    if n == 0 {
                        let full = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "CREATE INDEX {name} ON {t} ({cols})"
                        )))
                        .execute(&self.pool)
                        .await;
                        match full {
                            Ok(_) => {}
                            // 1170: a TEXT `application` (as the seed's own
                            // migration leaves it) needs a key length.
                            Err(sqlx::Error::Database(e))
                                if e.code().as_deref() == Some("42000")
                                    || e.message().contains("key length") =>
                            {
                                sqlx::query(sqlx::AssertSqlSafe(format!(
                                    "CREATE INDEX {name} ON {t} ({})",
                                    cols.replace("application", "application(191)")
                                )))
                                .execute(&self.pool)
                                .await?;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                _ => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "CREATE INDEX IF NOT EXISTS {name} ON {t} ({cols})"
                    )))
                    .execute(&self.pool)
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn column_names(&self) -> Result<Vec<String>, sqlx::Error> {
        let t = &self.table;
        let rows = match self.dialect {
            Dialect::Postgres => {
                sqlx::query(
                    "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1",
                )
                .bind(t.to_ascii_lowercase())
                .fetch_all(&self.pool)
                .await?
            }
            Dialect::MySql => {
                sqlx::query(
                    "SELECT CAST(COLUMN_NAME AS CHAR) AS name FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                )
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            Dialect::Sqlite => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{t}')"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(|r| r.try_get("name")).collect()
    }
}

//! The outbox table, on PostgreSQL, MySQL/MariaDB or SQLite.
//!
//! One `sqlx::AnyPool`; the few statements that differ by dialect are
//! built here (placeholders: `?` on MySQL, `$N` elsewhere; the clock; the
//! claim). Identifiers are never quoted, so PostgreSQL folds the seed's
//! camelCase columns (`insertDateTime`) to lower case and every query
//! still finds them.
//!
//! Statuses: 0 pending, 3 claimed, 1 sent, 2 failed.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, ConnectOptions as _, Row};

pub const STATUS_PENDING: i64 = 0;
pub const STATUS_SENT: i64 = 1;
pub const STATUS_FAILED: i64 = 2;
pub const STATUS_CLAIMED: i64 = 3;

/// Which SQL dialect the outbox database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// The `n`th (1-based) bind placeholder.
    pub fn ph(self, n: usize) -> String {
        match self {
            Dialect::MySql => "?".to_string(),
            _ => format!("${n}"),
        }
    }

    /// `n` placeholders from `start`, comma separated.
    pub fn phs(self, start: usize, n: usize) -> String {
        (start..start + n)
            .map(|i| self.ph(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The current time, as the outbox's timestamp columns store it.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Postgres => "LOCALTIMESTAMP",
            Dialect::MySql => "CURRENT_TIMESTAMP(3)",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }

    /// The time `secs` seconds ago.
    pub fn ago(self, secs: u64) -> String {
        match self {
            Dialect::Postgres => format!("(LOCALTIMESTAMP - INTERVAL '{secs} seconds')"),
            Dialect::MySql => format!("(CURRENT_TIMESTAMP(3) - INTERVAL {secs} SECOND)"),
            Dialect::Sqlite => format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '-{secs} seconds')"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
        }
    }
}

/// The application filter of a worker: `*` (every row) or a list of names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppFilter {
    All,
    Only(Vec<String>),
}

impl AppFilter {
    /// `App1`, `App1, App2` or `*`.
    pub fn parse(s: &str) -> AppFilter {
        let parts: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if parts.is_empty() || parts.iter().any(|p| p == "*") {
            AppFilter::All
        } else {
            AppFilter::Only(parts)
        }
    }
}

/// One claimed row: what the worker needs to send it.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    /// 0 text, 1 image, 2 document, 3 video, 4 audio.
    pub msg_type: i64,
    pub from_number: Option<String>,
    pub client_id: Option<i64>,
    pub destination: String,
    pub messages: Option<String>,
    pub application: Option<String>,
    pub table_id: Option<String>,
    pub file: Option<String>,
    pub error_count: i64,
    /// The session (id, or the `from_number`) a previous attempt used.
    pub session_id: Option<String>,
    /// `insertDateTime` as text (part of the idempotency key).
    pub inserted: Option<String>,
}

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

/// The outbox database.
#[derive(Clone, Debug)]
pub struct OutboxDb {
    pool: AnyPool,
    dialect: Dialect,
    table: String,
    /// Which table this is (database location and table name, never the
    /// password): part of every row's idempotency key.
    fingerprint: String,
}

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

/// The database URL for sqlx: `mariadb://` is MySQL's protocol; a SQLite
/// file is created if missing.
fn driver_url(url: &str) -> Result<(Dialect, String), String> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("mariadb://") {
        return Ok((Dialect::MySql, format!("mysql://{rest}")));
    }
    if url.starts_with("mysql://") {
        return Ok((Dialect::MySql, url.to_string()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Dialect::Postgres, url.to_string()));
    }
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err("a SQLite outbox URL needs a file: sqlite://path/to/file.db".into());
        }
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            let _ = std::fs::create_dir_all(parent);
        }
        let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        if !params.iter().any(|p| p.starts_with("mode=")) {
            params.push("mode=rwc");
        }
        return Ok((
            Dialect::Sqlite,
            format!("sqlite://{path}?{}", params.join("&")),
        ));
    }
    Err(format!(
        "{} is not a database URL: use postgres://, mysql://, mariadb:// or sqlite://",
        redact(url)
    ))
}

/// The URL with any password replaced by `***` (for messages).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => url
            .split_once('@')
            .map(|(_, host)| format!("…@{host}"))
            .unwrap_or_else(|| url.to_string()),
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `name` is a plain SQL identifier (the table name is spliced in).
pub fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

impl OutboxDb {
    /// Connects (a pool of `max_connections`); does not touch the schema.
    pub async fn connect(url: &str, table: &str, max_connections: u32) -> Result<OutboxDb, String> {
        sqlx::any::install_default_drivers();
        if !valid_identifier(table) {
            return Err(format!(
                "OUTBOX_TABLE '{table}' is not a table name: letters, digits and _"
            ));
        }
        let (dialect, driver) = driver_url(url)?;
        let options = AnyConnectOptions::from_str(&driver)
            .map_err(|e| format!("{}: {}", redact(url), one_line(&e)))?
            .disable_statement_logging();
        let mut pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(15));
        if dialect == Dialect::Sqlite {
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await.map_err(|e| {
            format!(
                "cannot connect to the outbox database {} ({}): {}",
                redact(url),
                dialect.name(),
                one_line(&e)
            )
        })?;
        if dialect == Dialect::Sqlite {
            let _ = sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await;
        }
        Ok(OutboxDb {
            pool,
            dialect,
            table: table.to_string(),
            fingerprint: fingerprint(url, table),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The `Idempotency-Key` of a row's sends: the same for every attempt
    /// at that row, different for any other row, table or database (and for
    /// a row that reuses an id after the table was recreated).
    pub fn idempotency_key(&self, row: &OutboxRow) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.fingerprint.as_bytes());
        h.update(b"\n");
        h.update(row.inserted.as_deref().unwrap_or_default().as_bytes());
        let digest = hex::encode(h.finalize());
        format!("outbox-{}-{}", row.id, &digest[..16])
    }

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

    /// The `application` condition for a filter, with its binds starting at
    /// placeholder `start`.
    fn app_condition(&self, filter: &AppFilter, start: usize) -> (String, Vec<String>) {
        match filter {
            AppFilter::All => ("1 = 1".to_string(), Vec::new()),
            AppFilter::Only(apps) => (
                format!("application IN ({})", self.dialect.phs(start, apps.len())),
                apps.clone(),
            ),
        }
    }

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

    /// Sent: status 1, `sendingDateTime` now.
    pub async fn mark_sent(
        &self,
        id: i64,
        worker: &str,
        message_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_SENT}, sendingDateTime = {now}, message_id = {p1}, msg_error = NULL
             WHERE id_outbox = {p2} AND status = {STATUS_CLAIMED} AND claimed_by = {p3}",
            t = self.table,
            now = d.now(),
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
        )))
        .bind(message_id)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Failed for good: status 2 with the reason.
    pub async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_FAILED}, msg_error = {p1}
             WHERE id_outbox = {p2} AND status = {STATUS_CLAIMED} AND claimed_by = {p3}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
        )))
        .bind(truncate(error, 1000))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A transient failure: one more error; pending again, or failed (2)
    /// once `max_attempts` are spent. Returns the new status.
    pub async fn mark_retry(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        max_attempts: i64,
    ) -> Result<i64, sqlx::Error> {
        let d = self.dialect;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            // `status` first: MySQL evaluates assignments left to right,
            // with the values already assigned.
            "UPDATE {t} SET status = CASE WHEN error_count + 1 >= {p1} THEN {STATUS_FAILED} ELSE {STATUS_PENDING} END,
                    error_count = error_count + 1, msg_error = {p2}
             WHERE id_outbox = {p3} AND status = {STATUS_CLAIMED} AND claimed_by = {p4}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
            p3 = d.ph(3),
            p4 = d.ph(4),
        )))
        .bind(max_attempts.max(1))
        .bind(truncate(error, 1000))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        self.status_of(id)
            .await
            .map(|s| s.unwrap_or(STATUS_PENDING))
    }

    /// Gives a claimed row back (pending again, no error counted). With
    /// `forget_session` the next claim routes it afresh (the session never
    /// took it, so its idempotency key is unused).
    pub async fn release(
        &self,
        id: i64,
        worker: &str,
        forget_session: bool,
    ) -> Result<bool, sqlx::Error> {
        let d = self.dialect;
        let session = if forget_session {
            ", session_id = NULL"
        } else {
            ""
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_PENDING}, claimedDateTime = NULL, claimed_by = NULL{session}
             WHERE id_outbox = {p1} AND status = {STATUS_CLAIMED} AND claimed_by = {p2}",
            t = self.table,
            p1 = d.ph(1),
            p2 = d.ph(2),
        )))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Claims older than `timeout` (their worker died) become pending again;
    /// returns how many. Safe: every send carries the row's idempotency key.
    pub async fn reclaim_stale(&self, timeout: Duration) -> Result<u64, sqlx::Error> {
        let d = self.dialect;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {t} SET status = {STATUS_PENDING}, claimed_by = NULL
             WHERE status = {STATUS_CLAIMED} AND (claimedDateTime IS NULL OR claimedDateTime < {ago})",
            t = self.table,
            ago = d.ago(timeout.as_secs().max(1)),
        )))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn status_of(&self, id: i64) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT status FROM {t} WHERE id_outbox = {p}",
            t = self.table,
            p = self.dialect.ph(1)
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("status")).transpose()
    }

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

/// The database's location (no credentials) and the table.
fn fingerprint(url: &str, table: &str) -> String {
    let place = match url::Url::parse(url.trim()) {
        Ok(u) if u.scheme() != "sqlite" => format!(
            "{}://{}:{}{}",
            u.scheme().replace("mariadb", "mysql"),
            u.host_str().unwrap_or_default(),
            u.port().unwrap_or_default(),
            u.path()
        ),
        _ => url.trim().split('?').next().unwrap_or_default().to_string(),
    };
    format!("{place}#{table}")
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(Dialect::MySql.phs(1, 3), "?, ?, ?");
        assert_eq!(Dialect::Postgres.phs(2, 2), "$2, $3");
        assert_eq!(Dialect::Sqlite.ph(4), "$4");
    }

    #[test]
    fn filters() {
        assert_eq!(AppFilter::parse("*"), AppFilter::All);
        assert_eq!(AppFilter::parse(" , "), AppFilter::All);
        assert_eq!(
            AppFilter::parse("App1, App2"),
            AppFilter::Only(vec!["App1".into(), "App2".into()])
        );
        assert_eq!(AppFilter::parse("App1,*"), AppFilter::All);
    }

    #[test]
    fn urls() {
        assert_eq!(
            driver_url("mariadb://root@h/x").unwrap(),
            (Dialect::MySql, "mysql://root@h/x".to_string())
        );
        assert_eq!(driver_url("postgres://h/x").unwrap().0, Dialect::Postgres);
        assert!(driver_url("redis://x").is_err());
        assert!(!redact("mysql://u:secret@h/x").contains("secret"));
        assert!(valid_identifier("outbox"));
        assert!(!valid_identifier("outbox; DROP"));
    }

    #[tokio::test]
    async fn sqlite_claims_fifo_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/o.db", dir.path().display());
        let db = OutboxDb::connect(&url, "outbox", 2).await.unwrap();
        db.migrate().await.unwrap();
        db.migrate().await.unwrap();
        for (i, app) in ["A", "B", "A"].iter().enumerate() {
            db.insert(&NewRow {
                destination: format!("62800{i}"),
                messages: Some(format!("m{i}")),
                application: Some(app.to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let only_a = AppFilter::parse("A");
        let Claim::Row { row, session } = db
            .claim(&only_a, "w1", &[], |_| Some("s1".into()))
            .await
            .unwrap()
        else {
            panic!("a row")
        };
        assert_eq!(
            (row.destination.as_str(), session.as_str()),
            ("628000", "s1")
        );
        assert!(db.mark_sent(row.id, "w1", Some("mid")).await.unwrap());
        // No session: the row stays pending.
        assert!(matches!(
            db.claim(&only_a, "w1", &[], |_| None).await.unwrap(),
            Claim::NoSession
        ));
        let Claim::Row { row, .. } = db
            .claim(&only_a, "w1", &[], |_| Some("s1".into()))
            .await
            .unwrap()
        else {
            panic!("a row")
        };
        assert_eq!(row.destination, "628002");
        assert_eq!(row.session_id, None);
        assert_eq!(db.mark_retry(row.id, "w1", "x", 2).await.unwrap(), 0);
        let Claim::Row { row, .. } = db
            .claim(&only_a, "w1", &[], |r| r.session_id.clone())
            .await
            .unwrap()
        else {
            panic!("the retried row")
        };
        assert_eq!(row.session_id.as_deref(), Some("s1"));
        assert_eq!(db.mark_retry(row.id, "w1", "x", 2).await.unwrap(), 2);
        assert!(matches!(
            db.claim(&only_a, "w1", &[], |_| Some("s".into()))
                .await
                .unwrap(),
            Claim::Empty
        ));
        // A stale claim comes back.
        let all = AppFilter::All;
        let Claim::Row { row, .. } = db
            .claim(&all, "w2", &[], |_| Some("s".into()))
            .await
            .unwrap()
        else {
            panic!("B")
        };
        assert_eq!(row.application.as_deref(), Some("B"));
        assert_eq!(
            db.reclaim_stale(Duration::from_secs(3600)).await.unwrap(),
            0
        );
        sqlx::query("UPDATE outbox SET claimedDateTime = '2000-01-01 00:00:00.000'")
            .execute(db.pool())
            .await
            .unwrap();
        assert_eq!(db.reclaim_stale(Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(db.status_of(row.id).await.unwrap(), Some(STATUS_PENDING));
    }
}

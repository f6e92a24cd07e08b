//! Connecting to the database and telling SQLite from PostgreSQL.
//!
//! [`Store`] is the one handle every part of the gateway shares: a single
//! `sqlx::AnyPool` (never a pool or a file per session), on a SQLite file
//! the group-commit writer's one connection (`writer.rs`), and the
//! [`DbKind`] so callers can pick the rare dialect-specific statement.
//! `connect` creates SQLite files (and their directories), turns on WAL
//! (with `synchronous=FULL` unless `SQLITE_SYNCHRONOUS=normal`), and runs
//! the migration set that matches the database. It also owns the device lifecycle of the
//! engine tables: allocating a device id and wiping one.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions as _, Connection as _};

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    /// Human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            DbKind::Sqlite => "SQLite",
            DbKind::Postgres => "PostgreSQL",
        }
    }
}

/// One connection pool over SQLite or PostgreSQL, shared by every session.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) kind: DbKind,
    /// Rings the event publisher after commits that appended events.
    pub(crate) spine: Arc<crate::app::events::SpineSignal>,
    /// The PostgreSQL URL, for `LISTEN` connections of the cluster
    /// (`None` on SQLite).
    pub(crate) pg_url: Option<Arc<str>>,
    /// The group-commit writer of a SQLite file with `synchronous=FULL`
    /// (`None` otherwise: PostgreSQL groups commits itself, and with
    /// `NORMAL` or in memory there is no fsync to share).
    pub(crate) group: Option<Arc<crate::group_commit::GroupCommit>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("kind", &self.kind).finish()
    }
}

/// Errors of the store. Every message is one line and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("{0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
}

/// Default pool size for SQLite: one writer at a time anyway, a few readers.
const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Default pool size for PostgreSQL.
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// How long a query waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long SQLite waits on a locked database before failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A parsed, validated database URL.
enum Target {
    SqliteFile { path: String, any_url: String },
    SqliteMemory { any_url: String },
    Postgres { url: String, shown: String },
}

impl Store {
    /// Connect to `sqlite://path/to/file.db` (file and parent directories are
    /// created if missing; WAL mode, busy timeout and foreign keys on) or
    /// `postgres://…`, then run the matching migration set.
    ///
    /// `sqlite::memory:` is accepted too (a single connection, for tests).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let max = match classify(url)? {
            Target::Postgres { .. } => POSTGRES_MAX_CONNECTIONS,
            _ => SQLITE_MAX_CONNECTIONS,
        };
        Self::connect_with(url, max).await
    }

    /// Like [`Store::connect`] with an explicit pool size.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let max_connections = max_connections.max(1);
        match classify(url)? {
            Target::SqliteFile { path, any_url } => {
                if let Some(parent) = Path::new(&path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Connect(format!(
                            "cannot create directory {} for the SQLite database: {e}; check the path and its permissions",
                            parent.display()
                        ))
                    })?;
                }
                let synchronous = sqlite_synchronous()?;
                let pool = sqlite_pool_options(max_connections, synchronous)
                    .connect_with(any_options(&any_url)?)
                    .await
                    .map_err(|e| cannot_open(&path, &e))?;
                // WAL is a property of the file: set it once, every later
                // connection inherits it. Readers then never block the writer.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(|e| {
                        StoreError::Connect(format!(
                            "cannot switch SQLite database {path} to WAL mode: {}; is another program holding it open?",
                            one_line(&e)
                        ))
                    })?;
                let group = match synchronous {
                    "FULL" => Some(Arc::new(group_writer(&path, &any_url).await?)),
                    _ => None,
                };
                let store = Store {
                    pool,
                    kind: DbKind::Sqlite,
                    spine: Default::default(),
                    pg_url: None,
                    group,
                };
                store.migrate().await?;
                Ok(store)
            }
            Target::SqliteMemory { any_url } => {
                // Every new connection would be a new empty database: keep
                // exactly one, forever.
                let pool = sqlite_pool_options(1, sqlite_synchronous()?)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(any_options(&any_url)?)
                    .await
                    .map_err(|e| {
                        StoreError::Connect(format!(
                            "cannot open in-memory SQLite database: {}",
                            one_line(&e)
                        ))
                    })?;
                let store = Store {
                    pool,
                    kind: DbKind::Sqlite,
                    spine: Default::default(),
                    pg_url: None,
                    group: None,
                };
                store.migrate().await?;
                Ok(store)
            }
            Target::Postgres { url, shown } => {
                // One direct attempt first: the pool retries until its
                // acquire timeout and would turn "connection refused" into a
                // bare timeout.
                let options = any_options(&url)?;
                let probe = sqlx::AnyConnection::connect_with(&options)
                    .await
                    .map_err(|e| StoreError::Connect(postgres_connect_message(&shown, &url, &e)))?;
                let _ = probe.close().await;
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Connect(postgres_connect_message(&shown, &url, &e)))?;
                let store = Store {
                    pool,
                    kind: DbKind::Postgres,
                    spine: Default::default(),
                    pg_url: Some(url.as_str().into()),
                    group: None,
                };
                store.migrate().await?;
                Ok(store)
            }
        }
    }

    /// Brings the schema up to date. On a SQLite file with group commit
    /// the migrations commit on the group-commit writer and share one fsync
    /// at the end: a new database's migrations cost one fsync, not one
    /// each (a crash before it leaves a consistent database that migrates
    /// again from where it stands).
    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATOR,
            DbKind::Postgres => &POSTGRES_MIGRATOR,
        };
        let mut writer = self.writer().await?;
        migrator.run_direct(None, &mut *writer, false).await.map_err(|e| {
            let hint = match &e {
                sqlx::migrate::MigrateError::VersionMismatch(_)
                | sqlx::migrate::MigrateError::VersionMissing(_) => {
                    "the database was migrated by a different wagate build; run the matching version or restore a backup"
                }
                sqlx::migrate::MigrateError::VersionTooNew(..)
                | sqlx::migrate::MigrateError::VersionTooOld(..) => {
                    "the database is from a newer wagate build; upgrade wagate"
                }
                _ => "check that the database user may create tables",
            };
            StoreError::Migrate(format!(
                "{} migrations: {}; {hint}",
                self.kind.name(),
                one_line(&e)
            ))
        })?;
        drop(writer);
        self.wait_durable().await
    }

    /// Which database this store talks to.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The shared connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The connection for a hot write: the group-commit writer on a SQLite
    /// file, one from the shared pool otherwise (`writer.rs`). A commit on
    /// it is durable only after [`Store::wait_durable`].
    pub(crate) async fn writer(&self) -> Result<crate::writer::Writer, sqlx::Error> {
        crate::writer::Writer::take(self.group.as_ref().map(|g| g.writer()), &self.pool).await
    }

    /// Runs one write statement on [`Store::writer`]'s connection. With
    /// group commit it shares a transaction on the writer thread with other
    /// callers' writes (`statement_batch/`); elsewhere it runs alone.
    pub(crate) async fn execute_write<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        match &self.group {
            Some(group) => {
                let statement = crate::statement_batch::Statement::from_query(query)?;
                group.batcher().execute(statement).await
            }
            None => query.execute(&mut *self.writer().await?).await,
        }
    }

    /// Runs write statements on [`Store::writer`]'s connection, all or
    /// none. With group commit they go to the batcher whole and share a
    /// transaction on the writer thread with other callers' writes
    /// (`statement_batch/`); elsewhere in a transaction of their own.
    pub(crate) async fn execute_writes_atomically<'q>(
        &self,
        queries: Vec<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>>,
    ) -> Result<(), sqlx::Error> {
        match &self.group {
            Some(group) => {
                let statements = queries
                    .into_iter()
                    .map(crate::statement_batch::Statement::from_query)
                    .collect::<Result<_, _>>()?;
                group.batcher().run(statements).await.map(|_| ())
            }
            None => {
                let mut tx = self.begin_writer_tx().await?;
                for query in queries {
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await
            }
        }
    }

    /// A transaction on [`Store::writer`]'s connection.
    pub(crate) async fn begin_writer_tx(&self) -> Result<crate::writer::WriterTx, sqlx::Error> {
        crate::writer::WriterTx::begin(self.group.as_ref().map(|g| g.writer()), &self.pool).await
    }

    /// Waits until everything committed before this call is on disk (one
    /// fsync shared with every concurrent caller; see
    /// [`crate::group_commit`]). Immediate where each commit syncs itself.
    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        match &self.group {
            Some(group) => group.wait_durable().await,
            None => Ok(()),
        }
    }

    /// Group commit's counters (`None` where it is off).
    pub fn group_commit_stats(&self) -> Option<crate::GroupCommitStats> {
        self.group.as_ref().map(|g| g.stats())
    }

    /// Round-trip a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// `SQLITE_SYNCHRONOUS`: `full` (the default: a committed row, such as a
/// message acked to WhatsApp, survives a power cut) or `normal` (faster; in
/// WAL mode a power cut may lose the last commits, never corrupt the file).
fn sqlite_synchronous() -> Result<&'static str, StoreError> {
    parse_synchronous(std::env::var("SQLITE_SYNCHRONOUS").ok().as_deref())
}

fn parse_synchronous(value: Option<&str>) -> Result<&'static str, StoreError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("full") => Ok("FULL"),
        Some("normal") => Ok("NORMAL"),
        Some(other) => Err(StoreError::Connect(format!(
            "SQLITE_SYNCHRONOUS must be full or normal (got '{other}')"
        ))),
    }
}

/// The options of a SQLite pool: busy timeout, foreign keys and the
/// `synchronous` level on every connection. No ping before each use: a
/// SQLite connection lives in this process and cannot go stale, and the
/// ping is a round trip to the connection's worker thread (two thread
/// switches) on every statement outside a transaction and every `BEGIN`.
fn sqlite_pool_options(max_connections: u32, synchronous: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| Box::pin(sqlite_pragmas(conn, synchronous)))
}

/// What every SQLite connection sets: a generous busy timeout (SQLite has
/// one writer), foreign keys (sqlx enables them already; be explicit) and
/// the `synchronous` level.
async fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    synchronous: &'static str,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA synchronous = {synchronous}"
    )))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The group-commit writer of a SQLite file: one connection (SQLite has
/// one writer anyway; queueing for it here costs no busy-wait sleeps) with
/// `synchronous=NORMAL`, made durable by [`crate::group_commit`]'s fsyncs.
async fn group_writer(
    path: &str,
    any_url: &str,
) -> Result<crate::group_commit::GroupCommit, StoreError> {
    let mut conn = sqlx::AnyConnection::connect_with(&any_options(any_url)?)
        .await
        .map_err(|e| cannot_open(path, &e))?;
    sqlite_pragmas(&mut conn, "NORMAL")
        .await
        .map_err(|e| cannot_open(path, &e))?;
    let writer = crate::writer::HeldWriter::new(conn, ACQUIRE_TIMEOUT);
    let batcher = crate::statement_batch::StatementBatcher::start(
        writer.clone(),
        path,
        Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into()),
        crate::app::events::WRITER_SETUP,
    )?;
    crate::group_commit::GroupCommit::start(writer, batcher, path)
}

fn cannot_open(path: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Connect(format!(
        "cannot open SQLite database {path}: {}; check the path and its permissions",
        one_line(e)
    ))
}

fn any_options(url: &str) -> Result<AnyConnectOptions, StoreError> {
    AnyConnectOptions::from_str(url)
        .map(|o| o.disable_statement_logging())
        .map_err(|e| StoreError::InvalidUrl(format!("{}: {}", redact(url), one_line(&e))))
}

/// The file a `sqlite://` URL names (`None` for PostgreSQL, an in-memory
/// database or a URL that is neither).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match classify(url) {
        Ok(Target::SqliteFile { path, .. }) => Some(std::path::PathBuf::from(path)),
        _ => None,
    }
}

fn classify(url: &str) -> Result<Target, StoreError> {
    let url = url.trim();
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let memory =
            path == ":memory:" || query.is_some_and(|q| q.split('&').any(|kv| kv == "mode=memory"));
        if memory {
            return Ok(Target::SqliteMemory {
                any_url: "sqlite::memory:".to_string(),
            });
        }
        if path.is_empty() {
            return Err(StoreError::InvalidUrl(format!(
                "{url} has no file path; use sqlite://path/to/file.db (or sqlite:///absolute/path.db)"
            )));
        }
        let mut params: Vec<&str> = query
            .map(|q| q.split('&').filter(|kv| !kv.is_empty()).collect())
            .unwrap_or_default();
        if !params.iter().any(|kv| kv.starts_with("mode=")) {
            params.push("mode=rwc");
        }
        let encoded: String = path
            .chars()
            .map(|c| match c {
                '%' => "%25".to_string(),
                '?' => "%3F".to_string(),
                '#' => "%23".to_string(),
                c => c.to_string(),
            })
            .collect();
        return Ok(Target::SqliteFile {
            path: path.to_string(),
            any_url: format!("sqlite://{encoded}?{}", params.join("&")),
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        url::Url::parse(url).map_err(|e| {
            StoreError::InvalidUrl(format!(
                "{}: {e}; use postgres://user:password@host:5432/database",
                redact(url)
            ))
        })?;
        return Ok(Target::Postgres {
            url: url.to_string(),
            shown: pg_location(url),
        });
    }
    Err(StoreError::InvalidUrl(format!(
        "{} is neither sqlite:// nor postgres://; use sqlite://path/to/file.db or postgres://user@host/database",
        redact(url)
    )))
}

/// `host:port/database` of a PostgreSQL URL, for messages (never the password).
fn pg_location(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => redact(url),
    }
}

/// The URL with any password replaced by `***`.
fn redact(url: &str) -> String {
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

fn postgres_connect_message(shown: &str, url: &str, e: &sqlx::Error) -> String {
    let parsed = url::Url::parse(url).ok();
    let user = parsed
        .as_ref()
        .map(|u| u.username().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres".to_string());
    let database = parsed
        .as_ref()
        .map(|u| u.path().trim_start_matches('/').to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("cannot reach PostgreSQL at {shown}: connection refused; is it running?")
        }
        sqlx::Error::Io(io) => format!(
            "cannot reach PostgreSQL at {shown}: {}; check the host and port in the URL",
            one_line(io)
        ),
        sqlx::Error::PoolTimedOut => {
            format!("timed out connecting to PostgreSQL at {shown}; is it running and reachable?")
        }
        sqlx::Error::Tls(t) => format!(
            "TLS handshake with PostgreSQL at {shown} failed: {}; check sslmode in the URL",
            one_line(t)
        ),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("3D000") => format!(
                "PostgreSQL at {shown}: database \"{database}\" does not exist; create it (createdb {database}) or fix the URL"
            ),
            Some("28P01") | Some("28000") => format!(
                "PostgreSQL at {shown}: authentication failed for user \"{user}\"; check the user and password in the URL"
            ),
            _ => format!("PostgreSQL at {shown}: {}", one_line(db)),
        },
        other => format!(
            "cannot connect to PostgreSQL at {shown}: {}",
            one_line(other)
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests;

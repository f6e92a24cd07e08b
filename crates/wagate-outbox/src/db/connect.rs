//! Opening the outbox database: the URL as sqlx takes it (`mariadb://` is
//! MySQL's protocol; a SQLite file is created), the pool and its per-dialect
//! settings, and the table name checked before it is ever spliced into SQL.
//! Messages never show a password ([`redact`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::idempotency::fingerprint;
use super::{Dialect, OutboxDb};

/// The database URL for sqlx: `mariadb://` is MySQL's protocol; a SQLite
/// file is created if missing.
pub(super) fn driver_url(url: &str) -> Result<(Dialect, String), String> {
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

pub(super) fn one_line(e: &dyn std::fmt::Display) -> String {
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
}

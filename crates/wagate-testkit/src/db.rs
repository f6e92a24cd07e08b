//! A fresh database per test: a SQLite file, or a database of its own on
//! the machine's PostgreSQL (created and dropped with `psql`).

use super::*;

/// The database a test runs on.
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, name: String },
}

impl Db {
    pub fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database on the machine's PostgreSQL.
    pub async fn postgres() -> Db {
        let admin = std::env::var("WAGATE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("wagate_e2e_{}", uuid_like());
        let status = Command::new("psql")
            .arg(&admin)
            .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql runs");
        assert!(status.success(), "could not create database {name}");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Db::Postgres {
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub fn url(&self, data_dir: &Path) -> String {
        match self {
            Db::Sqlite(_) => format!("sqlite://{}/wagate.db", data_dir.display()),
            Db::Postgres { url, .. } => url.clone(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { name, .. } = self {
            let admin = std::env::var("WAGATE_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let _ = Command::new("psql")
                .arg(&admin)
                .args([
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// One SQL statement through `psql` on a PostgreSQL URL; its unaligned
/// output (for stories that look inside the database or change it).
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(url)
        .args(["-qtA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

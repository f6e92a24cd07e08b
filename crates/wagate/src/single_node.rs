//! SQLite is single-node: one `wagate serve` per SQLite file.
//!
//! Two processes on one SQLite file would each run every session, and two
//! connections of one linked device make WhatsApp drop both. So `serve`
//! holds an exclusive lock on `<file>.lock` for as long as it runs, and a
//! second process on the same file refuses to start, saying why. The
//! operating system releases the lock when the process ends in any way
//! (SIGKILL included), so a crash never leaves the file claimed. Several
//! nodes share one PostgreSQL database instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The claim on a SQLite file; released when dropped (or the process ends).
pub struct SqliteClaim {
    _lock: File,
}

/// Claims the SQLite file of `database_url` for this process. `Ok(None)`
/// for a database that is not a SQLite file.
pub fn claim(database_url: &str) -> anyhow::Result<Option<SqliteClaim>> {
    let Some(db) = wagate_store::sqlite_file(database_url) else {
        return Ok(None);
    };
    let lock_path = lock_path(&db);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(SqliteClaim { _lock: file })),
        Err(TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another wagate process is serving {}: SQLite is single-node, so run one \
             `wagate serve` per SQLite file (several nodes share one PostgreSQL \
             DATABASE_URL instead)",
            db.display()
        )),
        Err(TryLockError::Error(e)) => {
            Err(anyhow::anyhow!("cannot lock {}: {e}", lock_path.display()))
        }
    }
}

/// `<file>.lock`, beside the database file.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_on_one_file_is_refused_until_the_first_goes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/wagate.db", dir.path().display());
        let first = claim(&url).unwrap().expect("a SQLite file is claimed");
        let second = claim(&url).err().expect("the second claim is refused");
        assert!(second.to_string().contains("single-node"), "{second}");
        drop(first);
        assert!(claim(&url).unwrap().is_some());
        assert!(claim("postgres://u@127.0.0.1/db").unwrap().is_none());
        assert!(claim("sqlite::memory:").unwrap().is_none());
    }
}

#![cfg(test)]
//! Unit tests of the parent module.

use super::*;

/// A store on a new SQLite file in `dir`, with group commit (the default
/// `SQLITE_SYNCHRONOUS`): for the unit tests of its writer's batching.
pub(crate) async fn group_commit_store(dir: &tempfile::TempDir) -> Store {
    // SAFETY: no test of this binary sets the variable.
    unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
    let store = Store::connect(&format!("sqlite://{}/store.db", dir.path().display()))
        .await
        .unwrap();
    assert!(store.group.is_some(), "group commit is on");
    store
}

#[test]
fn synchronous_is_full_unless_traded() {
    assert_eq!(parse_synchronous(None).unwrap(), "FULL");
    assert_eq!(parse_synchronous(Some("Full")).unwrap(), "FULL");
    assert_eq!(parse_synchronous(Some("normal")).unwrap(), "NORMAL");
    assert!(parse_synchronous(Some("off")).is_err());
}

#[test]
fn classifies_urls() {
    match classify("sqlite://data/wagate.db").unwrap() {
        Target::SqliteFile { path, any_url } => {
            assert_eq!(path, "data/wagate.db");
            assert_eq!(any_url, "sqlite://data/wagate.db?mode=rwc");
        }
        _ => panic!("expected a SQLite file"),
    }
    match classify("sqlite:///abs/x%y.db").unwrap() {
        Target::SqliteFile { path, any_url } => {
            assert_eq!(path, "/abs/x%y.db");
            assert_eq!(any_url, "sqlite:///abs/x%25y.db?mode=rwc");
        }
        _ => panic!("expected a SQLite file"),
    }
    assert!(matches!(
        classify("sqlite::memory:").unwrap(),
        Target::SqliteMemory { .. }
    ));
    assert!(matches!(
        classify("postgres://u:secret@db:5433/x").unwrap(),
        Target::Postgres { .. }
    ));
    assert!(matches!(
        classify("mysql://x"),
        Err(StoreError::InvalidUrl(_))
    ));
    assert!(matches!(
        classify("sqlite://"),
        Err(StoreError::InvalidUrl(_))
    ));
}

#[test]
fn never_shows_passwords() {
    assert_eq!(pg_location("postgres://u:secret@db:5433/x"), "db:5433/x");
    assert!(!redact("postgres://u:secret@db/x").contains("secret"));
}

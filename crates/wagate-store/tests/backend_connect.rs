//! `Store::connect`: URL handling, SQLite file setup, re-opening an existing
//! database, and the one-line errors an operator sees.

mod backend_common;

use wacore::store::Device;
use wacore::store::traits::{DeviceStore, SignalStore};
use wagate_store::{DbKind, Store, StoreError};

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/wagate.db");
    let url = format!("sqlite://{}", path.display());

    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.kind(), DbKind::Sqlite);
    store.ping().await.unwrap();
    assert!(path.exists());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);

    let id = store.create_device().await.unwrap();
    let device = Device::new();
    let d = store.device_backend(id);
    d.save(&device).await.unwrap();
    d.put_session("1@s.whatsapp.net", b"s").await.unwrap();
    store.pool().close().await;

    // Re-opening runs the (already applied) migrations again: a no-op.
    let store = Store::connect_with(&url, 2).await.unwrap();
    let d = store.device_backend(id);
    let loaded = d.load().await.unwrap().unwrap();
    assert_eq!(loaded.registration_id, device.registration_id);
    assert_eq!(loaded.adv_secret_key, device.adv_secret_key);
    assert!(d.has_session("1@s.whatsapp.net").await.unwrap());
    store.pool().close().await;
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let id = store.create_device().await.unwrap();
    let d = store.device_backend(id);
    d.put_identity("1@lid", [1; 32]).await.unwrap();
    assert_eq!(d.load_identity("1@lid").await.unwrap(), Some([1; 32]));
}

#[tokio::test]
async fn postgres_connects_and_reports_kind() {
    backend_common::with_postgres(|store| async move {
        assert_eq!(store.kind(), DbKind::Postgres);
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn unreachable_postgres_says_what_to_do() {
    let err = Store::connect("postgres://postgres:hunter2@127.0.0.1:1/wagate")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Connect(_)), "{msg}");
    assert!(
        msg.contains("cannot reach PostgreSQL at 127.0.0.1:1/wagate")
            && msg.contains("is it running?"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn missing_postgres_database_says_what_to_do() {
    let mut url = url::Url::parse(&backend_common::admin_url()).unwrap();
    url.set_path("/wagate_t_does_not_exist");
    let err = Store::connect(url.as_str()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("does not exist") && msg.contains("createdb"),
        "{msg}"
    );
}

#[tokio::test]
async fn bad_urls_are_rejected() {
    for url in ["mysql://x/y", "wagate.db", "sqlite://"] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{url}: {err}");
    }
}

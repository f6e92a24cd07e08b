//! Shared harness of the backend tests: a fresh SQLite file in a nested
//! folder of a tempdir (the store makes the folders), or a fresh PostgreSQL
//! database from the test kit ([`Db`]: made through the admin URL in
//! `WAGATE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped afterwards).

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;

use wagate_store::Store;
use wagate_testkit::Db;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("WAGATE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// Run `body` against a store on a fresh SQLite file.
pub async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/nested/dir/test.db", dir.path().display());
    let store = Store::connect(&url).await.expect("connect sqlite");
    body(store.clone()).await;
    store.pool().close().await;
}

/// Run `body` against a store on a fresh PostgreSQL database (the test
/// kit's [`Db`]); the database is dropped afterwards, also when `body`
/// panics.
pub async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = Db::postgres().await;
    let url = db.url(Path::new("."));
    let store = Store::connect_with(&url, 4)
        .await
        .expect("connect postgres");
    body(store.clone()).await;
    store.pool().close().await;
}

/// Declare one `#[tokio::test]` per database for each listed async fn
/// taking a `Store`.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::backend_common::with_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::backend_common::with_postgres(super::$name).await;
                }
            )*
        }
    };
}

//! Shared harness of the backend tests: a fresh SQLite file in a tempdir, or
//! a fresh PostgreSQL database (`wagate_t_<random>`) created through the
//! admin URL in `WAGATE_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.

#![allow(dead_code)]

use std::future::Future;

use sqlx::Connection as _;
use wagate_store::Store;

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

/// Run `body` against a store on a fresh PostgreSQL database; the database
/// is dropped afterwards even when `body` panics.
pub async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    sqlx::any::install_default_drivers();
    let admin = admin_url();
    let name = format!("wagate_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the PostgreSQL admin URL {admin}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("admin URL parses");
    url.set_path(&format!("/{name}"));
    let store = Store::connect_with(url.as_str(), 4)
        .await
        .expect("connect postgres");
    let outcome = tokio::spawn(body(store.clone())).await;
    store.pool().close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
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

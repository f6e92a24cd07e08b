//! `SQLITE_SYNCHRONOUS`: the gateway's SQLite connections run with
//! `synchronous=FULL` unless told `normal`, and a bad value is refused.
//!
//! `cost_of_full_durability` is a measurement, not a check (run it with
//! `--ignored --nocapture`): it appends events one commit at a time, as the
//! gateway does for each incoming message, under both settings.

use std::time::Instant;

use sqlx::Row;
use wagate_store::Store;

async fn synchronous_of(store: &Store) -> i64 {
    sqlx::query("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

/// One test, because the setting is read from the process environment.
#[tokio::test]
async fn full_by_default_normal_on_request_and_bad_values_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/a.db", dir.path().display());

    // SAFETY: this test binary runs this one test that touches the variable.
    unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(synchronous_of(&store).await, 2, "FULL by default");
    assert!(
        store.group_commit_stats().is_some(),
        "FULL's fsyncs are shared by group commit"
    );
    drop(store);

    unsafe { std::env::set_var("SQLITE_SYNCHRONOUS", "normal") };
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(synchronous_of(&store).await, 1, "NORMAL when asked");
    assert!(
        store.group_commit_stats().is_none(),
        "no fsync to share with NORMAL"
    );
    drop(store);

    unsafe { std::env::set_var("SQLITE_SYNCHRONOUS", "sometimes") };
    let err = Store::connect(&url).await.unwrap_err().to_string();
    assert!(err.contains("SQLITE_SYNCHRONOUS"), "{err}");
    unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
}

#[tokio::test]
#[ignore = "a measurement: cargo test -p wagate-store --test sqlite_synchronous -- --ignored --nocapture"]
async fn cost_of_full_durability() {
    const N: usize = 2_000;
    for mode in ["full", "normal"] {
        let dir = tempfile::tempdir_in(".").unwrap();
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        unsafe { std::env::set_var("SQLITE_SYNCHRONOUS", mode) };
        let store = Store::connect(&url).await.unwrap();
        let data = serde_json::json!({ "from": "628111000001@c.us", "body": "hello there" });
        let started = Instant::now();
        for i in 0..N {
            store
                .append_event(
                    "sess_bench",
                    "tnt_bench",
                    wagate_core::EventKind::MessageReceived,
                    &data,
                    i as i64,
                )
                .await
                .unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "SQLITE_SYNCHRONOUS={mode}: {N} event appends in {secs:.2} s = {:.0} commits/s, {:.3} ms each",
            N as f64 / secs,
            secs * 1000.0 / N as f64
        );
    }
    unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
}

//! Group commit on a SQLite file (`synchronous=FULL`, the default): a
//! commit returns only after an fsync of the WAL that started after it,
//! concurrent commits share fsyncs, and the event log shows an event only
//! once a sync covers it.

use std::sync::Arc;

use serde_json::json;
use wagate_store::Store;
use wagate_store::app::EventQuery;

/// The first `limit` events of the log (durable ones only).
async fn log(store: &Store, limit: u32) -> Vec<wagate_store::app::EventRecord> {
    store
        .read_events(&EventQuery {
            after: 0,
            limit,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn store_in(dir: &tempfile::TempDir) -> Store {
    // SAFETY: this test binary never sets the variable.
    unsafe { std::env::remove_var("SQLITE_SYNCHRONOUS") };
    Store::connect(&format!("sqlite://{}/gc.db", dir.path().display()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_database_migrates_with_one_fsync() {
    // Step: open a new database: every migration runs.
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;

    // Then: the migrations committed on the group-commit writer and waited
    // once, for one fsync, instead of fsyncing each of their commits.
    let stats = store.group_commit_stats().expect("group commit is on");
    assert_eq!((stats.waits, stats.syncs), (1, 1), "{stats:?}");

    // And the schema is there: the store answers, and a reopen finds it.
    assert!(
        store
            .count_sessions_by_status(None)
            .await
            .unwrap()
            .is_empty()
    );
    drop(store);
    let again = store_in(&dir).await;
    assert!(
        again
            .count_sessions_by_status(None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_commit_returns_after_a_sync_that_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let before = store.group_commit_stats().expect("group commit is on");

    // Step: one spine transaction (an event and nothing else) commits.
    let seq = store
        .append_event(
            "sess_a",
            "tnt_a",
            wagate_core::EventKind::MessageReceived,
            &json!({}),
            1,
        )
        .await
        .unwrap();

    // Then: it waited for a sync of its own (or a later one).
    let after = store.group_commit_stats().unwrap();
    assert!(after.waits > before.waits, "{before:?} -> {after:?}");
    assert!(after.syncs > before.syncs, "{before:?} -> {after:?}");

    // And the event is readable, through the durable-only log read.
    let events = log(&store, 10).await;
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![seq]);
}

#[tokio::test]
async fn concurrent_commits_share_fsyncs_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(&dir).await);
    let before = store.group_commit_stats().unwrap();

    // Step: 200 sessions' writers commit at once.
    const WRITERS: usize = 200;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append_event(
                        &format!("sess_{i}"),
                        "tnt_a",
                        wagate_core::EventKind::MessageReceived,
                        &json!({ "i": i }),
                        1,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }

    // Then: every commit waited for a sync, and no sync was made for
    // nobody: at most one per commit (usually far fewer).
    let after = store.group_commit_stats().unwrap();
    let waits = after.waits - before.waits;
    let syncs = after.syncs - before.syncs;
    assert!(waits >= WRITERS as u64, "{waits} waits");
    assert!(
        syncs >= 1 && syncs <= waits,
        "{syncs} syncs for {waits} waits"
    );

    // And every event is in the log exactly once, in commit order.
    seqs.sort();
    let events = log(&store, 1000).await;
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
}

#[tokio::test]
async fn engine_state_writes_wait_for_a_sync() {
    use wacore::store::traits::SignalStore;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;
    let id = store.create_device().await.unwrap();
    let device = store.device_backend(id);
    let before = store.group_commit_stats().unwrap();

    // Step: whatsapp-rust stores a ratchet step, as before each send.
    device
        .put_session("1@s.whatsapp.net", b"ratchet")
        .await
        .unwrap();

    // Then: the write returned after a sync, and reads back.
    let after = store.group_commit_stats().unwrap();
    assert!(after.syncs > before.syncs, "{before:?} -> {after:?}");
    assert_eq!(
        device
            .get_session("1@s.whatsapp.net")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"ratchet"[..])
    );
}

/// The group-commit writer is one connection held for good: a spine
/// transaction dropped half-way leaves nothing behind and does not keep
/// the write lock, and several events of one transaction come back
/// numbered in order with their data.
#[tokio::test]
async fn a_dropped_transaction_leaves_nothing_and_frees_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).await;

    // Step 1: a spine transaction writes a row and appends an event, then
    // is dropped without commit (an early return, a failed statement).
    {
        let mut tx = store.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, name, status, desired, created_at, updated_at)
             VALUES ('sess_dropped', 'tnt_a', 'dropped', 'STOPPED', 'stopped', 0, 0)",
        )
        .execute(tx.conn())
        .await
        .unwrap();
        tx.append(
            "sess_dropped",
            "tnt_a",
            wagate_core::EventKind::SessionStatus,
            &json!({ "n": 0 }),
        )
        .await
        .unwrap();
    }

    // Step 2: a write on another connection (the main pool) goes through:
    // the dropped transaction gave up SQLite's write lock.
    store
        .insert_session(&wagate_store::app::NewSession {
            id: "sess_other".into(),
            tenant_id: "tnt_a".into(),
            name: "other".into(),
            meta: Default::default(),
        })
        .await
        .unwrap();

    // Step 3: one transaction appends three events.
    let mut tx = store.begin().await.unwrap();
    for n in 1..=3 {
        tx.append(
            "sess_a",
            "tnt_a",
            wagate_core::EventKind::SessionStatus,
            &json!({ "n": n }),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    // Then: the dropped transaction left neither its row nor its event;
    // the three events are there, in order, with their data.
    assert!(store.get_session("sess_dropped").await.unwrap().is_none());
    assert!(store.get_session("sess_other").await.unwrap().is_some());
    let events = log(&store, 10).await;
    let data: Vec<_> = events.iter().map(|e| e.data["n"].clone()).collect();
    assert_eq!(data, vec![json!(1), json!(2), json!(3)]);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(events.iter().all(|e| e.session_id == "sess_a"));
}

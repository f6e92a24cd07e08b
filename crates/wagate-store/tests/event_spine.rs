//! The event spine against real SQLite and real PostgreSQL: a message and
//! its event commit together or not at all (also when the event's INSERT
//! fails), concurrent appends never let a cursor reader skip a late commit,
//! the live publisher hands out every event once and in order, and replay
//! pages stay bounded.

mod backend_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use wagate_core::EventKind;
use wagate_store::app::{EventQuery, NewMessage};
use wagate_store::{DbKind, Store};

fn message(wa_id: &str) -> NewMessage {
    NewMessage {
        session_id: "sess_a".into(),
        chat_id: "628111@s.whatsapp.net".into(),
        wa_id: wa_id.into(),
        from_me: false,
        sender: "628111@s.whatsapp.net".into(),
        recipient: "628999@s.whatsapp.net".into(),
        msg_type: wagate_core::MessageType::Chat,
        body: Some("hello".into()),
        wa_timestamp: 1_700_000_000,
        status: wagate_core::MessageStatus::Received,
        quoted_id: None,
        push_name: None,
        media: None,
        from_history: false,
    }
}

/// Every event of the log (numbering pending ones first, as the running
/// publisher would).
async fn all_events(store: &Store) -> Vec<wagate_core::Event> {
    while store.sequence_pending().await.unwrap() > 0 {}
    store
        .read_events(&EventQuery {
            after: 0,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// What the gateway does with an incoming message: store it and append its
/// `message.received` in one transaction; a duplicate does nothing.
async fn persist(store: &Store, wa_id: &str) -> Result<bool, wagate_store::StoreError> {
    let mut tx = store.begin().await?;
    if !tx.insert_message(&message(wa_id)).await? {
        return Ok(false);
    }
    tx.append(
        "sess_a",
        "tnt_a",
        EventKind::MessageReceived,
        &json!({ "id": wa_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A trigger that makes every INSERT into `events` fail, or its removal.
async fn break_event_appends(store: &Store, broken: bool) {
    let statements: &[&str] = match (store.kind(), broken) {
        (DbKind::Sqlite, true) => &[
            "CREATE TRIGGER events_fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        (DbKind::Sqlite, false) => &["DROP TRIGGER events_fail"],
        (DbKind::Postgres, true) => &[
            "CREATE FUNCTION events_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            "CREATE TRIGGER events_fail BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_fail()",
        ],
        (DbKind::Postgres, false) => &[
            "DROP TRIGGER events_fail ON events",
            "DROP FUNCTION events_fail()",
        ],
    };
    for s in statements {
        sqlx::query(*s).execute(store.pool()).await.unwrap();
    }
}

async fn message_and_event_commit_together(store: Store) {
    // Step 1: a transaction dropped before commit leaves nothing.
    {
        let mut tx = store.begin().await.unwrap();
        assert!(tx.insert_message(&message("W1")).await.unwrap());
        tx.append("sess_a", "tnt_a", EventKind::MessageReceived, &json!({}))
            .await
            .unwrap();
    }
    assert!(store.get_message("sess_a", "W1").await.unwrap().is_none());
    assert!(all_events(&store).await.is_empty());

    // Step 2: the event's INSERT fails while a message arrives: the message
    // is not stored either (so the redelivery is not taken for a duplicate).
    break_event_appends(&store, true).await;
    assert!(persist(&store, "W2").await.is_err());
    assert!(store.get_message("sess_a", "W2").await.unwrap().is_none());

    // Step 3: the database is repaired and WhatsApp redelivers, twice.
    break_event_appends(&store, false).await;
    assert!(persist(&store, "W2").await.unwrap());
    assert!(!persist(&store, "W2").await.unwrap());
    assert!(store.get_message("sess_a", "W2").await.unwrap().is_some());
    let events = all_events(&store).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, EventKind::MessageReceived);
    assert_eq!(events[0].data["id"], "W2");
}

async fn readers_never_skip_concurrent_appends(store: Store) {
    const WRITERS: usize = 50;
    const EACH: usize = 20;
    // Step 1: a reader tails the log the way webhook workers do: read up to
    // the head, then jump the cursor to the head.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = 0i64;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let head = store.last_event_seq().await.unwrap();
                let page = store
                    .read_events(&EventQuery {
                        after: cursor,
                        limit: 100,
                        upto: Some(head),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let full = page.len() == 100;
                for e in &page {
                    seen.push(e.seq);
                    cursor = e.seq;
                }
                if !full {
                    cursor = cursor.max(head);
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    // Step 2: the live publisher numbers and broadcasts meanwhile.
    let (live, mut heard) = tokio::sync::broadcast::channel(WRITERS * EACH + 16);
    let _publisher = store.start_publisher(live, Some(0));
    // Step 3: fifty writers append at once.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let mut tx = store.begin().await.unwrap();
                    tx.append(
                        &format!("sess_{w}"),
                        "tnt_a",
                        EventKind::SessionStatus,
                        &json!({ "w": w, "i": i }),
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    while store.sequence_pending().await.unwrap() > 0 {}
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    // Step 4: every event has one number, 1..=N, and the reader saw each
    // exactly once, in order.
    let total = (WRITERS * EACH) as i64;
    let all: Vec<i64> = all_events(&store).await.iter().map(|e| e.seq).collect();
    assert_eq!(all, (1..=total).collect::<Vec<_>>());
    assert_eq!(seen, all, "the tailing reader skipped or repeated an event");
    assert_eq!(store.last_event_seq().await.unwrap(), total);

    // Step 5: the live broadcast carried every event once, in seq order,
    // each exactly as the log holds it (on SQLite most were handed to the
    // publisher in memory, not read back).
    let events = all_events(&store).await;
    let mut live = Vec::new();
    while live.len() < total as usize {
        let e = tokio::time::timeout(std::time::Duration::from_secs(20), heard.recv())
            .await
            .expect("the publisher broadcasts every event")
            .unwrap();
        live.push(e);
    }
    assert_eq!(live, events);
    // Each writer's own events are in its own order.
    for w in 0..WRITERS {
        let own: Vec<i64> = events
            .iter()
            .filter(|e| e.data["w"] == w)
            .map(|e| e.data["i"].as_i64().unwrap())
            .collect();
        assert_eq!(own, (0..EACH as i64).collect::<Vec<_>>());
    }
}

async fn replay_reads_bounded_pages(store: Store) {
    for i in 0..25 {
        store
            .append_event(
                if i % 2 == 0 { "sess_a" } else { "sess_b" },
                "tnt_a",
                EventKind::MessageAck,
                &json!({ "i": i }),
                1_000 + i,
            )
            .await
            .unwrap();
    }
    let head = store.last_event_seq().await.unwrap();
    assert_eq!(head, 25);
    // Page through sess_a's events up to seq 20, four at a time.
    let mut cursor = 0;
    let mut pages = Vec::new();
    loop {
        let page = store
            .read_events(&EventQuery {
                after: cursor,
                session_id: Some("sess_a".into()),
                limit: 4,
                upto: Some(20),
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 4);
        cursor = last.seq;
        pages.push(page.iter().map(|e| e.seq).collect::<Vec<_>>());
    }
    let flat: Vec<i64> = pages.concat();
    assert_eq!(flat, (1..=20).step_by(2).collect::<Vec<_>>());
    assert_eq!(pages.len(), 3);
}

async fn retention_follows_cursors(store: Store) {
    use wagate_store::app::webhooks::NewWebhook;
    for i in 0..10 {
        store
            .append_event("sess_a", "tnt_a", EventKind::SessionStatus, &json!({}), i)
            .await
            .unwrap();
    }
    store
        .insert_webhook(&NewWebhook {
            id: "wh_quiet".into(),
            session_id: Some("sess_quiet".into()),
            tenant_id: "tnt_a".into(),
            url: "https://example.com/hook".into(),
            events: vec!["*".into()],
            secret: None,
            headers: Default::default(),
            format: Default::default(),
            concurrency: 1,
            last_seq: 2,
        })
        .await
        .unwrap();
    // A cursor at 2 pins everything after it.
    assert_eq!(store.prune_delivered_events(1_000).await.unwrap(), 2);
    // Moved to the head (what the worker does when nothing new is its),
    // retention takes everything old.
    let head = store.last_event_seq().await.unwrap();
    assert!(
        store
            .advance_webhook_cursor("wh_quiet", 2, head)
            .await
            .unwrap()
    );
    assert_eq!(store.prune_delivered_events(1_000).await.unwrap(), 8);
    assert!(all_events(&store).await.is_empty());
    // The head never moves back after pruning.
    assert_eq!(store.last_event_seq().await.unwrap(), head);
}

/// Events committed while no publisher runs (more than the in-memory
/// hand-off keeps), then more while it runs: the publisher starts from the
/// log and broadcasts every event once, in order, none twice.
async fn a_publisher_started_late_reads_the_log(store: Store) {
    const BEFORE: usize = 5_000;
    const AFTER: usize = 200;
    // `per_commit` events in each transaction.
    let append = |store: Store, range: std::ops::Range<usize>, per_commit: usize| async move {
        let all: Vec<usize> = range.collect();
        for chunk in all.chunks(per_commit) {
            let mut tx = store.begin().await.unwrap();
            for i in chunk {
                tx.append(
                    "sess_a",
                    "tnt_a",
                    EventKind::SessionStatus,
                    &json!({ "i": i }),
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
    };
    // Step 1: a backlog builds with nobody publishing.
    append(store.clone(), 0..BEFORE, 50).await;
    // Step 2: the publisher starts at the beginning of the log; more
    // events commit meanwhile.
    let (live, mut heard) = tokio::sync::broadcast::channel(BEFORE + AFTER + 16);
    let _publisher = store.start_publisher(live, Some(0));
    append(store.clone(), BEFORE..BEFORE + AFTER, 1).await;
    // Step 3: everything, once, in order, as the log holds it.
    let mut got = Vec::new();
    while got.len() < BEFORE + AFTER {
        let e = tokio::time::timeout(std::time::Duration::from_secs(20), heard.recv())
            .await
            .expect("the publisher broadcasts every event")
            .unwrap();
        got.push(e);
    }
    assert_eq!(got, all_events(&store).await);
    let indexes: Vec<i64> = got.iter().map(|e| e.data["i"].as_i64().unwrap()).collect();
    assert_eq!(indexes, (0..(BEFORE + AFTER) as i64).collect::<Vec<_>>());
    let extra = tokio::time::timeout(std::time::Duration::from_millis(700), heard.recv()).await;
    assert!(extra.is_err(), "an event was broadcast twice: {extra:?}");
}

both_databases!(
    a_publisher_started_late_reads_the_log,
    message_and_event_commit_together,
    readers_never_skip_concurrent_appends,
    replay_reads_bounded_pages,
    retention_follows_cursors,
);

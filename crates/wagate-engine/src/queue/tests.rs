#![cfg(test)]
//! Unit tests of the parent module.

use super::*;
use wagate_core::{MessageKind, RetrySchedule};

fn row(id: &str) -> NewQueued {
    NewQueued {
        id: id.to_string(),
        tenant_id: "t".into(),
        session_id: "s".into(),
        wa_id: format!("wa_{id}"),
        chat_id: "628111000001@s.whatsapp.net".into(),
        kind: MessageKind::Text,
        payload: "{}".into(),
        lane: Lane::Direct,
        not_before: 0,
        batch_id: None,
        batch_seq: None,
        idempotency_key: None,
        request_hash: None,
    }
}

/// A queue over an in-memory store, with the default settings.
async fn queue_in_memory() -> (Store, SendQueue) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let queue = SendQueue::new(
        store.clone(),
        QueueConfig::default(),
        MediaConfig::default(),
    );
    (store, queue)
}

#[tokio::test]
async fn waiters_that_stop_waiting_are_forgotten() {
    let (store, queue) = queue_in_memory().await;
    // A message already finished (an idempotent repeat waits on it).
    store.enqueue(&row("q_done")).await.unwrap();
    assert!(store.cancel_queued("q_done").await.unwrap());
    queue.wait("q_done", Duration::from_secs(5)).await.unwrap();
    assert_eq!(queue.waiting(), 0);
    // A message that never finishes (its session was deleted): the
    // waiter times out and leaves nothing behind.
    store.enqueue(&row("q_stuck")).await.unwrap();
    queue
        .wait("q_stuck", Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(queue.waiting(), 0);
    // An unknown id.
    assert!(queue.wait("q_none", Duration::from_secs(5)).await.is_err());
    assert_eq!(queue.waiting(), 0);
}

/// A sync send's caller is answered with the row the dispatcher settled,
/// without reading it back; told nothing, it reads the row.
#[tokio::test]
async fn a_waiter_is_answered_with_the_settled_row() {
    let (store, queue) = queue_in_memory().await;
    store.enqueue(&row("q_1")).await.unwrap();
    let queued = queue.get("q_1").await.unwrap();

    // Told the settled row: that is the answer (the store still says
    // queued, so nothing was read).
    let told = queue.listen("q_1");
    let sent = queued.as_sent(now_ms());
    queue.finished("q_1", Some(sent.clone()));
    let answer = queue.outcome("q_1", told, Duration::from_secs(5)).await;
    assert_eq!(answer.unwrap(), sent);
    assert_eq!(queue.waiting(), 0);

    // Told nothing (a cancel, a failure): the row as stored.
    let told = queue.listen("q_1");
    queue.finished("q_1", None);
    let answer = queue.outcome("q_1", told, Duration::from_secs(5)).await;
    assert_eq!(answer.unwrap(), queued);
    assert_eq!(queue.waiting(), 0);

    // Listening, then not submitting after all: nothing is left behind.
    let told = queue.listen("q_2");
    queue.stop_listening("q_2", told);
    assert_eq!(queue.waiting(), 0);
}

#[test]
fn settings_come_from_the_environment() {
    let env: HashMap<&str, &str> = [
        ("SEND_MIN_INTERVAL_MS", "1500"),
        ("SEND_DRIP_PER_MINUTE", "0"),
        ("SEND_QUIET_HOURS", "22:00-07:00"),
        ("SEND_QUIET_HOURS_UTC_OFFSET", "+07:00"),
        ("SEND_RETRY_SCHEDULE", "1s,5m"),
    ]
    .into();
    let c = QueueConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(c.pacing.min_interval_ms, 1500);
    assert_eq!(c.pacing.drip_per_minute, 0);
    assert_eq!(c.pacing.quiet_hours.unwrap().utc_offset_minutes, 420);
    assert_eq!(
        c.retry_schedule,
        RetrySchedule::new(vec![Duration::from_secs(1), Duration::from_secs(300)])
    );
    let defaults = QueueConfig::from_lookup(|_| None).unwrap();
    assert_eq!(defaults.pacing.drip_per_minute, 3);
    for (k, v) in [
        ("SEND_MAX_PER_DAY", "-1"),
        ("SEND_QUIET_HOURS", "late"),
        ("SEND_RETRY_SCHEDULE", "2x"),
        ("IDEMPOTENCY_TTL_HOURS", "1"),
    ] {
        assert!(
            QueueConfig::from_lookup(|key| (key == k).then(|| v.to_string())).is_err(),
            "{k}={v} should be refused"
        );
    }
}

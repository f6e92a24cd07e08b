//! Session leases on real PostgreSQL, as two nodes see them: one node holds
//! a session; while it renews nobody else can take it; once it stops
//! renewing and the lease expires another node takes it with a new
//! generation, and from then on every fenced write of the first node (its
//! status, taking a queued message) is refused while the second node's go
//! through. A released lease is taken at once; worker leases likewise.
//! The device's own writes (its Signal state) are fenced the same way.

mod backend_common;

use std::time::Duration;

use bytes::Bytes;
use wacore::store::traits::{ProtocolStore, SignalStore};
use wagate_core::{Lane, MessageKind, SessionStatus};
use wagate_store::Store;
use wagate_store::app::{ADMIN_TENANT_ID, Fence, NewQueued, NewSession, NodeBeat};

const S: &str = "sess_leased";
/// A lease's life while it is meant to stay held (long: a loaded machine
/// never lets it expire by accident).
const TTL_MS: i64 = 60_000;
/// A life that runs out at once: how a node that stopped renewing looks.
const RUNS_OUT_MS: i64 = 1;

/// Lets leases renewed with [`RUNS_OUT_MS`] expire.
async fn let_expire() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn queued(id: &str) -> NewQueued {
    NewQueued {
        id: id.into(),
        tenant_id: ADMIN_TENANT_ID.into(),
        session_id: S.into(),
        wa_id: format!("3EB0{id}"),
        chat_id: "628111@s.whatsapp.net".into(),
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

fn fence(node: &str, generation: i64) -> Fence {
    Fence {
        node_id: node.into(),
        generation,
    }
}

async fn beat(store: &Store, node: &str) {
    store
        .node_heartbeat(&NodeBeat {
            node_id: node,
            url: &format!("http://{node}:2785"),
            started_at: 0,
            draining: false,
            max_sessions: 0,
        })
        .await
        .unwrap();
}

/// Session `S`, meant to run, and two live nodes, a and b.
async fn session_and_two_nodes(store: &Store) {
    store
        .insert_session(&NewSession {
            id: S.into(),
            tenant_id: ADMIN_TENANT_ID.into(),
            name: "leased".into(),
            meta: Default::default(),
        })
        .await
        .unwrap();
    store.set_session_desired(S, true).await.unwrap();
    beat(store, "a").await;
    beat(store, "b").await;
}

async fn leases_are_fenced(store: Store) {
    // Step 1: a session that should run, and two nodes.
    session_and_two_nodes(&store).await;

    // Step 2: node a takes every orphan (this one), generation 1.
    let taken = store.claim_orphan_sessions("a", TTL_MS, 10).await.unwrap();
    assert_eq!(taken, vec![(S.to_string(), 1)]);
    assert_eq!(store.count_orphan_sessions().await.unwrap(), 0);
    assert!(
        store
            .claim_orphan_sessions("b", TTL_MS, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.claim_session_lease(S, "b", TTL_MS).await.unwrap(),
        None
    );
    assert_eq!(store.session_owner(S).await.unwrap().unwrap().node_id, "a");
    // Taking it again on its own node keeps the generation.
    assert_eq!(
        store.claim_session_lease(S, "a", TTL_MS).await.unwrap(),
        Some(1)
    );

    // Step 3: while a renews, b cannot take it.
    for _ in 0..3 {
        let renewed = store.renew_session_leases("a", TTL_MS).await.unwrap();
        assert_eq!(renewed.get(S), Some(&1));
        assert!(
            store
                .claim_orphan_sessions("b", TTL_MS, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    // Step 4: a stops renewing; after expiry b takes it, generation 2.
    store.renew_session_leases("a", RUNS_OUT_MS).await.unwrap();
    let_expire().await;
    assert_eq!(store.count_orphan_sessions().await.unwrap(), 1);
    assert!(store.session_owner(S).await.unwrap().is_none());
    let taken = store.claim_orphan_sessions("b", TTL_MS, 10).await.unwrap();
    assert_eq!(taken, vec![(S.to_string(), 2)]);
    assert!(
        store
            .renew_session_leases("a", TTL_MS)
            .await
            .unwrap()
            .is_empty()
    );

    // Step 5: a's fenced writes are refused, b's go through.
    let (old, new) = (fence("a", 1), fence("b", 2));
    assert!(!store.holds_session(S, &old).await.unwrap());
    assert!(store.holds_session(S, &new).await.unwrap());
    assert!(
        !store
            .set_session_status(S, SessionStatus::Disconnected, None, Some(&old))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_session_status(S, SessionStatus::Ready, None, Some(&new))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_session(S).await.unwrap().unwrap().status,
        SessionStatus::Ready
    );
    store.enqueue(&queued("q1")).await.unwrap();
    assert!(!store.claim_queued("q1", Some(&old)).await.unwrap());
    assert!(store.claim_queued("q1", Some(&new)).await.unwrap());

    // Step 6: what b was sending goes back to the queue for the next holder.
    assert_eq!(store.requeue_interrupted(Some(S)).await.unwrap(), 1);

    // Step 7: a released lease is taken at once, with a new generation.
    store.release_session_lease(S, &old).await.unwrap();
    assert!(
        store.session_owner(S).await.unwrap().is_some(),
        "a's stale release is ignored"
    );
    store.release_session_lease(S, &new).await.unwrap();
    assert_eq!(
        store.claim_session_lease(S, "a", TTL_MS).await.unwrap(),
        Some(3)
    );

    // Step 8: the node list shows both with their loads.
    let nodes = store.list_nodes(60_000).await.unwrap();
    let loads: Vec<(String, i64)> = nodes
        .iter()
        .map(|n| (n.node_id.clone(), n.sessions))
        .collect();
    assert_eq!(loads, vec![("a".to_string(), 1), ("b".to_string(), 0)]);
    assert!(nodes.iter().all(|n| n.alive));

    // Step 9: worker leases: one holder; taken over after expiry.
    assert!(
        store
            .hold_worker_lease("webhook:w1", "a", TTL_MS)
            .await
            .unwrap()
    );
    assert!(
        !store
            .hold_worker_lease("webhook:w1", "b", TTL_MS)
            .await
            .unwrap()
    );
    assert!(
        store
            .renew_worker_leases("a", TTL_MS)
            .await
            .unwrap()
            .contains("webhook:w1")
    );
    store.renew_worker_leases("a", RUNS_OUT_MS).await.unwrap();
    let_expire().await;
    assert!(
        store
            .hold_worker_lease("webhook:w1", "b", TTL_MS)
            .await
            .unwrap()
    );
    assert!(
        store
            .renew_worker_leases("a", TTL_MS)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_are_fenced_on_postgres() {
    backend_common::with_postgres(leases_are_fenced).await;
}

/// A device's writes under its session's lease: node a's backend writes
/// while a holds the lease; once b took the session over (a stopped
/// renewing, as a frozen node does), every write of a's backend is refused
/// and leaves b's state as it was, and b's backend writes.
async fn device_writes_are_fenced(store: Store) {
    // Step 1: a session with a device, run by node a (generation 1).
    session_and_two_nodes(&store).await;
    let device = store.create_device().await.unwrap();
    store.set_session_device(S, Some(device)).await.unwrap();
    assert_eq!(
        store.claim_orphan_sessions("a", TTL_MS, 10).await.unwrap(),
        vec![(S.to_string(), 1)]
    );
    let on_a = store.fenced_device_backend(device, S, fence("a", 1));

    // Step 2: while a holds the lease its writes go through, one statement
    // and several at once.
    on_a.put_session("555@s.whatsapp.net", b"from a")
        .await
        .unwrap();
    let batch: Vec<(std::sync::Arc<str>, Bytes)> = (0..450)
        .map(|i| {
            (
                format!("9{i}:1@s.whatsapp.net").into(),
                Bytes::from_static(b"a"),
            )
        })
        .collect();
    on_a.put_sessions_batch(&batch).await.unwrap();
    on_a.store_sent_message("628111@s.whatsapp.net", "3EB0A", b"payload")
        .await
        .unwrap();

    // Step 3: a stops renewing; after expiry b takes the session.
    store.renew_session_leases("a", RUNS_OUT_MS).await.unwrap();
    let_expire().await;
    assert_eq!(
        store.claim_orphan_sessions("b", TTL_MS, 10).await.unwrap(),
        vec![(S.to_string(), 2)]
    );
    let on_b = store.fenced_device_backend(device, S, fence("b", 2));

    // Step 4: every kind of write from a is refused and changes nothing.
    assert!(
        on_a.put_session("555@s.whatsapp.net", b"late a")
            .await
            .is_err()
    );
    assert!(on_a.put_sessions_batch(&batch[..1]).await.is_err());
    assert!(on_a.delete_session("555@s.whatsapp.net").await.is_err());
    assert!(
        on_a.take_sent_message("628111@s.whatsapp.net", "3EB0A")
            .await
            .is_err()
    );
    assert_eq!(
        on_b.get_session("555@s.whatsapp.net").await.unwrap(),
        Some(Bytes::from_static(b"from a"))
    );

    // Step 5: b's writes go through.
    on_b.put_session("555@s.whatsapp.net", b"from b")
        .await
        .unwrap();
    assert_eq!(
        on_b.get_session("555@s.whatsapp.net").await.unwrap(),
        Some(Bytes::from_static(b"from b"))
    );
    assert_eq!(
        on_b.take_sent_message("628111@s.whatsapp.net", "3EB0A")
            .await
            .unwrap(),
        Some(b"payload".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_writes_are_fenced_on_postgres() {
    backend_common::with_postgres(device_writes_are_fenced).await;
}

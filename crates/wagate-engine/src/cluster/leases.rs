//! The node's heartbeat: keep what it holds, let go of what it lost, take
//! over what nobody holds.
//!
//! Every third of a lease's life (`LEASE_TTL_SECS` / 3), or at once when
//! another node released leases, one turn:
//! 1. write the node's heartbeat row;
//! 2. renew every session lease the node holds, in one statement; a session
//!    missing from the answer was lost (another node took it after it
//!    expired) and is stopped here without another write;
//! 3. unless draining or full, take a fair share of the sessions nobody
//!    holds (a dead node's, a drained node's, or never leased), oldest
//!    first, and start them — the failover. When a node has gone silent,
//!    the next turn comes when its first lease runs out, not a turn later.
//!
//! **Stopping in time.** A node that cannot renew (the database is away,
//! the node was paused) stops every session itself once two thirds of a
//! lease's life have passed since its last good renewal, before any lease
//! can expire and another node start the same device (two connections of
//! one device make WhatsApp drop both). Every write a session makes after
//! that carries a generation the lease no longer has, and is refused.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{Cluster, Sessions};
use crate::error::EngineError;

/// Tries at taking a fair share of orphans in one turn.
const CLAIM_ROUNDS: usize = 4;
/// The shortest turn or pause (a deadline already passed still gets a try).
const MIN_TURN: Duration = Duration::from_millis(200);
/// A node silent this long, holding nothing, leaves the node list.
const FORGET_NODE_AFTER_MS: i64 = 24 * 3600 * 1000;

pub(crate) async fn run<M: Sessions>(manager: Weak<M>, cluster: Arc<Cluster>) {
    let config = cluster.config().clone();
    let renew_every = config.renew_every();
    let stop_after = config.lease_ttl * 2 / 3;
    let mut last_renewed = Instant::now();
    let mut first = true;
    loop {
        let Some(m) = manager.upgrade() else {
            return;
        };
        // A turn may not outlast the moment this node must have stopped
        // what it can no longer prove it holds.
        let began = Instant::now();
        let deadline = last_renewed + stop_after;
        let budget = renew_every
            .min(deadline.saturating_duration_since(began))
            .max(MIN_TURN);
        let turn = if first {
            tokio::time::timeout(budget, adopt(&m, &cluster)).await
        } else {
            tokio::time::timeout(budget, turn(&m, &cluster)).await
        };
        let mut sooner = None;
        let renewed = match turn {
            Ok(Ok(next)) => {
                sooner = next;
                true
            }
            Ok(Err(e)) => {
                warn!("cluster: heartbeat failed: {e}");
                false
            }
            Err(_) => {
                warn!("cluster: heartbeat timed out");
                false
            }
        };
        if renewed {
            last_renewed = began;
            if first {
                cluster.set_adopted();
            }
            first = false;
        } else if Instant::now() >= deadline && cluster.held_count() > 0 {
            warn!(
                sessions = cluster.held_count(),
                "cluster: leases could not be renewed in time; stopping every session here"
            );
            for id in cluster.held_ids() {
                m.lose(&id).await;
            }
        }
        drop(m);
        // After a failure, try again no later than the deadline.
        let wait = if renewed {
            sooner.map_or(renew_every, |s| s.min(renew_every))
        } else {
            renew_every
                .min((last_renewed + stop_after).saturating_duration_since(Instant::now()))
                .max(MIN_TURN)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cluster.claim_now.notified() => {}
        }
    }
}

/// The first turn: take back what this node's previous process held (a
/// restart keeps the node id), then an ordinary turn.
async fn adopt<M: Sessions>(
    manager: &Arc<M>,
    cluster: &Arc<Cluster>,
) -> Result<Option<Duration>, EngineError> {
    // (The heartbeat row is written by the ordinary turn below.)
    let store = manager.store();
    let ttl = cluster.config().ttl_ms();
    let own = store.adopt_own_leases(cluster.node_id(), ttl).await?;
    if !own.is_empty() {
        info!(
            sessions = own.len(),
            "cluster: taking back this node's sessions"
        );
        start_all(manager, own.into_iter().map(|(id, _)| id).collect());
    }
    turn(manager, cluster).await
}

/// One turn; `Some(wait)` when a silent node's lease runs out sooner than
/// the next turn would come (look again then, to take its session over).
async fn turn<M: Sessions>(
    manager: &Arc<M>,
    cluster: &Arc<Cluster>,
) -> Result<Option<Duration>, EngineError> {
    cluster.heartbeat().await?;
    let store = manager.store();
    let ttl = cluster.config().ttl_ms();
    // 2. Renew; stop what was lost.
    let renewed = store.renew_session_leases(cluster.node_id(), ttl).await?;
    for id in cluster.held_ids() {
        if !renewed.contains_key(&id) {
            warn!(session = %id, "cluster: lease lost; stopping the session here");
            manager.lose(&id).await;
        }
    }
    // 3. Take over a fair share of what nobody holds.
    if cluster.is_draining() || !cluster.has_room() {
        return Ok(None);
    }
    let orphans = store.count_orphan_sessions().await?;
    if orphans == 0 {
        let silent = 2 * cluster.config().renew_every().as_millis() as i64;
        let next = store.next_orphan_in_ms(silent).await?;
        return Ok(next.map(|ms| Duration::from_millis(ms.max(0) as u64 + 50)));
    }
    let live = cluster
        .nodes()
        .await?
        .iter()
        .filter(|n| n.alive && !n.draining)
        .count()
        .max(1) as i64;
    let share = (orphans + live - 1) / live;
    let room = match cluster.config().max_sessions {
        0 => i64::MAX,
        max => max.saturating_sub(cluster.held_count()) as i64,
    };
    // Nodes that look at once all try the oldest orphans first: one that
    // lost those races tries the next ones at once, not a turn later.
    let wanted = share.min(room);
    let mut taken = Vec::new();
    for _ in 0..CLAIM_ROUNDS {
        let left = wanted - taken.len() as i64;
        let got = store
            .claim_orphan_sessions(cluster.node_id(), ttl, left)
            .await?;
        taken.extend(got.into_iter().map(|(id, _)| id));
        if taken.len() as i64 >= wanted || store.count_orphan_sessions().await? == 0 {
            break;
        }
    }
    if !taken.is_empty() {
        info!(sessions = taken.len(), "cluster: taking sessions over");
        start_all(manager, taken);
    }
    if rand::random_range(0..100) == 0 {
        let _ = store.prune_nodes(FORGET_NODE_AFTER_MS).await;
    }
    Ok(None)
}

/// Starts sessions whose lease this node just took, paced like a start-up
/// (`reconnect`), off the heartbeat's path (renewals must not wait for
/// handshakes).
fn start_all<M: Sessions>(manager: &Arc<M>, ids: Vec<String>) {
    let manager = manager.clone();
    tokio::spawn(async move {
        let pacing = manager.reconnect().clone();
        crate::reconnect::start_paced(ids, &pacing, |id| {
            let manager = manager.clone();
            async move {
                match manager.start_here(id.clone()).await {
                    Ok(session) => Some(session),
                    Err(e) => {
                        warn!(session = %id, "cluster: could not start the session: {e}");
                        None
                    }
                }
            }
        })
        .await;
    });
}

//! The cluster: several `wagate serve` processes on one PostgreSQL database.
//!
//! Each process is a *node* with an id (`NODE_ID`) and an address the
//! others reach it at (`NODE_URL`). A session runs on exactly one node at a
//! time, the holder of its *lease* (`session_leases`, fenced by a
//! generation); single-runner work (a webhook endpoint's deliveries, a
//! broker output) holds a worker lease the same way. (Warming rooms keep
//! their own claims, and the outbox worker is a process of its own.) What
//! lives where:
//! - this module: the node's identity and settings ([`ClusterConfig`]), and
//!   [`Cluster`], what the rest of the gateway asks: which node holds a
//!   session, where a new session should go, whether this node holds a
//!   worker, and the fence a session's writes carry;
//! - [`leases`]: the node's heartbeat loop — renew held leases in one
//!   statement, stop what was lost, take over what nobody holds (failover),
//!   and stop everything in time when the database cannot be reached;
//! - [`wake`]: the `LISTEN` side of `NOTIFY` — a send queued on another
//!   node wakes the owner's dispatcher, released leases are taken at once;
//! - [`workers`]: which single-runner workers this node may run.
//!
//! SQLite is single-node (`wagate serve` locks the file), so there the
//! engine runs without a cluster and nothing here is used.

pub mod leases;
pub mod wake;
pub mod workers;

pub use crate::config::cluster::{ClusterConfig, node_id};
pub use workers::WorkerGate;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use wagate_store::Store;
use wagate_store::app::{Fence, NodeBeat, NodeRecord, SessionOwner};

use crate::error::EngineError;

/// What the cluster's loops ([`leases`], [`wake`]) ask of the sessions'
/// owner, the [`crate::SessionManager`], which implements it: the loops do
/// not know the manager, only these.
pub(crate) trait Sessions: Send + Sync + 'static {
    fn store(&self) -> &Store;
    /// Starts a session whose lease this node just took, with its queue.
    fn start_here(
        self: Arc<Self>,
        id: String,
    ) -> impl Future<Output = Result<Arc<crate::session::Session>, EngineError>> + Send;
    /// The pacing of a crowd of starts (`RECONNECT_CONCURRENCY`,
    /// `RECONNECT_JITTER_MS`).
    fn reconnect(&self) -> &crate::config::ReconnectConfig;
    /// Stops, without a write, a session whose lease this node lost.
    fn lose(&self, id: &str) -> impl Future<Output = ()> + Send;
    /// Wakes the send queue of a session this node runs.
    fn wake_queue(&self, id: &str) -> impl Future<Output = ()> + Send;
}

/// This node's part in the cluster.
pub struct Cluster {
    config: ClusterConfig,
    store: Store,
    started_at: i64,
    draining: AtomicBool,
    /// The session leases this node holds: session id → generation.
    held: Mutex<HashMap<String, i64>>,
    /// Rung to look for sessions to take over now (a lease was released).
    pub(crate) claim_now: Notify,
    /// Whether the first heartbeat took back this node's own leases. Until
    /// then no session starts here: taking them back moves their
    /// generation on, which would leave an already started session's fence
    /// stale.
    adopted: tokio::sync::watch::Sender<bool>,
}

/// Where a new session should run.
#[derive(Debug)]
pub enum Placement {
    Here,
    /// On another node (its URL).
    There(NodeRecord),
}

impl Cluster {
    pub(crate) fn new(store: Store, config: ClusterConfig) -> Cluster {
        Cluster {
            config,
            store,
            started_at: wagate_core::now_ms(),
            draining: AtomicBool::new(false),
            held: Mutex::new(HashMap::new()),
            claim_now: Notify::new(),
            adopted: tokio::sync::watch::channel(false).0,
        }
    }

    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many sessions this node holds.
    pub fn held_count(&self) -> usize {
        self.held().len()
    }

    /// The sessions this node holds.
    pub(crate) fn held_ids(&self) -> Vec<String> {
        self.held().keys().cloned().collect()
    }

    /// Whether this node holds the session's lease.
    pub fn holds(&self, session_id: &str) -> bool {
        self.held().contains_key(session_id)
    }

    fn fence_of(&self, generation: i64) -> Fence {
        Fence {
            node_id: self.config.node_id.clone(),
            generation,
        }
    }

    /// Takes the session's lease for this node before it starts here; the
    /// fence its writes carry. Refused while another node holds it. A
    /// session new to this node gets back what its last holder was sending.
    pub(crate) async fn take_session(&self, session_id: &str) -> Result<Fence, EngineError> {
        let _ = self.adopted.subscribe().wait_for(|done| *done).await;
        if self.is_draining() {
            return Err(EngineError::Cluster(
                "this node is shutting down; the session starts on another node".into(),
            ));
        }
        let generation = self
            .store
            .claim_session_lease(session_id, &self.config.node_id, self.config.ttl_ms())
            .await?;
        let Some(generation) = generation else {
            let owner = self.store.session_owner(session_id).await?;
            return Err(EngineError::Cluster(match owner {
                Some(o) => format!("the session runs on node {}", o.node_id),
                None => "another node is taking the session over; try again shortly".into(),
            }));
        };
        let before = self.held().insert(session_id.to_string(), generation);
        if before != Some(generation) {
            self.store.requeue_interrupted(Some(session_id)).await?;
        }
        Ok(self.fence_of(generation))
    }

    /// Lets a session's lease go (it stopped here, or the node drains): any
    /// node may take it at once, and the others are told.
    pub(crate) async fn release_session(&self, session_id: &str) {
        let Some(generation) = self.held().remove(session_id) else {
            return;
        };
        let fence = self.fence_of(generation);
        if let Err(e) = self.store.release_session_lease(session_id, &fence).await {
            tracing::warn!(session = %session_id, "could not release the lease: {e}");
        }
        let _ = self.store.notify_cluster(wake::LEASES).await;
    }

    /// Forgets a lease this node lost (another node holds it now).
    pub(crate) fn forget_session(&self, session_id: &str) {
        self.held().remove(session_id);
    }

    /// The node holding a live lease on the session (`None`: nobody does).
    pub async fn owner_of(&self, session_id: &str) -> Result<Option<SessionOwner>, EngineError> {
        Ok(self.store.session_owner(session_id).await?)
    }

    /// Every node with its heartbeat and load.
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>, EngineError> {
        Ok(self.store.list_nodes(self.config.ttl_ms()).await?)
    }

    /// Which node each running session is on.
    pub async fn session_nodes(&self) -> Result<HashMap<String, String>, EngineError> {
        Ok(self.store.session_nodes().await?)
    }

    /// The least-loaded live node with room (this one when tied), for a new
    /// session. Refused when every node is full (`NODE_MAX_SESSIONS`).
    pub async fn place_new_session(&self) -> Result<Placement, EngineError> {
        let nodes = self.nodes().await?;
        let best = nodes
            .into_iter()
            .filter(|n| n.alive && !n.draining)
            .filter(|n| n.max_sessions <= 0 || n.sessions < n.max_sessions)
            .min_by_key(|n| (n.sessions, n.node_id != self.config.node_id));
        match best {
            Some(n) if n.node_id != self.config.node_id => Ok(Placement::There(n)),
            Some(_) => Ok(Placement::Here),
            None if self.has_room() && !self.is_draining() => Ok(Placement::Here),
            None => Err(EngineError::Cluster(
                "no node has room for another session (NODE_MAX_SESSIONS)".into(),
            )),
        }
    }

    /// Whether this node may take one more session.
    pub fn has_room(&self) -> bool {
        self.config.max_sessions == 0 || self.held_count() < self.config.max_sessions
    }

    /// Gives every worker lease up (the node drains).
    pub async fn release_workers(&self) {
        if let Err(e) = self.store.release_worker_leases(&self.config.node_id).await {
            tracing::warn!("could not release the worker leases: {e}");
        }
    }

    /// The first heartbeat took back this node's own leases: sessions may
    /// start here now.
    pub(crate) fn set_adopted(&self) {
        self.adopted.send_replace(true);
    }

    /// The node's row, written now (its draining flag included).
    pub(crate) async fn announce(&self) -> Result<(), EngineError> {
        self.heartbeat().await
    }

    /// The node's row, written now.
    async fn heartbeat(&self) -> Result<(), EngineError> {
        self.store
            .node_heartbeat(&NodeBeat {
                node_id: &self.config.node_id,
                url: &self.config.node_url,
                started_at: self.started_at,
                draining: self.is_draining(),
                max_sessions: self.config.max_sessions as i64,
            })
            .await?;
        Ok(())
    }
}

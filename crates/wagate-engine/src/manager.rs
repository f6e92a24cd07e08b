//! Every session of this process.
//!
//! The manager creates, finds, deletes and shuts down sessions, and at boot
//! starts every session that should be running, so paired sessions come back
//! by themselves after a restart. Sessions are started a few at a time so a
//! thousand of them do not all handshake in the same instant.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::sync::{RwLock, broadcast};
use tracing::{info, warn};
use wagate_core::{SessionStatus, StatusReason};
use wagate_store::Store;
use wagate_store::app::{NewSession, SessionMeta, SessionRecord};

use crate::cluster::Cluster;
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::events::{EventKind, GatewayEvent};
use crate::http::GatewayHttpClient;
use crate::queue::SendQueue;
use crate::session::{Session, Shared};

/// How many sessions stop (or are handed over) at once.
const STOP_CONCURRENCY: usize = 32;
/// Capacity of the live event channel (a slow consumer that falls this far
/// behind misses events; durable delivery reads the event log instead).
const EVENT_CHANNEL: usize = 8192;

pub struct SessionManager {
    shared: Arc<Shared>,
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    queue: SendQueue,
    /// Feeds the live broadcast from the log, after commits.
    _publisher: wagate_store::app::Publisher,
    incoming_started: AtomicBool,
}

impl SessionManager {
    pub fn new(store: Store, config: EngineConfig) -> Arc<SessionManager> {
        let http = GatewayHttpClient::new(config.media_base());
        let (events, _) = broadcast::channel(EVENT_CHANNEL);
        let publisher = store.start_publisher(events.clone(), None);
        let queue = SendQueue::new(store.clone(), config.queue.clone(), config.media.clone());
        let cluster = config
            .cluster
            .clone()
            .filter(|_| store.clusterable())
            .map(|c| Arc::new(Cluster::new(store.clone(), c)));
        Arc::new(SessionManager {
            queue,
            _publisher: publisher,
            shared: Arc::new(Shared {
                store,
                config,
                http,
                events,
                recipients: Default::default(),
                incoming_wake: Default::default(),
                cluster,
            }),
            sessions: RwLock::new(HashMap::new()),
            incoming_started: AtomicBool::new(false),
        })
    }

    /// Starts the received-media download pool (once per manager).
    pub fn start_incoming_media(self: &Arc<Self>) {
        if !self.incoming_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(crate::incoming::run(Arc::downgrade(self)));
        }
    }

    pub(crate) fn incoming_wake(&self) -> Arc<tokio::sync::Notify> {
        self.shared.incoming_wake.clone()
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The send queue every message goes through.
    pub fn queue(&self) -> &SendQueue {
        &self.queue
    }

    /// Live events from every session.
    pub fn subscribe(&self) -> broadcast::Receiver<GatewayEvent> {
        self.shared.events.subscribe()
    }

    /// Appends an event that is not a session's own doing (a batch's
    /// progress, a disabled webhook, …) to the log; live listeners hear of
    /// it from the publisher once it is committed.
    pub async fn publish(
        &self,
        session_id: &str,
        tenant_id: &str,
        event: EventKind,
        data: serde_json::Value,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        tx.append(session_id, tenant_id, event, &data).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the live statuses a previous process left in the store (call
    /// once at start-up, before serving): nothing is connected yet.
    /// Messages the previous process was sending go back to the queue. In a
    /// cluster the other nodes' sessions are live: each session is reset by
    /// the node that takes its lease instead, so this does nothing.
    pub async fn reset_after_restart(&self) -> Result<u64, EngineError> {
        if self.cluster().is_some() {
            return Ok(0);
        }
        let interrupted = self.shared.store.requeue_interrupted(None).await?;
        if interrupted > 0 {
            info!(
                messages = interrupted,
                "messages interrupted by the last stop are queued again"
            );
        }
        Ok(self.shared.store.reset_live_statuses().await?)
    }

    /// This node's part in a cluster (`None`: a single node).
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.shared.cluster.as_ref()
    }

    /// Starts every session that should be running; returns how many. In a
    /// cluster the node instead starts its heartbeat, which takes back this
    /// node's own sessions and a fair share of those nobody runs
    /// ([`crate::cluster::leases`]); returns 0.
    pub async fn boot(self: &Arc<Self>) -> Result<usize, EngineError> {
        self.start_incoming_media();
        if let Some(cluster) = self.cluster() {
            tokio::spawn(crate::cluster::leases::run(
                Arc::downgrade(self),
                cluster.clone(),
            ));
            tokio::spawn(crate::cluster::wake::run(
                Arc::downgrade(self),
                cluster.clone(),
            ));
            self.queue.start_pruning();
            return Ok(0);
        }
        let records = self.shared.store.sessions_to_resume().await?;
        let count = records.len();
        // Every session is known before any connects, so the queue's
        // dispatchers wake at once: each sends as soon as its own session is
        // connected, not after the whole crowd.
        let mut sessions = Vec::with_capacity(count);
        for record in &records {
            sessions.push(self.attach(record).await);
        }
        let me = self.clone();
        self.queue
            .boot(move |id| {
                let me = me.clone();
                Box::pin(async move { me.get(&id).await.ok() })
            })
            .await?;
        // Paced: a crowd of sessions must not dial at once (`reconnect`).
        crate::reconnect::start_paced(
            sessions,
            &self.shared.config.reconnect,
            |session| async move {
                match session.start(None).await {
                    Ok(()) => Some(session),
                    Err(e) => {
                        warn!(session = %session.id, "could not start at boot: {e}");
                        None
                    }
                }
            },
        )
        .await;
        info!(sessions = count, "sessions resumed");
        Ok(count)
    }

    /// Creates a session for a tenant and starts pairing it. A device
    /// identity left out comes from `DEVICE_OS` / `DEVICE_NAME`, the OS
    /// otherwise picked at random so sessions don't all look alike.
    pub async fn create(
        self: &Arc<Self>,
        tenant_id: &str,
        name: &str,
        meta: SessionMeta,
    ) -> Result<(SessionRecord, Arc<Session>), EngineError> {
        self.create_with_proxy(tenant_id, name, meta, None).await
    }

    /// [`SessionManager::create`], the session going through `proxy` from
    /// its first connection on (it is stored before the session starts).
    pub async fn create_with_proxy(
        self: &Arc<Self>,
        tenant_id: &str,
        name: &str,
        mut meta: SessionMeta,
        proxy: Option<&wagate_core::ProxyUrl>,
    ) -> Result<(SessionRecord, Arc<Session>), EngineError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if meta.device_os.is_none() {
            meta.device_os = Some(env("DEVICE_OS").unwrap_or_else(random_device_os));
        }
        if meta.device_name.is_none() {
            meta.device_name = env("DEVICE_NAME");
        }
        let id = wagate_core::ids::session_id();
        let store = &self.shared.store;
        // In a cluster the new session is this node's from its first row:
        // another node looking for sessions nobody holds must not take it.
        if let Some(cluster) = self.cluster() {
            cluster.take_session(&id).await?;
        }
        if let Some(proxy) = proxy {
            store
                .set_session_proxy(&id, Some(&proxy.secret_url()))
                .await?;
        }
        let inserted = store
            .insert_session(&NewSession {
                id: id.clone(),
                tenant_id: tenant_id.to_string(),
                name: name.to_string(),
                meta,
            })
            .await;
        let record = match inserted {
            Ok(record) => record,
            Err(e) => {
                if proxy.is_some() {
                    let _ = store.set_session_proxy(&id, None).await;
                }
                if let Some(cluster) = self.cluster() {
                    cluster.release_session(&id).await;
                }
                return Err(e.into());
            }
        };
        let session = self.attach(&record).await;
        session.start(None).await?;
        Ok((record, session))
    }

    /// The live session for a stored record (created on first use).
    pub async fn attach(&self, record: &SessionRecord) -> Arc<Session> {
        if let Some(s) = self.sessions.read().await.get(&record.id) {
            return s.clone();
        }
        let mut map = self.sessions.write().await;
        map.entry(record.id.clone())
            .or_insert_with(|| Session::new(self.shared.clone(), record))
            .clone()
    }

    /// The live session by id, loading it from the store if needed.
    pub async fn get(&self, id: &str) -> Result<Arc<Session>, EngineError> {
        if let Some(s) = self.sessions.read().await.get(id) {
            return Ok(s.clone());
        }
        let record = self
            .shared
            .store
            .get_session(id)
            .await?
            .ok_or(EngineError::SessionNotFound)?;
        Ok(self.attach(&record).await)
    }

    /// Merges a change into a session's chosen behaviour settings and has
    /// the live session act on the result at once; `SessionNotFound` when
    /// there is no such session.
    pub async fn change_settings(
        &self,
        id: &str,
        change: &wagate_core::SettingsPatch,
    ) -> Result<wagate_core::SettingsPatch, EngineError> {
        let chosen = self
            .shared
            .store
            .merge_session_settings(id, change)
            .await?
            .ok_or(EngineError::SessionNotFound)?;
        self.get(id).await?.apply_settings(&chosen).await;
        Ok(chosen)
    }

    /// Stops a session at the operator's request (it stays stopped across
    /// restarts until started again).
    pub async fn stop(&self, id: &str) -> Result<(), EngineError> {
        let session = self.get(id).await?;
        session
            .stop(SessionStatus::Disconnected, StatusReason::Stopped)
            .await;
        self.shared.store.set_session_desired(id, false).await?;
        if let Some(cluster) = self.cluster() {
            session.set_fence(None);
            cluster.release_session(id).await;
        }
        Ok(())
    }

    /// Stops, without a write, a session whose lease this node lost.
    async fn lose(&self, id: &str) {
        let session = self.sessions.write().await.remove(id);
        self.queue.forget(id);
        if let Some(cluster) = self.cluster() {
            cluster.forget_session(id);
        }
        if let Some(session) = session {
            session.let_go().await;
        }
    }

    /// In a cluster, hands every session this node runs over to the others
    /// (SIGTERM), as `drain` says. Called while the node
    /// still serves HTTP, so requests for a handed-over session are
    /// forwarded to its new node meanwhile. Nothing on a single node.
    pub async fn hand_over(&self) {
        if let Some(cluster) = self.cluster() {
            self.drain(cluster).await;
        }
    }

    /// Hands every session this node runs over to the others: the node
    /// says it drains, so no new session is placed here, then each session
    /// stops without a word and its lease is released at once, so another
    /// node takes it over within moments.
    async fn drain(&self, cluster: &Arc<Cluster>) {
        cluster.set_draining();
        if let Err(e) = cluster.announce().await {
            warn!("cluster: could not announce the drain: {e}");
        }
        let ids = cluster.held_ids();
        info!(sessions = ids.len(), "cluster: handing sessions over");
        futures::stream::iter(ids)
            .for_each_concurrent(STOP_CONCURRENCY, |id| async move {
                self.queue.forget(&id);
                let session = self.sessions.read().await.get(&id).cloned();
                if let Some(session) = session {
                    session.let_go().await;
                }
                cluster.release_session(&id).await;
            })
            .await;
        cluster.release_workers().await;
    }

    /// The proxy a session goes through now (for its view).
    pub async fn session_proxy(
        &self,
        session_id: &str,
    ) -> Result<Option<crate::proxy::ProxyChoice>, EngineError> {
        crate::proxy::current(&self.shared.store, &self.shared.config, session_id).await
    }

    /// Sets (`Some`) or removes (`None`) a session's own proxy. A running
    /// session starts again at once, so no connection is left on the old
    /// route.
    pub async fn set_session_proxy(
        &self,
        session_id: &str,
        proxy: Option<&wagate_core::ProxyUrl>,
    ) -> Result<(), EngineError> {
        let secret = proxy.map(wagate_core::ProxyUrl::secret_url);
        self.shared
            .store
            .set_session_proxy(session_id, secret.as_deref())
            .await?;
        let session = self.get(session_id).await?;
        if session.is_running().await {
            session
                .stop(SessionStatus::Initializing, StatusReason::Stopped)
                .await;
            session.start(None).await?;
        }
        Ok(())
    }

    /// Unlinks the device, wipes its keys and deletes the session.
    pub async fn delete(&self, id: &str) -> Result<(), EngineError> {
        let session = self.get(id).await?;
        session.logout().await?;
        self.shared.store.cancel_session_queue(id).await?;
        self.queue.forget(id);
        self.sessions.write().await.remove(id);
        if let Some(cluster) = self.cluster() {
            cluster.release_session(id).await;
        }
        self.shared.store.delete_session(id).await?;
        Ok(())
    }

    /// Stops every bot gracefully (process shutdown). Sessions keep wanting
    /// to run, so they come back at the next boot.
    pub async fn shutdown(&self) {
        if let Some(cluster) = self.cluster() {
            self.drain(cluster).await;
        }
        self.queue.shutdown();
        let sessions: Vec<Arc<Session>> = self.sessions.read().await.values().cloned().collect();
        futures::stream::iter(sessions)
            .for_each_concurrent(STOP_CONCURRENCY, |s| async move {
                if s.is_running().await {
                    s.stop(SessionStatus::Disconnected, StatusReason::Stopped)
                        .await;
                    let _ = self.shared.store.set_session_desired(&s.id, true).await;
                }
            })
            .await;
    }

    /// Counts of live sessions by status.
    pub async fn live_counts(&self) -> HashMap<SessionStatus, usize> {
        let mut out = HashMap::new();
        for s in self.sessions.read().await.values() {
            *out.entry(s.status()).or_default() += 1;
        }
        out
    }
}

/// Realistic desktop OS names for a new session's linked device.
pub const DEVICE_OS_NAMES: &[&str] = &["Windows", "macOS", "Ubuntu", "Linux", "Fedora"];

fn random_device_os() -> String {
    use rand::seq::IndexedRandom;
    DEVICE_OS_NAMES
        .choose(&mut rand::rng())
        .unwrap_or(&"Windows")
        .to_string()
}

impl crate::cluster::Sessions for SessionManager {
    fn store(&self) -> &Store {
        SessionManager::store(self)
    }

    async fn start_here(self: Arc<Self>, id: String) -> Result<Arc<Session>, EngineError> {
        let session = self.get(&id).await?;
        session.start(None).await?;
        self.queue.wake(&session);
        Ok(session)
    }

    fn reconnect(&self) -> &crate::config::ReconnectConfig {
        &self.shared.config.reconnect
    }

    async fn lose(&self, id: &str) {
        SessionManager::lose(self, id).await
    }

    async fn wake_queue(&self, id: &str) {
        if let Ok(session) = self.get(id).await {
            self.queue.wake(&session);
        }
    }
}

impl crate::incoming::SessionSource for SessionManager {
    fn store(&self) -> &Store {
        SessionManager::store(self)
    }

    fn config(&self) -> &EngineConfig {
        SessionManager::config(self)
    }

    fn incoming_wake(&self) -> Arc<tokio::sync::Notify> {
        SessionManager::incoming_wake(self)
    }

    async fn get(&self, id: &str) -> Result<Arc<Session>, EngineError> {
        SessionManager::get(self, id).await
    }

    fn runs_here(&self, id: &str) -> bool {
        self.cluster().is_none_or(|c| c.holds(id))
    }
}

//! Events that are never lost: webhook delivery and event-bus outputs from
//! the durable event log.
//!
//! Every event is in the log (`wagate-store`'s `events` table) before anyone
//! hears of it. This crate turns the log into HTTP deliveries and broker
//! messages:
//! - [`deliver`]: one task per enabled endpoint, reading the log after the
//!   endpoint's durable cursor, delivering in order (or with up to the
//!   endpoint's `concurrency` in flight) with retries, and moving the cursor
//!   only once an event is settled, so a restart (even a SIGKILL) resumes
//!   where the cursor stood;
//! - [`attempt`]: delivering one event until it is settled;
//! - [`ledger`]: a worker's bookkeeping (the delivery log and the cursor),
//!   committed in groups behind its deliveries;
//! - [`formats`]: a delivery's body and headers by the endpoint's format
//!   (the contract's, or a replaced system's: `wago`);
//! - [`idempotency`]: the key a receiver deduplicates by;
//! - [`signing`]: the signature schemes (OpenWA, Standard Webhooks, hex);
//! - [`schedule`]: the retry schedule as data, and what each answer means;
//! - [`outputs`]: one task per NATS JetStream or RabbitMQ output, with the
//!   same durable cursor, publishing in acked batches;
//! - [`config`]: the environment variables;
//! - this module: the dispatcher, which keeps one worker per enabled
//!   endpoint, wakes workers from the live broadcast (they still read the
//!   log, so memory stays bounded however long a receiver is down), installs
//!   the global webhook from the environment, and prunes old events without
//!   ever pruning one an enabled webhook has not been given.
//!
//! A slow or dead endpoint slows nobody else: each has its own task, and
//! each request has a bounded timeout.

mod attempt;
pub mod config;
pub mod deliver;
pub mod formats;
pub mod idempotency;
pub mod ledger;
pub mod outputs;
pub mod schedule;
mod shared;
pub mod signing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use wagate_engine::SessionManager;
use wagate_engine::cluster::WorkerGate;
use wagate_store::app::ADMIN_TENANT_ID;

pub use config::{EventsConfig, GlobalOutput, GlobalWebhook};
use shared::Shared;

/// The id of the global webhook from the environment.
pub const GLOBAL_WEBHOOK_ID: &str = "wh_global";
/// How often the dispatcher looks for new, edited or re-enabled endpoints.
const RECONCILE_EVERY: Duration = Duration::from_secs(1);

struct Worker {
    session_id: Option<String>,
    updated_at: i64,
    wake: Arc<Notify>,
    handle: JoinHandle<()>,
}

type Workers = Arc<Mutex<HashMap<String, Worker>>>;

/// The running dispatcher; dropping it (or [`Dispatcher::shutdown`]) stops
/// every task. Nothing is lost by stopping at any instant.
pub struct Dispatcher {
    tasks: Vec<JoinHandle<()>>,
    workers: Workers,
    outputs: outputs::Workers,
}

impl Dispatcher {
    /// Installs (or removes) the global webhook and starts delivering.
    pub async fn start(
        manager: Arc<SessionManager>,
        config: EventsConfig,
    ) -> Result<Dispatcher, String> {
        Self::start_observed(manager, config, None).await
    }

    /// [`Dispatcher::start`], telling `observer` of every delivery attempt.
    pub async fn start_observed(
        manager: Arc<SessionManager>,
        config: EventsConfig,
        observer: Option<deliver::DeliveryObserver>,
    ) -> Result<Dispatcher, String> {
        let store = manager.store().clone();
        match &config.global {
            Some(g) => {
                store
                    .upsert_global_webhook(
                        GLOBAL_WEBHOOK_ID,
                        ADMIN_TENANT_ID,
                        &g.url,
                        &g.events,
                        g.secret.as_deref(),
                    )
                    .await
                    .map_err(|e| format!("cannot install the global webhook: {e}"))?;
                info!(events = ?g.events, signed = g.secret.is_some(), "global webhook installed");
            }
            None => {
                store
                    .delete_webhook(GLOBAL_WEBHOOK_ID)
                    .await
                    .map_err(|e| format!("cannot remove the global webhook: {e}"))?;
            }
        }
        outputs::install_global(&store, &config.global_outputs).await?;
        let http = wagate_outbound::client_builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        let shared = Arc::new(Shared {
            store,
            outbound: manager.config().outbound.clone(),
            manager: manager.clone(),
            http,
            config,
            observer,
        });
        let workers: Workers = Arc::new(Mutex::new(HashMap::new()));
        let output_workers = outputs::Workers::default();
        // Subscribe before the first reconcile so no wake-up is missed.
        let live = manager.subscribe();
        let tasks = vec![
            tokio::spawn(reconcile_loop(shared.clone(), workers.clone())),
            tokio::spawn(outputs::reconcile_loop(
                shared.clone(),
                output_workers.clone(),
            )),
            tokio::spawn(wake_loop(live, workers.clone(), output_workers.clone())),
            tokio::spawn(retention_loop(shared.clone())),
        ];
        Ok(Dispatcher {
            tasks,
            workers,
            outputs: output_workers,
        })
    }

    /// Stops every task (delivery resumes from the cursors at next start).
    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        for (_, w) in workers.drain() {
            w.handle.abort();
        }
        self.outputs.abort_all();
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Keeps exactly one worker per enabled endpoint, and wakes a worker whose
/// row was edited (a replay, a redelivery, new settings).
///
/// In a cluster an endpoint's worker runs on one node only: the holder of
/// the endpoint's worker lease (`webhook:<id>`), so a delivery is never
/// made twice because there are several nodes.
async fn reconcile_loop(shared: Arc<Shared>, workers: Workers) {
    let mut gate = WorkerGate::new(shared.manager.cluster().cloned(), "webhook:");
    loop {
        match shared.store.list_enabled_webhooks().await {
            Ok(hooks) => {
                let allowed = gate.allowed(hooks.iter().map(|h| h.id.as_str())).await;
                let mut map = workers.lock().unwrap_or_else(|p| p.into_inner());
                map.retain(|id, w| {
                    let keep = !w.handle.is_finished() && allowed.contains(id);
                    if !keep {
                        w.handle.abort();
                    }
                    keep
                });
                for hook in hooks.into_iter().filter(|h| allowed.contains(&h.id)) {
                    match map.get_mut(&hook.id) {
                        Some(w) => {
                            if w.updated_at != hook.updated_at {
                                w.updated_at = hook.updated_at;
                                w.wake.notify_one();
                            }
                        }
                        None => {
                            let wake = Arc::new(Notify::new());
                            let handle = tokio::spawn(deliver::run_endpoint(
                                shared.clone(),
                                hook.id.clone(),
                                wake.clone(),
                            ));
                            map.insert(
                                hook.id.clone(),
                                Worker {
                                    session_id: hook.session_id.clone(),
                                    updated_at: hook.updated_at,
                                    wake,
                                    handle,
                                },
                            );
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list webhooks: {e}"),
        }
        tokio::time::sleep(RECONCILE_EVERY).await;
    }
}

/// Wakes the workers an event concerns, and every output task. Only a
/// wake-up: workers read the log, so a lagging broadcast loses nothing.
async fn wake_loop(
    mut live: broadcast::Receiver<wagate_engine::GatewayEvent>,
    workers: Workers,
    outputs: outputs::Workers,
) {
    loop {
        let received = live.recv().await;
        outputs.wake_all();
        let session = match received {
            Ok(event) => Some(event.session_id),
            Err(broadcast::error::RecvError::Lagged(_)) => None,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let map = workers.lock().unwrap_or_else(|p| p.into_inner());
        for w in map.values() {
            let concerned = match (&session, &w.session_id) {
                (Some(s), Some(own)) => s == own,
                _ => true,
            };
            if concerned {
                w.wake.notify_one();
            }
        }
    }
}

/// Hourly: prunes events past retention (never one an enabled webhook or
/// output has not been given) and the webhooks of deleted sessions.
async fn retention_loop(shared: Arc<Shared>) {
    loop {
        if let Err(e) = shared.store.delete_orphan_webhooks().await {
            warn!("cannot delete the webhooks of deleted sessions: {e}");
        }
        if let Some(retention) = shared.config.retention {
            let cutoff = wagate_core::now_ms() - retention.as_millis() as i64;
            match shared.store.prune_delivered_events(cutoff).await {
                Ok(0) => {}
                Ok(n) => info!(events = n, "pruned old events"),
                Err(e) => warn!("cannot prune events: {e}"),
            }
        }
        tokio::time::sleep(shared.config.prune_every).await;
    }
}

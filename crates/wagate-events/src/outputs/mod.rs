//! Event-bus outputs: the durable event log published to NATS JetStream and
//! RabbitMQ, each output with a durable cursor like a webhook's.
//!
//! - this module: what a broker URL and a stream/exchange name may be, the
//!   address an output may connect to (a tenant's output goes through the
//!   outbound policy, like a tenant's webhook; the operator's outputs, from
//!   the environment or the admin tenant, may point anywhere), and the
//!   reconcile loop that keeps one task per enabled output;
//! - [`publish`]: one output's task: read the log after the cursor, publish
//!   a batch, wait for every broker ack, then move the cursor;
//! - [`nats`] and [`rabbitmq`]: the two brokers behind one [`Connection`].
//!
//! Delivery is at-least-once: a crash between the broker's ack and the
//! cursor's move publishes that batch again, with the same message id (the
//! event's idempotency key) — JetStream drops such duplicates itself
//! (`Nats-Msg-Id`, within the stream's duplicate window), a RabbitMQ
//! consumer dedupes on `message_id`.

pub(crate) mod nats;
pub(crate) mod publish;
pub(crate) mod rabbitmq;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use wagate_core::OutputKind;
pub use wagate_core::output::{check_broker_url, check_target};
use wagate_outbound::Reach;
use wagate_store::app::ADMIN_TENANT_ID;
use wagate_store::app::outputs::{NewOutput, OutputRecord};

use crate::config::GlobalOutput;
use crate::shared::Shared;

/// How often the reconcile loop looks for new, edited or re-enabled outputs.
const RECONCILE_EVERY: Duration = Duration::from_secs(1);
/// How long connecting to a broker may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a batch may wait for the broker's acks.
pub(crate) const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);
/// The id of the operator's output of a kind (from the environment).
pub fn global_output_id(kind: OutputKind) -> String {
    format!("out_global_{}", kind.as_str())
}

/// Whether an output is the operator's (may reach any address).
fn is_operators(output: &OutputRecord) -> bool {
    output.global || output.tenant_id == ADMIN_TENANT_ID
}

/// The URL to connect with. A tenant's output has its host resolved and
/// checked against the outbound policy, and the URL pinned to the first
/// permitted address (so a name that later resolves inward cannot slip
/// in); the operator's are used as written.
pub(crate) async fn connect_url(shared: &Shared, output: &OutputRecord) -> Result<String, String> {
    let mut url = check_broker_url(output.kind, &output.url)?;
    if is_operators(output) {
        return Ok(url.to_string());
    }
    let port = wagate_core::output::broker_port(output.kind, &url);
    match shared.outbound.policy().check_host_resolving(&url, port).await {
        Ok(Reach::AsNamed) => Ok(url.to_string()),
        Ok(Reach::Unresolved) => {
            Err("unreachable: the broker's host name does not resolve".to_string())
        }
        Ok(Reach::At(addr)) => {
            url.set_ip_host(addr.ip())
                .map_err(|_| "invalid_url: cannot pin the broker's address".to_string())?;
            Ok(url.to_string())
        }
        Err(_) => Err("forbidden_address: the broker's address is not reachable for tenants (ask the operator to allow it with OUTBOUND_ALLOW_HOSTS)".to_string()),
    }
}

/// A failure's text with the output's password taken out (a client
/// library may quote its URL).
pub(crate) fn scrub(output: &OutputRecord, text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    match url::Url::parse(&output.url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(p) if !p.is_empty() => text.replace(&p, "***"),
        _ => text,
    }
}

/// One event, ready for a broker.
pub(crate) struct OutMessage {
    pub tenant_id: String,
    pub session_id: String,
    pub event: &'static str,
    /// The event's idempotency key: the broker message id.
    pub key: String,
    pub created_at: i64,
    pub body: Vec<u8>,
}

/// An open connection to one output's broker.
pub(crate) enum Connection {
    Nats(nats::NatsOutput),
    Rabbitmq(rabbitmq::RabbitOutput),
}

impl Connection {
    pub async fn open(shared: &Shared, output: &OutputRecord) -> Result<Connection, String> {
        let url = connect_url(shared, output).await?;
        let guarded = !is_operators(output);
        match output.kind {
            OutputKind::Nats => nats::NatsOutput::open(&url, output, guarded)
                .await
                .map(Connection::Nats),
            OutputKind::Rabbitmq => rabbitmq::RabbitOutput::open(&url, output)
                .await
                .map(Connection::Rabbitmq),
        }
        .map_err(|e| scrub(output, e))
    }

    /// Publishes every message and waits for every ack.
    pub async fn publish(&mut self, messages: &[OutMessage]) -> Result<(), String> {
        let broker = match self {
            Connection::Nats(_) => "NATS",
            Connection::Rabbitmq(_) => "RabbitMQ",
        };
        let publishing = async {
            match self {
                Connection::Nats(c) => c.publish(messages).await,
                Connection::Rabbitmq(c) => c.publish(messages).await,
            }
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, publishing).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout: {broker} did not confirm in time")),
        }
    }

    pub async fn close(self) {
        match self {
            Connection::Nats(c) => c.close().await,
            Connection::Rabbitmq(c) => c.close().await,
        }
    }
}

struct Worker {
    updated_at: i64,
    wake: Arc<Notify>,
    handle: JoinHandle<()>,
}

/// The running output tasks, by output id.
#[derive(Clone, Default)]
pub(crate) struct Workers(Arc<Mutex<HashMap<String, Worker>>>);

impl Workers {
    /// Wakes every task (they read the log, so a spurious wake costs one
    /// query).
    pub fn wake_all(&self) {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for w in map.values() {
            w.wake.notify_one();
        }
    }

    pub fn abort_all(&self) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (_, w) in map.drain() {
            w.handle.abort();
        }
    }
}

/// Installs (or removes) the operator's outputs from the environment.
pub(crate) async fn install_global(
    store: &wagate_store::Store,
    outputs: &[GlobalOutput],
) -> Result<(), String> {
    for kind in OutputKind::ALL {
        let id = global_output_id(*kind);
        match outputs.iter().find(|o| o.kind == *kind) {
            Some(o) => {
                store
                    .upsert_global_output(&NewOutput {
                        id: id.clone(),
                        tenant_id: ADMIN_TENANT_ID.to_string(),
                        global: true,
                        session_id: None,
                        kind: o.kind,
                        url: o.url.clone(),
                        target: o.target.clone(),
                        events: o.events.clone(),
                        last_seq: 0,
                    })
                    .await
                    .map_err(|e| format!("cannot install the {kind} output: {e}"))?;
                info!(output = %id, target = %o.target, events = ?o.events, "event-bus output installed");
            }
            None => {
                store
                    .delete_output(&id)
                    .await
                    .map_err(|e| format!("cannot remove the {kind} output: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Keeps exactly one task per enabled output, and wakes a task whose row
/// was edited.
pub(crate) async fn reconcile_loop(shared: Arc<Shared>, workers: Workers) {
    // In a cluster an output's task runs on one node only (`output:<id>`).
    let mut gate =
        wagate_engine::cluster::WorkerGate::new(shared.manager.cluster().cloned(), "output:");
    loop {
        match shared.store.list_enabled_outputs().await {
            Ok(outputs) => {
                let allowed = gate.allowed(outputs.iter().map(|o| o.id.as_str())).await;
                let mut map = workers.0.lock().unwrap_or_else(|p| p.into_inner());
                map.retain(|id, w| {
                    let keep = !w.handle.is_finished() && allowed.contains(id);
                    if !keep {
                        w.handle.abort();
                    }
                    keep
                });
                for output in outputs.into_iter().filter(|o| allowed.contains(&o.id)) {
                    match map.get_mut(&output.id) {
                        Some(w) => {
                            if w.updated_at != output.updated_at {
                                w.updated_at = output.updated_at;
                                w.wake.notify_one();
                            }
                        }
                        None => {
                            let wake = Arc::new(Notify::new());
                            let handle = tokio::spawn(publish::run_output(
                                shared.clone(),
                                output.id.clone(),
                                wake.clone(),
                            ));
                            map.insert(
                                output.id.clone(),
                                Worker {
                                    updated_at: output.updated_at,
                                    wake,
                                    handle,
                                },
                            );
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list event-bus outputs: {e}"),
        }
        tokio::time::sleep(RECONCILE_EVERY).await;
    }
}

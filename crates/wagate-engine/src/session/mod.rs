//! One live session: a linked WhatsApp device driven by a whatsapp-rust bot.
//!
//! A [`Session`] owns its bot (at most one at a time), its status machine and
//! its current QR or pairing code. Engine events arrive on the bot's ordered
//! event mailbox and are turned into status changes, stored messages and
//! [`GatewayEvent`]s. Every bot run has a *generation*: stopping a session
//! moves the generation on first, so late events from a bot being torn down
//! can never overwrite the status the stop decided.
//!
//! Here: the session's state and status machine. Beside it, one room each:
//! [`lifecycle`] (start, stop, log out, QR and pairing code), [`send`] (a
//! text, recorded once), [`inbound`] (engine events, incoming messages
//! stored with their event before the ack, receipts), [`history`] (what
//! the phone pushes at link) and [`settings`] (what the session does by
//! itself: calls, presence, reading, ignoring). What else a session
//! can do lives in the engine's feature modules (`media`, `actions`,
//! `groups`, `presence`, …), each an `impl Session` of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Mutex, broadcast, watch};
use tracing::{debug, info, warn};
use wagate_core::{ChatId, MessageStatus, MessageType, SessionStatus, StatusReason, now_ms};
use wagate_store::Store;
use wagate_store::app::NewMessage;
use whatsapp_rust::InboundDurabilityHook;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::client::Client;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, buffa};

use crate::config::EngineConfig;
use crate::convert;
use crate::error::EngineError;
use crate::events::{EventKind, GatewayEvent};
use crate::http::GatewayHttpClient;

mod app_state_catch_up;
mod connection;
mod early_receipts;
mod history;
mod inbound;
mod lifecycle;
mod mailbox;
pub(crate) mod ringing;
mod send;
mod settings;

use inbound::Durability;
pub use inbound::message_event_data;

/// How long a caller of [`Session::wait_for_qr`] counts as "waiting": while
/// someone waits, running out of QR codes restarts pairing by itself.
const QR_INTEREST: Duration = Duration::from_secs(90);
/// How long a graceful bot shutdown may take before it is aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every session of a process shares.
pub(crate) struct Shared {
    pub store: Store,
    pub config: EngineConfig,
    pub http: GatewayHttpClient,
    pub events: broadcast::Sender<GatewayEvent>,
    /// Numbers known to be on WhatsApp (recipient validation).
    pub recipients: crate::recipient_cache::RecipientCache,
    /// Wakes the received-media download pool ([`crate::incoming`]).
    pub incoming_wake: Arc<tokio::sync::Notify>,
    /// This node's part in a cluster (`None`: single node).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// The in-memory part of a session's state (the rest is in the store).
#[derive(Clone, Debug)]
pub struct LiveState {
    pub status: SessionStatus,
    pub reason: Option<StatusReason>,
    pub qr: Option<String>,
    pub qr_expires_at_ms: i64,
    pub pair_code: Option<String>,
    pub qr_wanted_until_ms: i64,
    pub phone: Option<String>,
    pub push_name: Option<String>,
    /// Why the latest connect attempt failed (with a connection-problem
    /// `reason`), one line.
    pub last_error: Option<String>,
    /// When the engine tries again (epoch ms, about: it adds ±10 %).
    pub next_retry_at_ms: Option<i64>,
    /// What the session does by itself: the defaults with its own choices
    /// laid over them (`settings.rs`).
    pub settings: wagate_core::SessionSettings,
}

struct Running {
    handle: BotHandle,
    client: Arc<Client>,
}

/// A message the session sent.
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub wa_id: String,
    pub chat: ChatId,
    pub timestamp_ms: i64,
}

pub struct Session {
    pub id: String,
    pub tenant_id: String,
    pub(crate) shared: Arc<Shared>,
    state: std::sync::Mutex<LiveState>,
    attempts: std::sync::Mutex<connection::Attempts>,
    run: Mutex<Option<Running>>,
    generation: AtomicU64,
    heartbeat_generation: AtomicU64,
    online_generation: AtomicU64,
    changed: watch::Sender<u64>,
    /// The calls ringing now (`ringing.rs`).
    pub(crate) calls: std::sync::Mutex<ringing::Ringing>,
    /// In a cluster: the lease this node holds on the session, carried by
    /// its fenced writes (`None`: not held here).
    fence: std::sync::Mutex<Option<wagate_store::app::Fence>>,
    /// Receipts that came before their message was stored
    /// (`early_receipts.rs`).
    early_receipts: std::sync::Mutex<early_receipts::EarlyReceipts>,
    /// The queued message the dispatcher is sending now: its row is marked
    /// sent in the same commit that stores the message
    /// ([`Session::record_outgoing`]).
    sending: std::sync::Mutex<Option<Sending>>,
}

/// The queued message a session's dispatcher is sending now.
struct Sending {
    wa_id: String,
    /// Its queue row.
    row: String,
    /// When the commit that stored the message marked the row sent.
    sent_at: Option<i64>,
}

/// What became of the queue row of a message the dispatcher sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueuedRow {
    /// Not marked sent (the message was stored before, or storing it
    /// failed): the dispatcher marks it.
    Unsettled,
    /// Marked sent at this time, with the message.
    SentAt(i64),
}

/// What a session's fenced writes carry.
pub(crate) enum WriteFence {
    /// A single node: nothing to prove.
    SingleNode,
    /// This node holds the lease.
    Held(wagate_store::app::Fence),
    /// This node does not hold the session: it must not write.
    NotHeld,
}

impl WriteFence {
    pub(crate) fn fence(&self) -> Option<&wagate_store::app::Fence> {
        match self {
            WriteFence::Held(f) => Some(f),
            _ => None,
        }
    }
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        record: &wagate_store::app::SessionRecord,
    ) -> Arc<Session> {
        let settings = shared.config.session_defaults.with(&record.settings);
        Arc::new(Session {
            id: record.id.clone(),
            tenant_id: record.tenant_id.clone(),
            shared,
            state: std::sync::Mutex::new(LiveState {
                status: initial_status(record),
                reason: record.status_reason,
                qr: None,
                qr_expires_at_ms: 0,
                pair_code: None,
                qr_wanted_until_ms: 0,
                phone: record.phone.clone(),
                push_name: record.push_name.clone(),
                last_error: None,
                next_retry_at_ms: None,
                settings,
            }),
            attempts: std::sync::Mutex::new(connection::Attempts::default()),
            run: Mutex::new(None),
            generation: AtomicU64::new(0),
            heartbeat_generation: AtomicU64::new(0),
            online_generation: AtomicU64::new(0),
            changed: watch::channel(0).0,
            calls: Default::default(),
            fence: std::sync::Mutex::new(None),
            early_receipts: Default::default(),
            sending: std::sync::Mutex::new(None),
        })
    }

    /// Whether `generation` is the bot run that is current.
    pub(crate) fn is_generation(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Starts the presence heartbeat of a bot run, once per run.
    fn start_heartbeat(self: &Arc<Self>, generation: u64) {
        let Some(every) = self.shared.config.presence_heartbeat else {
            return;
        };
        if self.heartbeat_generation.swap(generation, Ordering::SeqCst) == generation {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move { me.run_presence_heartbeat(generation, every).await });
    }

    pub fn live(&self) -> LiveState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Ticks whenever the live state changes (status, QR, identity).
    pub(crate) fn watch_changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn status(&self) -> SessionStatus {
        self.live().status
    }

    /// What this session's fenced writes (its status, taking a queued
    /// message) carry on this node.
    pub(crate) fn write_fence(&self) -> WriteFence {
        if self.shared.cluster.is_none() {
            return WriteFence::SingleNode;
        }
        match self.fence.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(f) => WriteFence::Held(f),
            None => WriteFence::NotHeld,
        }
    }

    /// The dispatcher is about to send queue row `queue_id` as `wa_id`.
    pub(crate) fn sending_queued(&self, wa_id: &str, queue_id: &str) {
        *self.sending.lock().unwrap_or_else(|p| p.into_inner()) = Some(Sending {
            wa_id: wa_id.to_string(),
            row: queue_id.to_string(),
            sent_at: None,
        });
    }

    /// The queue row being sent as `wa_id` while it is not marked sent yet.
    fn unsettled_row(&self, wa_id: &str) -> Option<String> {
        let slot = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .filter(|s| s.wa_id == wa_id && s.sent_at.is_none())
            .map(|s| s.row.clone())
    }

    /// The queue row being sent as `wa_id` was marked sent at `at`.
    fn settled_row(&self, wa_id: &str, at: i64) {
        let mut slot = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_mut().filter(|s| s.wa_id == wa_id) {
            s.sent_at = Some(at);
        }
    }

    /// The dispatcher, after the send: what became of the row it sent as
    /// `wa_id` (`None`: it is not the one being sent).
    pub(crate) fn take_sending(&self, wa_id: &str) -> Option<QueuedRow> {
        let mut slot = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|s| s.wa_id != wa_id) {
            return None;
        }
        slot.take().map(|s| match s.sent_at {
            Some(at) => QueuedRow::SentAt(at),
            None => QueuedRow::Unsettled,
        })
    }

    pub(crate) fn set_fence(&self, fence: Option<wagate_store::app::Fence>) {
        *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = fence;
    }

    pub async fn is_running(&self) -> bool {
        self.run.lock().await.is_some()
    }

    /// The engine client while a bot runs (for operations the gateway does
    /// not wrap yet).
    pub async fn client(&self) -> Option<Arc<Client>> {
        self.run.lock().await.as_ref().map(|r| r.client.clone())
    }

    // ── helpers ────────────────────────────────────────────────────────

    fn lock_state(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn set_status(&self, status: SessionStatus, reason: Option<StatusReason>) {
        let (changed, phone, last_error, next_retry_at) = {
            let mut s = self.lock_state();
            let changed = s.status != status || s.reason != reason;
            s.status = status;
            s.reason = reason;
            if !reason.is_some_and(StatusReason::is_connection_problem) {
                s.last_error = None;
                s.next_retry_at_ms = None;
            }
            (
                changed,
                s.phone.clone(),
                s.last_error.clone(),
                s.next_retry_at_ms,
            )
        };
        self.changed.send_modify(|n| *n += 1);
        if !changed {
            return;
        }
        let fence = self.write_fence();
        if matches!(fence, WriteFence::NotHeld) {
            return;
        }
        let mut data = json!({ "status": status.api(), "phoneNumber": phone });
        if let Some(reason) = reason {
            data["reason"] = json!(reason.as_str());
        }
        if let Some(error) = last_error {
            data["lastError"] = json!(error);
        }
        if let Some(at) = next_retry_at {
            data["nextRetryAt"] = json!(wagate_core::iso_ms(at));
        }
        if let Err(e) = self.store_status(status, reason, fence, &data).await {
            warn!(session = %self.id, "could not store status: {e}");
        }
    }

    /// The status and the `session.status` event that tells it, in one
    /// commit. Under a fence that no longer holds, neither: another node
    /// holds the session now, and its status is theirs to tell.
    async fn store_status(
        &self,
        status: SessionStatus,
        reason: Option<StatusReason>,
        fence: WriteFence,
        data: &serde_json::Value,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let stored = tx
            .set_session_status(&self.id, status, reason, fence.fence())
            .await?;
        if !stored && fence.fence().is_some() {
            return Ok(());
        }
        tx.append(&self.id, &self.tenant_id, EventKind::SessionStatus, data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends an event to the durable log on its own; live listeners hear
    /// of it after the commit. A failure is only logged: use a
    /// [`wagate_store::app::SpineTx`] where the event belongs to a change
    /// (a message, an ack) so both commit or neither does.
    pub(crate) async fn emit(&self, event: EventKind, data: serde_json::Value) {
        if let Err(e) = self.try_emit(event, data).await {
            warn!(session = %self.id, event = %event, "could not append event: {e}");
        }
    }

    /// Appends an event to the durable log on its own.
    pub(crate) async fn try_emit(
        &self,
        event: EventKind,
        data: serde_json::Value,
    ) -> Result<(), EngineError> {
        let mut unit = self.shared.store.unit();
        unit.append(&self.id, &self.tenant_id, event, &data);
        unit.commit().await?;
        Ok(())
    }

    /// Stores a message this session sent and appends its `message.sent`,
    /// together; a resend under the same id (after a crash) is stored and
    /// told once. `extras` (a location, a contact card) go in too.
    pub(crate) async fn record_outgoing(
        &self,
        record: &NewMessage,
        extras: Option<&serde_json::Value>,
    ) -> Result<(), EngineError> {
        // The event's data first: the writer is held from `begin` to the
        // commit, and nothing else should wait while a lookup runs.
        let mut data = message_event_data(record);
        self.add_lid_fields(&mut data, record, None).await;
        // One unit: the message, unless stored already (a resend after a
        // crash), and only then the rest.
        let mut unit = self.shared.store.unit();
        unit.insert_message(record)?;
        if let Some(x) = extras {
            unit.set_message_extras(&self.id, &record.chat_id, &record.wa_id, x)?;
            convert::merge_extras(&mut data, x);
        }
        unit.append(&self.id, &self.tenant_id, EventKind::MessageSent, &data);
        // A queued message: its row is settled by the same commit. If the
        // commit stores nothing (stored already, or failed), the row stays
        // for the dispatcher to settle.
        let sent_at = now_ms();
        let queue_row = self.unsettled_row(&record.wa_id);
        if let Some(row) = &queue_row {
            unit.mark_queued_sent(row, sent_at)?;
        }
        if !unit.commit().await? {
            return Ok(());
        }
        if queue_row.is_some() {
            self.settled_row(&record.wa_id, sent_at);
        }
        // Its receipts may have come back before this commit.
        self.replay_early_receipts(&record.wa_id).await;
        Ok(())
    }
}

/// This session's own phone-number JID (`628…@s.whatsapp.net`), once
/// WhatsApp has told the client.
pub(crate) fn own_jid(client: &Client) -> Option<String> {
    client.pn().map(|j| j.to_non_ad_string())
}

/// What a session that is not running in this process yet is: a live state
/// left in the store by an earlier process is stale (nothing is connected
/// before its bot starts).
fn initial_status(record: &wagate_store::app::SessionRecord) -> SessionStatus {
    match record.status {
        SessionStatus::Ready
        | SessionStatus::Connecting
        | SessionStatus::QrReady
        | SessionStatus::Initializing => {
            if record.desired_running {
                SessionStatus::Initializing
            } else {
                SessionStatus::Disconnected
            }
        }
        other => other,
    }
}

async fn shutdown_bot(running: Running) {
    let Running { handle, client } = running;
    if tokio::time::timeout(SHUTDOWN_GRACE, handle.shutdown())
        .await
        .is_err()
    {
        warn!("bot did not stop in time; aborting it");
        client.disconnect().await;
    }
}

//! One live session: a linked WhatsApp device driven by a whatsapp-rust bot.
//!
//! A [`Session`] owns its bot (at most one at a time), its status machine and
//! its current QR or pairing code. Engine events arrive on the bot's ordered
//! event mailbox and are turned into status changes, stored messages and
//! [`GatewayEvent`]s. Every bot run has a *generation*: stopping a session
//! moves the generation on first, so late events from a bot being torn down
//! can never overwrite the status the stop decided.

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
use whatsapp_rust::bot::{Bot, BotHandle, EventDelivery};
use whatsapp_rust::client::Client;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Jid, buffa};

use crate::config::EngineConfig;
use crate::convert;
use crate::error::EngineError;
use crate::events::{EventKind, GatewayEvent};
use crate::http::GatewayHttpClient;

/// How long a caller of [`Session::wait_for_qr`] counts as "waiting": while
/// someone waits, running out of QR codes restarts pairing by itself.
const QR_INTEREST: Duration = Duration::from_secs(90);
/// How long a graceful bot shutdown may take before it is aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The ordered event mailbox of each bot. Events are handled quickly (a few
/// database writes), so this only absorbs bursts.
const EVENT_MAILBOX: usize = 4096;

/// What every session of a process shares.
pub(crate) struct Shared {
    pub store: Store,
    pub config: EngineConfig,
    pub http: GatewayHttpClient,
    pub events: broadcast::Sender<GatewayEvent>,
    /// Numbers known to be on WhatsApp (recipient validation).
    pub recipients: crate::contacts::RecipientCache,
    /// Wakes the received-media download pool ([`crate::incoming`]).
    pub incoming_wake: Arc<tokio::sync::Notify>,
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
    run: Mutex<Option<Running>>,
    generation: AtomicU64,
    heartbeat_generation: AtomicU64,
    changed: watch::Sender<u64>,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        record: &wagate_store::app::SessionRecord,
    ) -> Arc<Session> {
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
            }),
            run: Mutex::new(None),
            generation: AtomicU64::new(0),
            heartbeat_generation: AtomicU64::new(0),
            changed: watch::channel(0).0,
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

    pub async fn is_running(&self) -> bool {
        self.run.lock().await.is_some()
    }

    /// The engine client while a bot runs (for operations the gateway does
    /// not wrap yet).
    pub async fn client(&self) -> Option<Arc<Client>> {
        self.run.lock().await.as_ref().map(|r| r.client.clone())
    }

    // ── lifecycle ──────────────────────────────────────────────────────

    /// Starts the bot (no-op when it already runs). With `pair_phone`, asks
    /// for a pairing code for that number instead of relying on QR codes.
    ///
    /// Boxed so that a bot's event handler may start its own session again
    /// (after QR codes run out) without a recursive future type.
    pub fn start(
        self: &Arc<Self>,
        pair_phone: Option<String>,
    ) -> futures::future::BoxFuture<'static, Result<(), EngineError>> {
        Box::pin(self.clone().start_inner(pair_phone))
    }

    async fn start_inner(self: Arc<Self>, pair_phone: Option<String>) -> Result<(), EngineError> {
        let mut run = self.run.lock().await;
        if run.is_some() {
            return Ok(());
        }
        let store = &self.shared.store;
        let record = store
            .get_session(&self.id)
            .await?
            .ok_or(EngineError::SessionNotFound)?;
        let device_id = match record.device_id {
            Some(d) => d,
            None => {
                let d = store.create_device().await?;
                store.set_session_device(&self.id, Some(d)).await?;
                d
            }
        };
        let backend: Arc<dyn Backend> = store.device_backend(device_id);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;

        let transport = match &self.shared.config.server_url {
            Some(url) => TokioWebSocketTransportFactory::new().with_url(url.clone()),
            None => TokioWebSocketTransportFactory::new(),
        };
        let weak = Arc::downgrade(&self);
        let mut builder = Bot::builder()
            .with_backend_arc(backend)
            .with_transport_factory(transport)
            .with_http_client(self.shared.http.clone())
            .with_event_delivery(EventDelivery::Ordered {
                capacity: EVENT_MAILBOX,
            })
            .skip_history_sync()
            .with_inbound_durability_hook(Durability {
                session: Arc::downgrade(&self),
            })
            .on_event(move |event, client| {
                let weak = weak.clone();
                async move {
                    if let Some(session) = weak.upgrade() {
                        session.on_engine_event(generation, &event, &client).await;
                    }
                }
            });
        if let Some(version) = self.shared.config.effective_version() {
            builder = builder.with_version(version);
        }
        // What the phone shows under Linked Devices (applied at pairing).
        if let Some(os) = record.device_name.clone().or(record.device_os.clone()) {
            let props = whatsapp_rust::wacore::store::DevicePropsOverride::new().with_os(os);
            builder = builder.with_device_props(props);
        }
        if let Some(phone) = pair_phone {
            builder = builder.with_pair_code(PairCodeOptions {
                phone_number: phone,
                show_push_notification: true,
                ..Default::default()
            });
        }
        let bot = builder
            .build()
            .await
            .map_err(|e| EngineError::Engine(e.to_string()))?;

        {
            let mut s = self.lock_state();
            s.qr = None;
            s.pair_code = None;
        }
        self.set_status(SessionStatus::Initializing, None).await;
        let handle = bot.spawn();
        let client = handle.client();
        *run = Some(Running { handle, client });
        store.set_session_desired(&self.id, true).await?;
        info!(session = %self.id, "session started");
        Ok(())
    }

    /// Stops the bot and leaves the session DISCONNECTED (or FAILED for a
    /// ban) with `reason`. Safe to call when it is not running.
    pub async fn stop(&self, status: SessionStatus, reason: StatusReason) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let running = self.run.lock().await.take();
        if let Some(running) = running {
            shutdown_bot(running).await;
        }
        {
            let mut s = self.lock_state();
            s.qr = None;
            s.pair_code = None;
        }
        self.set_status(status, Some(reason)).await;
    }

    /// Unlinks the device: tells WhatsApp when connected, wipes its keys,
    /// and keeps the session so it can be paired again.
    pub async fn logout(&self) -> Result<(), EngineError> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let running = self.run.lock().await.take();
        if let Some(running) = running {
            running.client.logout().await;
            shutdown_bot(running).await;
        }
        self.forget_device().await?;
        self.shared
            .store
            .set_session_desired(&self.id, false)
            .await?;
        self.set_status(SessionStatus::Disconnected, Some(StatusReason::LoggedOut))
            .await;
        self.emit(
            EventKind::SessionDisconnected,
            json!({ "reason": "logged_out" }),
        )
        .await;
        Ok(())
    }

    async fn forget_device(&self) -> Result<(), EngineError> {
        let store = &self.shared.store;
        if let Some(record) = store.get_session(&self.id).await?
            && let Some(device_id) = record.device_id
        {
            store.delete_device(device_id).await?;
        }
        store.clear_session_identity(&self.id).await?;
        let mut s = self.lock_state();
        s.qr = None;
        s.pair_code = None;
        Ok(())
    }

    /// Returns a current QR code, starting pairing if nothing runs. Waits up
    /// to `timeout` for one to appear.
    pub async fn wait_for_qr(self: &Arc<Self>, timeout: Duration) -> Result<String, EngineError> {
        {
            let mut s = self.lock_state();
            s.qr_wanted_until_ms = now_ms() + QR_INTEREST.as_millis() as i64;
        }
        match self.status() {
            SessionStatus::Ready => {
                return Err(EngineError::NoQr("the session is already connected".into()));
            }
            SessionStatus::Error if self.live().reason == Some(StatusReason::Banned) => {
                return Err(EngineError::Banned);
            }
            _ => {}
        }
        if !self.is_running().await {
            self.start(None).await?;
        }
        self.wait_until(timeout, |live| {
            if let Some(qr) = &live.qr
                && live.qr_expires_at_ms > now_ms()
            {
                return Some(Ok(qr.clone()));
            }
            if live.status == SessionStatus::Ready {
                return Some(Err(EngineError::NoQr(
                    "the session is already connected".into(),
                )));
            }
            if live.status == SessionStatus::Connecting && live.phone.is_some() {
                return Some(Err(EngineError::NoQr("the session is connecting".into())));
            }
            None
        })
        .await
        .unwrap_or(Err(EngineError::Initializing))
    }

    /// Starts pairing by phone number and waits for the 8-character code.
    pub async fn request_pair_code(
        self: &Arc<Self>,
        phone: String,
        timeout: Duration,
    ) -> Result<String, EngineError> {
        if self.status() == SessionStatus::Ready {
            return Err(EngineError::Pairing(
                "the session is already connected".into(),
            ));
        }
        // A running QR flow is replaced by a pairing-code flow.
        if self.is_running().await {
            self.stop(SessionStatus::Initializing, StatusReason::Stopped)
                .await;
        }
        self.start(Some(phone)).await?;
        self.wait_until(timeout, |live| live.pair_code.clone())
            .await
            .ok_or_else(|| EngineError::Pairing("no pairing code arrived in time".into()))
    }

    /// Re-checks `check` against the live state on every change until it
    /// answers, or `timeout` passes (then `None`).
    async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&LiveState) -> Option<T>,
    ) -> Option<T> {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(answer) = check(&self.live()) {
                return Some(answer);
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    // ── sending ────────────────────────────────────────────────────────

    /// Sends a text under the WhatsApp id `wa_id`, optionally quoting a
    /// stored message and mentioning people; stores it and emits
    /// `message.sent` (once, however often the same id is sent).
    pub async fn send_text(
        &self,
        chat: &ChatId,
        text: &str,
        quoted_wa_id: Option<&str>,
        mentions: &[ChatId],
        wa_id: &str,
    ) -> Result<SentMessage, EngineError> {
        let client = self.ready_client().await?;
        let to: Jid = chat
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(chat.api()))?;
        self.ensure_recipient(&client, chat).await?;

        let context = self.context_info(&client, quoted_wa_id, mentions).await?;
        let message = match context {
            Some(ctx) => wa::Message::text_with_context(text, ctx),
            None => wa::Message::text(text),
        };
        let sent = client
            .send_message_with_options(to, message, SendOptions::default().with_message_id(wa_id))
            .await
            .map_err(|e| EngineError::SendFailed(e.to_string()))?;

        let timestamp_ms = now_ms();
        let own = client
            .pn()
            .map(|j| j.to_non_ad_string())
            .unwrap_or_default();
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: chat.jid(),
            wa_id: sent.message_id.clone(),
            from_me: true,
            sender: own,
            recipient: chat.jid(),
            msg_type: MessageType::Chat,
            body: Some(text.to_string()),
            wa_timestamp: timestamp_ms / 1000,
            status: MessageStatus::Sent,
            quoted_id: quoted_wa_id.map(str::to_owned),
            push_name: None,
            media: None,
        };
        self.record_outgoing(&record, None).await?;
        Ok(SentMessage {
            wa_id: sent.message_id,
            chat: chat.clone(),
            timestamp_ms,
        })
    }

    pub(crate) async fn ready_client(&self) -> Result<Arc<Client>, EngineError> {
        let live = self.live();
        match live.status {
            SessionStatus::Ready => {}
            SessionStatus::Error if live.reason == Some(StatusReason::Banned) => {
                return Err(EngineError::Banned);
            }
            other => return Err(EngineError::NotReady(other.api())),
        }
        self.client()
            .await
            .ok_or(EngineError::NotReady(SessionStatus::Disconnected.api()))
    }

    pub(crate) async fn context_info(
        &self,
        client: &Client,
        quoted_wa_id: Option<&str>,
        mentions: &[ChatId],
    ) -> Result<Option<wa::ContextInfo>, EngineError> {
        if quoted_wa_id.is_none() && mentions.is_empty() {
            return Ok(None);
        }
        let mut ctx = wa::ContextInfo {
            mentioned_jid: mentions.iter().map(ChatId::jid).collect(),
            ..Default::default()
        };
        if let Some(quoted) = quoted_wa_id {
            let original = self
                .shared
                .store
                .get_message(&self.id, quoted)
                .await?
                .ok_or(EngineError::QuotedNotFound)?;
            let participant = if original.from_me {
                client
                    .pn()
                    .map(|j| j.to_non_ad_string())
                    .unwrap_or(original.sender)
            } else {
                original.sender
            };
            ctx.stanza_id = Some(original.wa_id);
            ctx.participant = Some(participant);
            ctx.quoted_message =
                buffa::MessageField::some(wa::Message::text(original.body.unwrap_or_default()));
        }
        Ok(Some(ctx))
    }

    // ── engine events ──────────────────────────────────────────────────

    async fn on_engine_event(
        self: &Arc<Self>,
        generation: u64,
        event: &Event,
        client: &Arc<Client>,
    ) {
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        match event {
            Event::PairingQrCode(qr) => {
                {
                    let mut s = self.lock_state();
                    s.qr = Some(qr.code.clone());
                    s.qr_expires_at_ms = now_ms() + qr.timeout.as_millis() as i64;
                }
                self.set_status(SessionStatus::QrReady, None).await;
                let image = wagate_core::qr::png_data_url(&qr.code);
                self.emit(
                    EventKind::SessionQr,
                    json!({ "code": qr.code, "image": image }),
                )
                .await;
            }
            Event::PairingCode(code) => {
                self.lock_state().pair_code = Some(code.code.clone());
                self.set_status(SessionStatus::QrReady, None).await;
                self.emit(EventKind::SessionQr, json!({ "pairingCode": code.code }))
                    .await;
            }
            Event::PairSuccess(ps) => {
                {
                    let mut s = self.lock_state();
                    s.qr = None;
                    s.pair_code = None;
                    s.phone = Some(ps.id.user.to_string());
                }
                self.set_status(SessionStatus::Connecting, None).await;
                self.emit(
                    EventKind::SessionAuthenticated,
                    json!({ "phoneNumber": ps.id.user.to_string(), "platform": ps.platform }),
                )
                .await;
            }
            Event::Connected(_) => {
                self.on_connected(client).await;
                self.start_heartbeat(generation);
            }
            Event::Disconnected(_) if self.status() == SessionStatus::Ready => {
                self.set_status(SessionStatus::Connecting, None).await;
                self.emit(
                    EventKind::SessionDisconnected,
                    json!({ "reason": "connection_lost" }),
                )
                .await;
            }
            Event::LoggedOut(_) => {
                let me = self.clone();
                tokio::spawn(async move { me.on_logged_out_remotely().await });
            }
            Event::TemporaryBan(ban) => {
                warn!(session = %self.id, expire = ?ban.expire, "number temporarily banned");
                let me = self.clone();
                tokio::spawn(async move {
                    me.stop(SessionStatus::Error, StatusReason::Banned).await;
                    me.emit(
                        EventKind::SessionDisconnected,
                        json!({ "reason": "banned" }),
                    )
                    .await;
                });
            }
            Event::ClientOutdated(_) => {
                let me = self.clone();
                tokio::spawn(
                    async move { me.stop(SessionStatus::Error, StatusReason::Fatal).await },
                );
            }
            Event::PairingQrCodesExhausted(_) => {
                let me = self.clone();
                tokio::spawn(async move { me.on_qr_exhausted().await });
            }
            // The durability hook stored these before they were acked; only
            // what bypasses it (newsletters, PDO recoveries) is stored here.
            Event::Messages(batch) if !batch.hook_committed => {
                for inbound in batch.messages.iter() {
                    if let Err(e) = self.persist_inbound(&inbound.message, &inbound.info).await {
                        warn!(session = %self.id, "could not store message: {e}");
                    }
                }
            }
            Event::Receipt(receipt) => self.on_receipt(receipt).await,
            Event::ChatPresence(update) => self.on_chat_presence(update).await,
            Event::Presence(update) => self.on_presence(update).await,
            Event::GroupUpdate(update) => self.on_group_update(update).await,
            _ => {}
        }
    }

    async fn on_connected(&self, client: &Arc<Client>) {
        let phone = client.pn().map(|j| j.user.to_string());
        let push_name = Some(client.push_name()).filter(|n| !n.is_empty());
        let now = now_ms();
        {
            let mut s = self.lock_state();
            s.qr = None;
            s.pair_code = None;
            s.phone = phone.clone().or(s.phone.take());
            s.push_name = push_name.clone().or(s.push_name.take());
        }
        if let Err(e) = self
            .shared
            .store
            .set_session_connected(&self.id, phone.as_deref(), push_name.as_deref(), None, now)
            .await
        {
            warn!(session = %self.id, "could not record connection: {e}");
        }
        self.set_status(SessionStatus::Ready, None).await;
    }

    async fn on_logged_out_remotely(&self) {
        info!(session = %self.id, "device was logged out");
        self.generation.fetch_add(1, Ordering::SeqCst);
        let running = self.run.lock().await.take();
        if let Some(running) = running {
            shutdown_bot(running).await;
        }
        if let Err(e) = self.forget_device().await {
            warn!(session = %self.id, "could not wipe device keys: {e}");
        }
        let _ = self.shared.store.set_session_desired(&self.id, false).await;
        self.set_status(SessionStatus::Disconnected, Some(StatusReason::LoggedOut))
            .await;
        self.emit(
            EventKind::SessionDisconnected,
            json!({ "reason": "logged_out" }),
        )
        .await;
    }

    async fn on_qr_exhausted(self: &Arc<Self>) {
        let wanted = self.live().qr_wanted_until_ms > now_ms();
        self.stop(SessionStatus::Disconnected, StatusReason::QrExpired)
            .await;
        if wanted {
            debug!(session = %self.id, "QR codes ran out while someone waits: pairing again");
            if let Err(e) = self.start(None).await {
                warn!(session = %self.id, "could not restart pairing: {e}");
            }
        }
    }

    /// Stores an incoming (or own-device) message and, the first time it is
    /// seen, appends its event. Idempotent: a redelivered message is stored
    /// and announced once.
    async fn persist_inbound(
        &self,
        message: &wa::Message,
        info: &whatsapp_rust::types::message::MessageInfo,
    ) -> Result<(), EngineError> {
        if self.apply_protocol_change(message, info).await? {
            return Ok(());
        }
        let Some((kind, body)) = convert::classify(message) else {
            return Ok(());
        };
        // The file is downloaded later, off the ack path (`incoming`).
        let media = if kind.is_media() {
            let chat_id = info.source.chat.to_non_ad_string();
            self.plan_incoming_media(message, &info.id, &chat_id)
                .await?
        } else {
            None
        };
        let chat = info.source.chat.to_non_ad_string();
        let sender = info.source.sender.to_non_ad_string();
        let own = self.live().phone.map(|p| format!("{p}@s.whatsapp.net"));
        let recipient = if info.source.is_from_me || info.source.is_group {
            chat.clone()
        } else {
            own.unwrap_or_default()
        };
        let record = NewMessage {
            session_id: self.id.clone(),
            chat_id: chat,
            wa_id: info.id.to_string(),
            from_me: info.source.is_from_me,
            sender,
            recipient,
            msg_type: kind,
            body,
            wa_timestamp: info.timestamp.timestamp(),
            status: if info.source.is_from_me {
                MessageStatus::Sent
            } else {
                MessageStatus::Received
            },
            quoted_id: convert::quoted_id(message),
            push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
            media,
        };
        // The message and its event commit together: a failure leaves
        // neither, the hook fails, and WhatsApp redelivers.
        let mut tx = self.shared.store.begin().await?;
        if !tx.insert_message(&record).await? {
            debug!(session = %self.id, id = %record.wa_id, "duplicate message ignored");
            return Ok(());
        }
        let extras = convert::extras(message);
        if let Some(x) = &extras {
            tx.set_message_extras(&self.id, &record.chat_id, &record.wa_id, x)
                .await?;
        }
        let event = if record.from_me {
            EventKind::MessageSent
        } else {
            EventKind::MessageReceived
        };
        let mut data = message_event_data(&record);
        if let Some(x) = &extras {
            convert::merge_extras(&mut data, x);
        }
        if let Some(alt) = &info.source.sender_alt {
            data["senderAlt"] = json!(ChatId::api_from_jid(&alt.to_non_ad_string()));
        }
        tx.append(&self.id, &self.tenant_id, event, &data).await?;
        tx.commit().await?;
        if record.media.is_some() {
            self.shared.incoming_wake.notify_one();
        }
        Ok(())
    }

    async fn on_receipt(&self, receipt: &whatsapp_rust::types::events::Receipt) {
        let Some((ack, name)) = convert::ack_level(&receipt.r#type) else {
            return;
        };
        // The chat the receipt is about, under each of its addresses (a
        // person's phone-number JID and LID name the same chat).
        let source = &receipt.source;
        let mut chats = vec![source.chat.to_non_ad_string()];
        if !source.is_group {
            for alt in [&source.sender_alt, &source.recipient_alt]
                .into_iter()
                .flatten()
            {
                chats.push(alt.to_non_ad_string());
            }
        }
        for id in &receipt.message_ids {
            if let Err(e) = self.apply_receipt(&chats, id, ack, name).await {
                warn!(session = %self.id, "could not record receipt: {e}");
            }
        }
    }

    /// Moves the message `id` *of the receipt's chat* to `name` and appends
    /// its `message.ack`, in one transaction; an id of another chat (or a
    /// status that would go backwards) changes nothing.
    async fn apply_receipt(
        &self,
        chats: &[String],
        id: &str,
        ack: u8,
        name: MessageStatus,
    ) -> Result<(), EngineError> {
        let mut tx = self.shared.store.begin().await?;
        let mut matched = None;
        for chat in chats {
            if tx.advance_message_status(&self.id, chat, id, name).await? {
                matched = Some(chat);
                break;
            }
        }
        let Some(chat) = matched else {
            return Ok(());
        };
        let message_id = wagate_core::ids::message_id(true, &ChatId::api_from_jid(chat), id);
        let data = json!({ "messageId": message_id, "ack": ack, "ackName": name });
        tx.append(&self.id, &self.tenant_id, EventKind::MessageAck, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ── helpers ────────────────────────────────────────────────────────

    fn lock_state(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn set_status(&self, status: SessionStatus, reason: Option<StatusReason>) {
        let (changed, phone) = {
            let mut s = self.lock_state();
            let changed = s.status != status || s.reason != reason;
            s.status = status;
            s.reason = reason;
            (changed, s.phone.clone())
        };
        self.changed.send_modify(|n| *n += 1);
        if !changed {
            return;
        }
        if let Err(e) = self
            .shared
            .store
            .set_session_status(&self.id, status, reason)
            .await
        {
            warn!(session = %self.id, "could not store status: {e}");
        }
        let mut data = json!({ "status": status.api(), "phoneNumber": phone });
        if let Some(reason) = reason {
            data["reason"] = json!(reason.as_str());
        }
        self.emit(EventKind::SessionStatus, data).await;
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
        let mut tx = self.shared.store.begin().await?;
        tx.append(&self.id, &self.tenant_id, event, &data).await?;
        tx.commit().await?;
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
        let mut tx = self.shared.store.begin().await?;
        if !tx.insert_message(record).await? {
            return Ok(());
        }
        let mut data = message_event_data(record);
        if let Some(x) = extras {
            tx.set_message_extras(&self.id, &record.chat_id, &record.wa_id, x)
                .await?;
            convert::merge_extras(&mut data, x);
        }
        tx.append(&self.id, &self.tenant_id, EventKind::MessageSent, &data)
            .await?;
        tx.commit().await?;
        Ok(())
    }
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

/// The contract's message payload for events.
pub fn message_event_data(m: &NewMessage) -> serde_json::Value {
    let chat_api = ChatId::api_from_jid(&m.chat_id);
    let id = wagate_core::ids::message_id(m.from_me, &chat_api, &m.wa_id);
    json!({
        "id": id,
        "messageId": id,
        "chatId": chat_api,
        "from": ChatId::api_from_jid(&m.sender),
        "to": ChatId::api_from_jid(&m.recipient),
        "fromMe": m.from_me,
        "body": m.body,
        "type": m.msg_type,
        "waTimestamp": m.wa_timestamp,
        "timestamp": wagate_core::iso_ms(m.wa_timestamp * 1000),
        "isGroup": m.chat_id.ends_with("@g.us"),
        "hasMedia": m.msg_type.is_media(),
        "media": m.media.as_ref().map(|f| crate::media::media_json(&m.session_id, f)),
        "quotedMessageId": m.quoted_id,
        "contact": { "pushName": m.push_name },
    })
}

/// whatsapp-rust's inbound durability hook: the engine acks a message to
/// WhatsApp only after this returns `Ok`, so a message is in the store (and
/// its event in the log) before the server forgets it. A crash in between
/// means WhatsApp redelivers, and [`Session::persist_inbound`] is idempotent.
struct Durability {
    session: std::sync::Weak<Session>,
}

#[async_trait::async_trait]
impl InboundDurabilityHook for Durability {
    async fn on_messages(
        &self,
        _client: Arc<Client>,
        batch: &[whatsapp_rust::types::durability_hook::InboundMessage],
    ) -> anyhow::Result<()> {
        let session = self
            .session
            .upgrade()
            .ok_or_else(|| anyhow::anyhow!("session is gone; leave the messages unacked"))?;
        for inbound in batch {
            session
                .persist_inbound(&inbound.message, &inbound.info)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(())
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

//! A session's lifecycle: starting its bot (QR or pairing code), stopping,
//! logging out, and waiting for a QR code.

use super::*;

impl Session {
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

    pub(super) async fn start_inner(
        self: Arc<Self>,
        pair_phone: Option<String>,
    ) -> Result<(), EngineError> {
        let mut run = self.run.lock().await;
        if run.is_some() {
            return Ok(());
        }
        // In a cluster the session runs here only under this node's lease.
        let lease = match &self.shared.cluster {
            Some(cluster) => {
                let fence = cluster.take_session(&self.id).await?;
                self.set_fence(Some(fence.clone()));
                Some(fence)
            }
            None => None,
        };
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
        // Under a lease, the device's writes are fenced by it: a write from
        // this run after another node took the session is refused.
        let backend: Arc<dyn Backend> = match lease {
            Some(fence) => store.fenced_device_backend(device_id, &self.id, fence),
            None => store.device_backend(device_id),
        };
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;

        // Directly or through the session's proxy (crate::proxy).
        let shared = &self.shared;
        let (transport, http, proxied) =
            crate::proxy::connectors(&shared.store, &shared.config, &shared.http, &record).await?;
        // Both report failed connect attempts to the session (say why).
        let transport = connection::WatchedTransport {
            inner: transport,
            session: Arc::downgrade(&self),
            generation,
        };
        let http = connection::WatchedHttp {
            inner: http,
            proxied,
            session: Arc::downgrade(&self),
            generation,
        };
        // The bot's events reach `on_engine_event` in order (mailbox.rs).
        let (mailbox, inbox) = mailbox::mailbox(&self.id);
        let mut builder = Bot::builder()
            .with_backend_arc(backend)
            .with_transport_factory(transport)
            .with_http_client(http)
            .with_event_handler(mailbox)
            .with_inbound_durability_hook(Durability {
                session: Arc::downgrade(&self),
            });
        if !self.settings().history_sync {
            builder = builder.skip_history_sync();
        }
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
        mailbox::deliver(
            inbox,
            Arc::downgrade(&self),
            Arc::downgrade(&client),
            generation,
        );
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

    /// Stops the bot without a word to the store: the session's lease is
    /// gone (another node runs it now) or being handed over (this node
    /// drains), so its status is the next holder's to tell.
    pub(crate) async fn let_go(&self) {
        self.set_fence(None);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let running = self.run.lock().await.take();
        if let Some(running) = running {
            shutdown_bot(running).await;
        }
        {
            let mut s = self.lock_state();
            s.status = SessionStatus::Disconnected;
            s.qr = None;
            s.pair_code = None;
        }
        self.changed.send_modify(|n| *n += 1);
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

    pub(super) async fn forget_device(&self) -> Result<(), EngineError> {
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
            if let Some(reason) = live.reason.filter(|r| r.is_connection_problem()) {
                return Some(Err(EngineError::CannotConnect {
                    reason,
                    error: live.last_error.clone().unwrap_or_default(),
                    next_retry_at_ms: live.next_retry_at_ms,
                }));
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
    pub(super) async fn wait_until<T>(
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
}

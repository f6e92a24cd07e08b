//! What WhatsApp tells a session: connection events, incoming messages
//! (stored with their event before they are acked; polls kept with their
//! secret, votes on them applied), receipts.

use super::*;
use wagate_core::session_settings::ChatKind;

impl Session {
    // ── engine events ──────────────────────────────────────────────────

    pub(super) async fn on_engine_event(
        self: &Arc<Self>,
        generation: u64,
        event: &Event,
        client: &Arc<Client>,
    ) {
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if matches!(
            event,
            Event::PairingQrCode(_)
                | Event::PairingCode(_)
                | Event::PairSuccess(_)
                | Event::Connected(_)
        ) {
            self.connect_progressed();
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
                self.announce_online(generation);
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
            Event::HistorySync(sync) => self.on_history_sync(sync).await,
            Event::IncomingCall(call) => self.on_call(call, client).await,
            Event::MissedCall(missed) => self.on_missed_call(missed).await,
            Event::AppStateSyncFailed(failed) => {
                self.on_app_state_skipped(failed, client, generation)
            }
            other => {
                if !self.on_chat_sync(other).await {
                    self.on_label_sync(other).await;
                }
            }
        }
    }

    pub(super) async fn on_connected(&self, client: &Arc<Client>) {
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

    pub(super) async fn on_logged_out_remotely(&self) {
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

    pub(super) async fn on_qr_exhausted(self: &Arc<Self>) {
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
    /// and announced once. A message of a chat the settings ignore is
    /// neither (it is still acked); with `autoRead` an incoming one is
    /// marked read.
    pub(super) async fn persist_inbound(
        self: &Arc<Self>,
        message: &wa::Message,
        info: &whatsapp_rust::types::message::MessageInfo,
    ) -> Result<(), EngineError> {
        let settings = self.settings();
        if settings
            .ignore
            .ignores(&info.source.chat.to_non_ad_string())
        {
            return Ok(());
        }
        if info.source.chat.to_non_ad_string() == wagate_core::status_post::STATUS_CHAT {
            return self.persist_status(message, info).await;
        }
        if self.apply_protocol_change(message, info).await?
            || self.apply_poll_vote(message, info).await?
        {
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
        let own = self
            .live()
            .phone
            .map(|p| format!("{p}@s.whatsapp.net"))
            .unwrap_or_default();
        let (recipient, status) =
            addressed(info.source.is_from_me, info.source.is_group, &chat, &own);
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
            status,
            quoted_id: convert::quoted_id(message),
            push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
            media,
            from_history: false,
        };
        // The event's data first: the writer is held from `begin` to the
        // commit, and nothing else should wait while a lookup runs.
        let extras = convert::extras(message);
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
        self.add_lid_fields(&mut data, &record, info.source.sender_alt.as_ref())
            .await;
        // A channel's post is named by its server id (reactions take it).
        if ChatKind::of(&record.chat_id) == ChatKind::Channel && info.server_id > 0 {
            data["serverId"] = json!(info.server_id);
        }
        // The message and its event commit together: a failure leaves
        // neither, the hook fails, and WhatsApp redelivers.
        let mut unit = self.shared.store.unit();
        unit.insert_message(&record)?;
        if let Some(x) = &extras {
            unit.set_message_extras(&self.id, &record.chat_id, &record.wa_id, x)?;
        }
        // A poll is kept with its secret, for the votes to come.
        if let Some(poll) = crate::polls::message::received(&self.id, message, info) {
            unit.insert_poll(&poll)?;
        }
        unit.append(&self.id, &self.tenant_id, event, &data);
        if !unit.commit().await? {
            debug!(session = %self.id, id = %record.wa_id, "duplicate message ignored");
            return Ok(());
        }
        if record.from_me {
            // Sent from another device: its receipts may have come first.
            self.replay_early_receipts(&record.wa_id).await;
        }
        if record.media.is_some() {
            self.shared.incoming_wake.notify_one();
        }
        if settings.auto_read && !record.from_me {
            let sender = info.source.is_group.then(|| record.sender.clone());
            self.auto_read(record.chat_id.clone(), sender, record.wa_id.clone());
        }
        Ok(())
    }

    pub(super) async fn on_receipt(&self, receipt: &whatsapp_rust::types::events::Receipt) {
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
        // Looked up only when a message is not found under the receipt's
        // own addresses: the other address the engine learned (a LID
        // receipt for a message sent to the phone number, or the reverse).
        let mut other_looked_up = source.is_group;
        for id in &receipt.message_ids {
            let mut result = self.apply_receipt(&chats, id, ack, name).await;
            if matches!(result, Ok(false)) && !other_looked_up {
                other_looked_up = true;
                if let Some(other) = self.other_address(&source.chat.to_non_ad()).await
                    && !chats.contains(&other)
                {
                    chats.push(other);
                    result = self
                        .apply_receipt(&chats[chats.len() - 1..], id, ack, name)
                        .await;
                }
            }
            match result {
                Ok(true) => {}
                // Its message may not be stored yet: it waits for it.
                Ok(false) => {
                    let receipt = early_receipts::Parked {
                        chats: chats.clone(),
                        ack,
                        name,
                    };
                    self.park_receipt(id, receipt).await;
                }
                Err(e) => warn!(session = %self.id, "could not record receipt: {e}"),
            }
        }
    }

    /// Moves the message `id` *of the receipt's chat* (under the first of
    /// `chats` it is stored under) to `name` and appends its
    /// `message.ack`, committed together; an id of another chat (or a
    /// status that would go backwards) changes nothing. Whether it moved.
    pub(super) async fn apply_receipt(
        &self,
        chats: &[String],
        id: &str,
        ack: u8,
        name: MessageStatus,
    ) -> Result<bool, EngineError> {
        // One unit per address, until one moves: the status and its
        // `message.ack` commit together, in one hand-off to the writer.
        for chat in chats {
            let message_id = wagate_core::ids::message_id(true, &ChatId::api_from_jid(chat), id);
            let data = json!({ "messageId": message_id, "ack": ack, "ackName": name });
            let mut unit = self.shared.store.unit();
            unit.advance_message_status(&self.id, chat, id, name)?;
            unit.append(&self.id, &self.tenant_id, EventKind::MessageAck, &data);
            if unit.commit().await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The contract's message payload for events.
/// Whom a stored message of `chat` went to, and the status it is stored
/// with: one the session's account sent, or any group message, is
/// addressed to the chat; one it received in a direct chat, to its own
/// JID `own`.
pub(super) fn addressed(
    from_me: bool,
    is_group: bool,
    chat: &str,
    own: &str,
) -> (String, MessageStatus) {
    if from_me {
        (chat.to_string(), MessageStatus::Sent)
    } else if is_group {
        (chat.to_string(), MessageStatus::Received)
    } else {
        (own.to_string(), MessageStatus::Received)
    }
}

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
        "media": m.media.as_ref().map(|f| crate::media::object::media_json(&m.session_id, f)),
        "quotedMessageId": m.quoted_id,
        "contact": { "pushName": m.push_name },
    })
}

/// whatsapp-rust's inbound durability hook: the engine acks a message to
/// WhatsApp only after this returns `Ok`, so a message is in the store (and
/// its event in the log) before the server forgets it. A crash in between
/// means WhatsApp redelivers, and [`Session::persist_inbound`] is idempotent.
pub(super) struct Durability {
    pub(super) session: std::sync::Weak<Session>,
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

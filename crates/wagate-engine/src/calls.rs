//! Incoming calls: each one that rings is told as `call.received`
//! (`{callId, from, fromPn, isVideo, isGroup, timestamp}`) and its end as
//! `call.ended` with a [`CallEndReason`] — the caller hung up or gave up,
//! another device of the account answered, or this session rejected it.
//!
//! With `rejectCalls` on, a session rejects every call as it rings (the
//! `<reject>` WhatsApp Web sends) and, with a `callRejectMessage`, writes
//! the caller that text as an ordinary message — at most once per caller
//! a minute, so a caller ringing in a loop cannot make the
//! session send in a loop. What rings is remembered in a bounded table
//! the session keeps (`session/ringing.rs`), so a call ends once however
//! many stanzas say so.
//!
//! The gateway does not answer calls: whatsapp-rust is built without its
//! media runtime, so a call is rung, rejected, or left to ring out.

use std::sync::Arc;

use serde_json::json;
use tracing::{debug, warn};
use wagate_core::{CallEndReason, ChatId, iso_ms, now_ms};
use whatsapp_rust::Jid;
use whatsapp_rust::client::Client;
use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall, MissedCall};

use crate::events::EventKind;
use crate::session::Session;
use crate::session::ringing::{Ringing, RingingCall};

/// The caller's phone-number JID, when the call names one.
fn caller_pn(call: &IncomingCall) -> Option<Jid> {
    if let CallAction::Offer {
        caller_pn: Some(pn),
        ..
    } = &call.action
    {
        return Some(pn.to_non_ad());
    }
    let creator = call.action.call_creator();
    [creator, &call.from]
        .into_iter()
        .find(|j| j.is_pn())
        .map(|j| j.to_non_ad())
}

impl Session {
    fn ringing(&self) -> std::sync::MutexGuard<'_, Ringing> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A `<call>` stanza: an offer rings, a terminate ends; the rest of
    /// the signalling is not the gateway's business.
    pub(crate) async fn on_call(self: &Arc<Self>, call: &IncomingCall, client: &Arc<Client>) {
        match &call.action {
            CallAction::Offer {
                call_id,
                is_video,
                group_jid,
                ..
            } => {
                let from = call.action.call_creator().to_non_ad();
                let ringing = RingingCall {
                    from: from.to_string(),
                    from_pn: caller_pn(call).map(|j| j.to_string()),
                    is_video: *is_video,
                    is_group: group_jid.is_some() || call.group.is_some(),
                };
                if !self.ringing().ring(call_id, ringing.clone()) {
                    return;
                }
                self.emit(
                    EventKind::CallReceived,
                    call_data(call_id, &ringing, call.timestamp.timestamp()),
                )
                .await;
                if self.settings().reject_calls {
                    self.reject_call(call, &ringing, client).await;
                }
            }
            CallAction::OfferNotice {
                call_id,
                is_video,
                is_group,
                ..
            } => {
                let ringing = RingingCall {
                    from: call.action.call_creator().to_non_ad().to_string(),
                    from_pn: caller_pn(call).map(|j| j.to_string()),
                    is_video: *is_video,
                    is_group: *is_group,
                };
                if self.ringing().ring(call_id, ringing.clone()) {
                    self.emit(
                        EventKind::CallReceived,
                        call_data(call_id, &ringing, call.timestamp.timestamp()),
                    )
                    .await;
                }
            }
            CallAction::Terminate {
                call_id, reason, ..
            } => {
                let ended = self.ringing().end(call_id);
                if let Some(ringing) = ended {
                    let why = CallEndReason::of_terminate(reason.as_deref());
                    self.emit_ended(call_id, &ringing, why).await;
                }
            }
            _ => {}
        }
    }

    /// A call that rang while the session was away and is over: it is told
    /// as received and ended at once.
    pub(crate) async fn on_missed_call(&self, missed: &MissedCall) {
        let ringing = RingingCall {
            from: missed.from.to_non_ad().to_string(),
            from_pn: missed
                .from
                .is_pn()
                .then(|| missed.from.to_non_ad().to_string()),
            is_video: false,
            is_group: false,
        };
        let mut data = call_data(&missed.call_id, &ringing, missed.timestamp.timestamp());
        data["offline"] = json!(true);
        self.emit(EventKind::CallReceived, data).await;
        self.emit_ended(&missed.call_id, &ringing, CallEndReason::MissedOffline)
            .await;
    }

    async fn reject_call(
        self: &Arc<Self>,
        call: &IncomingCall,
        ringing: &RingingCall,
        client: &Arc<Client>,
    ) {
        let call_id = call.action.call_id().to_string();
        if let Err(e) = client.voip().reject(call).await {
            warn!(session = %self.id, call = %call_id, "could not reject the call: {e}");
            return;
        }
        debug!(session = %self.id, call = %call_id, "call rejected");
        if self.ringing().end(&call_id).is_some() {
            self.emit_ended(&call_id, ringing, CallEndReason::Rejected)
                .await;
        }
        let Some(text) = self.settings().call_reject_message else {
            return;
        };
        let to = ringing
            .from_pn
            .clone()
            .unwrap_or_else(|| ringing.from.clone());
        if ringing.is_group || !self.ringing().may_reply(&to, now_ms()) {
            return;
        }
        let Ok(chat) = ChatId::parse(&to) else {
            return;
        };
        // The reply is sent off the event path: it may wait for the
        // caller's devices and keys.
        let me = self.clone();
        let own = client.pn();
        tokio::spawn(async move {
            let wa_id = whatsapp_rust::wacore::request::RequestUtils::message_id_at(
                own.as_ref(),
                (now_ms() / 1000) as u64,
            );
            if let Err(e) = me.send_text(&chat, &text, None, &[], &wa_id).await {
                warn!(session = %me.id, "could not send the call reject message: {e}");
            }
        });
    }

    async fn emit_ended(&self, call_id: &str, ringing: &RingingCall, reason: CallEndReason) {
        let mut data = call_data(call_id, ringing, now_ms() / 1000);
        data["reason"] = json!(reason);
        self.emit(EventKind::CallEnded, data).await;
    }
}

/// The payload of `call.received` and `call.ended`.
fn call_data(call_id: &str, call: &RingingCall, at_secs: i64) -> serde_json::Value {
    json!({
        "callId": call_id,
        "from": ChatId::api_from_jid(&call.from),
        "fromPn": call.from_pn.as_deref().map(ChatId::api_from_jid),
        "isVideo": call.is_video,
        "isGroup": call.is_group,
        "timestamp": iso_ms(at_secs * 1000),
        "waTimestamp": at_secs,
    })
}

//! Calls between virtual phones and devices: a phone rings every device of
//! an account with the `<call><offer>` WhatsApp sends, and the sandbox
//! records what each device answered.
//!
//! The sandbox plays the caller's phone, so it does what a caller's phone
//! does: it sends the offer (from the caller's LID, with `caller_pn`), takes
//! each device's `<receipt><offer/></receipt>` as "it rings", and when one
//! device rejects or accepts it dismisses the others with `<terminate
//! reason="rejected_elsewhere|accepted_elsewhere">`; hanging up sends a
//! plain `<terminate>` to every device still ringing. No media flows: the
//! offer carries no key for a relay, so a call can be rung, rejected,
//! accepted (signalling only) and ended.
//!
//! The table of calls is the sandbox state's (`state/phone_calls.rs`).

pub mod routes;

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::nodes::{attr, children, new_id, now_millis, now_secs};
use crate::state::{Call, CallStatus, DevKey, DeviceAnswer, LogEntry, State, lock};

/// The capability blob WhatsApp's clients put in an offer (`ver="1"`).
const CAPABILITY: [u8; 7] = [0x01, 0x05, 0xf7, 0x09, 0xe0, 0xbb, 0x13];

/// Why a call could not be placed or ended.
pub enum CallError {
    NotFound(String),
    BadRequest(String),
    Conflict(String),
}

/// The caller's JIDs: its LID (what WhatsApp calls from) and phone number.
fn caller_jids(state: &State, phone: &str) -> Option<(Jid, Jid)> {
    let p = state.phone(phone)?;
    Some((Jid::lid(p.lid.as_str()), Jid::pn(phone)))
}

/// `<call from=… id=… t=…>` around one action.
fn call_stanza(from: &Jid, notify: Option<&str>, action: Node) -> Node {
    let mut b = NodeBuilder::new("call")
        .attr("from", from.clone())
        .attr("id", new_id())
        .attr("t", now_secs());
    if let Some(n) = notify.filter(|n| !n.is_empty()) {
        b = b
            .attr("notify", n.to_string())
            .attr("platform", "android")
            .attr("version", "2.25.1.75");
    }
    b.children([action]).build()
}

fn terminate(call_id: &str, creator: &Jid, reason: Option<&str>) -> Node {
    let mut b = NodeBuilder::new("terminate")
        .attr("call-id", call_id.to_string())
        .attr("call-creator", creator.clone());
    if let Some(r) = reason {
        b = b.attr("reason", r.to_string());
    }
    b.build()
}

/// The `<call><offer>` a phone (`lid`, `pn`) rings a device with.
pub(crate) fn offer_stanza(call_id: &str, lid: &Jid, pn: &Jid, notify: &str, video: bool) -> Node {
    let mut offer = vec![
        NodeBuilder::new("audio")
            .attr("enc", "opus")
            .attr("rate", "16000")
            .build(),
        NodeBuilder::new("audio")
            .attr("enc", "opus")
            .attr("rate", "8000")
            .build(),
    ];
    if video {
        offer.push(
            NodeBuilder::new("video")
                .attr("enc", "vp8")
                .attr("dec", "vp8")
                .attr("orientation", "0")
                .attr("screen_width", "1080")
                .attr("screen_height", "2340")
                .attr("device_orientation", "0")
                .build(),
        );
    }
    offer.push(NodeBuilder::new("net").attr("medium", "3").build());
    offer.push(
        NodeBuilder::new("capability")
            .attr("ver", "1")
            .bytes(CAPABILITY.to_vec())
            .build(),
    );
    offer.push(NodeBuilder::new("encopt").attr("keygen", "2").build());
    let action = NodeBuilder::new("offer")
        .attr("call-id", call_id.to_string())
        .attr("call-creator", lid.clone())
        .attr("caller_pn", pn.clone())
        .attr("device_class", "2016")
        .attr("joinable", "1")
        .children(offer)
        .build();
    call_stanza(lid, Some(notify), action)
}

/// The phone `from` calls every device of `to`; returns the call id.
pub fn place(state: &State, from: &str, to: &str, video: bool) -> Result<String, CallError> {
    let (Some((lid, pn)), Some(_)) = (caller_jids(state, from), state.phone(to)) else {
        let missing = if state.phone_exists(from) { to } else { from };
        return Err(CallError::NotFound(format!("unknown phone {missing}")));
    };
    if from == to {
        return Err(CallError::BadRequest("a phone cannot call itself".into()));
    }
    let notify = state.phone(from).map(|p| p.push_name).unwrap_or_default();
    let call_id = new_id() + &new_id();
    let devices = state.devices_of(to);
    let mut call = Call {
        id: call_id.clone(),
        from: from.to_string(),
        to: to.to_string(),
        video,
        status: CallStatus::Ringing,
        rejected_by: None,
        accepted_by: None,
        devices: BTreeMap::new(),
        created_at: now_secs(),
    };
    for d in &devices {
        call.devices.insert(d.key.clone(), DeviceAnswer::default());
    }
    lock(&state.calls).insert(call);
    let stanza = offer_stanza(&call_id, &lid, &pn, &notify, video);
    for d in devices {
        state.deliver(&d.key, stanza.clone());
    }
    log(state, &call_id, from, to, "offer");
    Ok(call_id)
}

/// The caller `phone` hangs up: every device still ringing (or the one
/// that took the call) gets a `<terminate>`.
pub fn end(state: &State, phone: &str, call_id: &str) -> Result<serde_json::Value, CallError> {
    let (targets, lid, to, view) = {
        let mut calls = lock(&state.calls);
        let Some(call) = calls.get_mut(call_id).filter(|c| c.from == phone) else {
            return Err(CallError::NotFound(format!(
                "no call {call_id} placed by {phone}"
            )));
        };
        let targets: Vec<DevKey> = match call.status {
            CallStatus::Ringing => call
                .devices
                .iter()
                .filter(|(_, d)| d.answer.is_none())
                .map(|(k, _)| k.clone())
                .collect(),
            CallStatus::Accepted => call
                .accepted_by
                .as_deref()
                .and_then(|j| j.parse::<Jid>().ok())
                .map(|j| vec![DevKey::new(j.user.to_string(), j.device)])
                .unwrap_or_default(),
            CallStatus::Rejected | CallStatus::Ended => {
                return Err(CallError::Conflict(format!(
                    "call {call_id} is over already ({})",
                    call.status.name()
                )));
            }
        };
        call.status = CallStatus::Ended;
        let lid = caller_jids(state, &call.from).map(|(l, _)| l);
        (targets, lid, call.to.clone(), call.view())
    };
    if let Some(lid) = lid {
        for key in targets {
            state.deliver(
                &key,
                call_stanza(&lid, None, terminate(call_id, &lid, None)),
            );
        }
    }
    log(state, call_id, phone, &to, "terminate");
    Ok(view)
}

/// A `<call>` from device `me`: its answer to an offer (`reject`,
/// `accept`, or `terminate` after accepting) is recorded, and the other
/// devices still ringing are dismissed.
pub fn answer(state: &State, me: &DevKey, node: &Node) {
    let Some(action) = children(node).first() else {
        return;
    };
    let Some(call_id) = attr(action, "call-id") else {
        return;
    };
    let (dismiss, lid, reason) = {
        let mut calls = lock(&state.calls);
        let Some(call) = calls.get_mut(&call_id) else {
            return;
        };
        if call.to != me.phone {
            return;
        }
        let verdict = match action.tag.as_ref() {
            "reject" => "rejected",
            "accept" => "accepted",
            "terminate" if call.status == CallStatus::Accepted => {
                call.status = CallStatus::Ended;
                return;
            }
            _ => return,
        };
        call.devices.entry(me.clone()).or_default().answer = Some(verdict);
        if call.status != CallStatus::Ringing {
            return;
        }
        let reason = if verdict == "rejected" {
            call.status = CallStatus::Rejected;
            call.rejected_by = Some(me.jid_string());
            "rejected_elsewhere"
        } else {
            call.status = CallStatus::Accepted;
            call.accepted_by = Some(me.jid_string());
            "accepted_elsewhere"
        };
        let others: Vec<DevKey> = call
            .devices
            .iter()
            .filter(|(k, d)| *k != me && d.answer.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let lid = caller_jids(state, &call.from).map(|(l, _)| l);
        (others, lid, reason)
    };
    if let Some(lid) = lid {
        for key in dismiss {
            let stanza = call_stanza(&lid, None, terminate(&call_id, &lid, Some(reason)));
            state.deliver(&key, stanza);
        }
    }
}

/// Whether a `<receipt>` is a device's `<receipt><offer/></receipt>`: the
/// offer reached it. It is the caller's business, and the caller is the
/// sandbox's own phone: it is not relayed.
pub fn is_offer_receipt(node: &Node) -> bool {
    children(node).iter().any(|c| c.tag == "offer")
}

/// Device `me` acknowledged an offer: it rings.
pub fn rang(state: &State, me: &DevKey, receipt: &Node) {
    let Some(call_id) = children(receipt)
        .iter()
        .find(|c| c.tag == "offer")
        .and_then(|o| attr(o, "call-id"))
    else {
        return;
    };
    if let Some(call) = lock(&state.calls).get_mut(&call_id)
        && call.to == me.phone
    {
        call.devices.entry(me.clone()).or_default().rang = true;
    }
}

/// A row of the relay log for a call.
fn log(state: &State, id: &str, from: &str, to: &str, what: &str) {
    state.log(LogEntry {
        id: id.to_string(),
        kind: "call".to_string(),
        from: from.to_string(),
        to: to.to_string(),
        msg_type: what.to_string(),
        timestamp: now_millis(),
    });
}

#[cfg(test)]
mod tests;

//! Relaying between devices: 1:1 `<message>` fan-out (one stanza per
//! recipient device, carrying only that device's `<enc>`), server `<ack>`s,
//! receipts back to the sender's devices, presence and chatstates.
//!
//! Ciphertext is copied byte for byte; nothing here can or does decrypt.
//! Stanzas for devices that are offline (or still passive) wait in the
//! pending store (`State::deliver`, `pending.rs`), and stay there until the
//! device acks them.

use std::sync::atomic::Ordering;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, JidExt, Node, NodeContent};

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, children, now_millis, now_secs};
use crate::state::{DevKey, LogEntry, State, read, write};

/// Attributes of a client stanza that must not be copied to recipients.
const PRIVATE_ATTRS: &[&str] = &["to", "id", "type", "phash", "device_fanout", "t"];

fn copy_attrs(node: &mut Node, original: &Node) {
    for (k, v) in original.attrs.iter() {
        let k = k.as_ref();
        if !PRIVATE_ATTRS.contains(&k)
            && k != "participant"
            && k != "recipient"
            && !node.attrs.contains_key(k)
        {
            node.attrs.insert(k.to_string(), v.clone());
        }
    }
}

pub(crate) fn server_ack(
    class: &str,
    id: &str,
    from: &Jid,
    extra: Option<(&'static str, String)>,
) -> Node {
    let mut b = NodeBuilder::new("ack")
        .attr("class", class.to_string())
        .attr("id", id.to_string())
        .attr("from", from.clone())
        .attr("t", now_secs());
    if let Some((k, v)) = extra {
        b = b.attr(k, v);
    }
    b.build()
}

/// One relayed `<message>` for one device.
#[derive(Clone)]
pub(crate) struct Fanout<'a> {
    pub original: &'a Node,
    pub from: Jid,
    pub participant: Option<Jid>,
    pub recipient: Option<Jid>,
    /// The sender's phone-number JID when `from` is its LID: the stanza
    /// then says `addressing_mode="lid"`, as WhatsApp's do.
    pub sender_pn: Option<Jid>,
    pub notify: String,
    pub t: i64,
}

impl Fanout<'_> {
    pub fn build(&self, encs: Vec<Node>, extra_children: &[Node]) -> Node {
        let id = attr(self.original, "id").unwrap_or_default();
        let ty = attr(self.original, "type").unwrap_or_else(|| "text".into());
        let mut b = NodeBuilder::new("message")
            .attr("from", self.from.clone())
            .attr("id", id)
            .attr("type", ty)
            .attr("t", self.t);
        if let Some(p) = &self.participant {
            b = b.attr("participant", p.clone());
        }
        if let Some(r) = &self.recipient {
            b = b.attr("recipient", r.clone());
        }
        if let Some(pn) = &self.sender_pn {
            b = b
                .attr("sender_pn", pn.clone())
                .attr("addressing_mode", "lid");
        }
        if !self.notify.is_empty() {
            b = b.attr("notify", self.notify.clone());
        }
        let mut kids = encs;
        kids.extend(extra_children.iter().cloned());
        let mut node = b.children(kids).build();
        copy_attrs(&mut node, self.original);
        node
    }
}

/// Children of an outgoing message that go to every recipient (everything
/// but the per-device `<participants>` and top-level `<enc>`).
pub(crate) fn shared_children(node: &Node) -> Vec<Node> {
    children(node)
        .iter()
        .filter(|c| c.tag != "participants" && c.tag != "enc")
        .cloned()
        .collect()
}

/// `(device, its <enc> nodes)` from `<participants><to jid=…>…</to></participants>`.
pub(crate) fn participant_targets(state: &State, node: &Node) -> Vec<(DevKey, Vec<Node>)> {
    let mut out = Vec::new();
    if let Some(p) = node.get_optional_child("participants") {
        for to in children(p).iter().filter(|c| c.tag == "to") {
            let Some(jid) = attr_jid(to, "jid") else {
                continue;
            };
            let Some(phone) = state.resolve_user(&jid) else {
                continue;
            };
            let encs: Vec<Node> = children(to)
                .iter()
                .filter(|c| c.tag == "enc")
                .cloned()
                .collect();
            if !encs.is_empty() {
                out.push((DevKey::new(phone, jid.device), encs));
            }
        }
    }
    out
}

/// Whether a device can receive stanzas (linked and not logged out).
pub(crate) fn deliverable(state: &State, key: &DevKey) -> bool {
    key.device != 0
        && read(&state.devices)
            .get(key)
            .is_some_and(|d| d.linked && !d.logged_out)
}

pub(crate) fn log_row(state: &State, kind: &str, id: &str, from: &str, to: &str, ty: &str) {
    state.log(LogEntry {
        id: id.to_string(),
        kind: kind.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        msg_type: ty.to_string(),
        timestamp: now_millis(),
    });
}

/// A `<message>` from a client.
pub fn on_message(session: &Session, node: Node) {
    let Some((me, my_jid)) = session.device() else {
        return;
    };
    let (me, my_jid) = (me.clone(), my_jid.clone());
    let state = &session.state;
    let Some(id) = attr(&node, "id") else { return };
    let Some(to) = attr_jid(&node, "to") else {
        return;
    };
    if to.is_group() {
        crate::groups::relay_message(session, &node, &to, &id);
        return;
    }
    if to.server == wacore_binary::Server::Newsletter {
        crate::newsletters::on_message(session, &node, &to, &id);
        return;
    }
    if to.is_status_broadcast() {
        crate::status::relay_status(session, &node, &to, &id);
        return;
    }
    let ty = attr(&node, "type").unwrap_or_else(|| "text".into());
    if to.is_broadcast_list() {
        session.send(server_ack("message", &id, &to, None));
        return;
    }
    let notify = state
        .phone(&me.phone)
        .map(|p| p.push_name)
        .unwrap_or_default();
    let mut targets = participant_targets(state, &node);
    if targets.is_empty() {
        // Peer / direct-to-device form: `<message to="user:dev@…"><enc/></message>`.
        let encs: Vec<Node> = children(&node)
            .iter()
            .filter(|c| c.tag == "enc")
            .cloned()
            .collect();
        if let Some(phone) = state.resolve_user(&to)
            && !encs.is_empty()
        {
            targets.push((DevKey::new(phone, to.device), encs));
        }
    }
    let shared = shared_children(&node);
    let fan = Fanout {
        original: &node,
        from: my_jid,
        participant: None,
        recipient: None,
        sender_pn: None,
        notify,
        t: now_secs(),
    };
    // How the sender is named to the other account: a LID-addressed
    // phone's devices by their LID, with the phone number beside.
    let (from_others, sender_pn) = state.sender_address(&me);
    let to_user = to.to_non_ad();
    // The same message sent again (same sender, chat and id, and not a
    // retry for a device that could not decrypt it) is acked, not relayed.
    let is_retry = children(&node)
        .iter()
        .chain(targets.iter().flat_map(|(_, encs)| encs.iter()))
        .any(|c| c.tag == "enc" && attr(c, "count").is_some());
    if !is_retry
        && !state
            .relayed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_time(&me.phone, &to.user, &id)
    {
        log_row(state, "duplicate", &id, &me.phone, &to.user, &ty);
        session.send(server_ack("message", &id, &to, None));
        return;
    }
    // A recipient who blocked the sender never gets its messages (the
    // sender still gets the server ack, as on WhatsApp).
    let blocked = state
        .resolve_user(&to)
        .is_some_and(|p| state.has_blocked(&p, &me.phone));
    for (target, encs) in targets {
        if target == me || !deliverable(state, &target) {
            continue;
        }
        if blocked && target.phone != me.phone {
            continue;
        }
        let mut f = fan.clone();
        if target.phone == me.phone {
            // A copy for the sender's own other devices names the chat.
            f.recipient = Some(to_user.clone());
        } else {
            f.from = from_others.clone();
            f.sender_pn = sender_pn.clone();
        }
        state.deliver(&target, f.build(encs, &shared));
    }
    let kind = if blocked { "blocked" } else { "message" };
    log_row(state, kind, &id, &me.phone, &to.user, &ty);
    session.send(server_ack("message", &id, &to, None));
}

/// A `<receipt>` from a client: relayed to every device of the user it
/// is addressed to (for groups, the original sender in `participant`).
pub fn on_receipt(session: &Session, node: Node) {
    let Some((me, my_jid)) = session.device() else {
        return;
    };
    let state = &session.state;
    // The device took the messages this receipt names: they are acked.
    state.receipt_from(me, &node);
    let Some(id) = attr(&node, "id") else { return };
    let Some(to) = attr_jid(&node, "to") else {
        return;
    };
    let ty = attr(&node, "type");
    // "inactive" is a delivery receipt from a backgrounded client; WhatsApp
    // hands it to the sender as a plain delivery receipt.
    let relayed_ty = ty.clone().filter(|t| t != "inactive");
    // A group's (or a status's) receipt goes to the sender in `participant`.
    let (target_phone, from, participant) = if to.is_group() || to.is_status_broadcast() {
        let Some(p) = attr_jid(&node, "participant").and_then(|j| state.resolve_user(&j)) else {
            session.send(server_ack(
                "receipt",
                &id,
                &to,
                ty.clone().map(|t| ("type", t)),
            ));
            return;
        };
        (p, to.clone(), Some(my_jid.clone()))
    } else {
        let Some(p) = state.resolve_user(&to) else {
            session.send(server_ack(
                "receipt",
                &id,
                &to,
                ty.clone().map(|t| ("type", t)),
            ));
            return;
        };
        // Another account sees a LID-addressed phone's receipts come
        // from its LID, as its messages do.
        let from = if p == me.phone {
            my_jid.clone()
        } else {
            state.sender_address(me).0
        };
        (p, from, None)
    };
    let mut b = NodeBuilder::new("receipt")
        .attr("from", from)
        .attr("id", id.clone())
        .attr("t", now_secs());
    if let Some(t) = &relayed_ty {
        b = b.attr("type", t.clone());
    }
    if let Some(p) = participant {
        b = b.attr("participant", p);
    }
    if target_phone == me.phone && !to.is_group() && !to.is_status_broadcast() {
        b = b.attr("recipient", to.to_non_ad());
    }
    let receipt = match &node.content {
        Some(NodeContent::Nodes(kids)) if !kids.is_empty() => b.children(kids.clone()).build(),
        _ => b.build(),
    };
    for d in state.devices_of(&target_phone) {
        if d.key != *me {
            state.deliver(&d.key, receipt.clone());
        }
    }
    log_row(
        state,
        "receipt",
        &id,
        &me.phone,
        &target_phone,
        relayed_ty.as_deref().unwrap_or("delivery"),
    );
    session.send(server_ack("receipt", &id, &to, ty.map(|t| ("type", t))));
}

/// `<presence>` from a client: availability announcements and subscriptions.
pub fn on_presence(session: &Session, node: Node) {
    let Some((me, _)) = session.device() else {
        return;
    };
    let state = &session.state;
    match attr(&node, "type").as_deref() {
        Some("subscribe") => {
            let Some(target) = attr_jid(&node, "to").and_then(|j| state.resolve_user(&j)) else {
                return;
            };
            write(&state.presence_subs)
                .entry(target.clone())
                .or_default()
                .insert(me.clone());
            let available = read(&state.presence).get(&target).copied().unwrap_or(false);
            session.send(presence_node(&target, available));
        }
        Some("unsubscribe") => {
            if let Some(target) = attr_jid(&node, "to").and_then(|j| state.resolve_user(&j))
                && let Some(set) = write(&state.presence_subs).get_mut(&target)
            {
                set.remove(me);
            }
        }
        Some("unavailable") => {
            write(&state.available_devices).remove(me);
            broadcast_presence_of(state, &me.phone);
        }
        _ => {
            write(&state.available_devices).insert(me.clone());
            broadcast_presence_of(state, &me.phone);
        }
    }
}

fn presence_node(phone: &str, available: bool) -> Node {
    let mut b = NodeBuilder::new("presence").attr("from", Jid::pn(phone));
    if available {
        b = b.attr("type", "available");
    } else {
        b = b.attr("type", "unavailable").attr("last", now_secs());
    }
    b.build()
}

/// Records a phone's availability and tells live subscribers when it
/// changed. A phone is available while one of its connected devices last
/// said "available" (a device that says "unavailable", or drops, no longer
/// counts), as WhatsApp shows a user online while a device of theirs is.
pub fn broadcast_presence_of(state: &State, phone: &str) {
    let available = read(&state.available_devices)
        .iter()
        .any(|k| k.phone == phone);
    let changed = write(&state.presence).insert(phone.to_string(), available) != Some(available);
    if !changed {
        return;
    }
    let subs: Vec<DevKey> = read(&state.presence_subs)
        .get(phone)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    let node = presence_node(phone, available);
    for s in subs {
        send_live(state, &s, node.clone());
    }
}

/// Sends only if the device is connected and active (ephemeral stanzas).
pub(crate) fn send_live(state: &State, key: &DevKey, node: Node) {
    if let Some(c) = state.conn(key)
        && c.active.load(Ordering::Acquire)
    {
        c.send(node);
    }
}

/// `<chatstate to=…><composing/>|<paused/></chatstate>`: live relay only.
pub fn on_chatstate(session: &Session, node: Node) {
    let Some((me, _)) = session.device() else {
        return;
    };
    let state = &session.state;
    let Some(to) = attr_jid(&node, "to") else {
        return;
    };
    let kids = children(&node).to_vec();
    if to.is_group() {
        let members = crate::groups::member_phones(state, &to.user);
        if !members.iter().any(|m| m == &me.phone) {
            return;
        }
        let out = NodeBuilder::new("chatstate")
            .attr("from", to.clone())
            .attr("participant", Jid::pn(me.phone.as_str()))
            .children(kids)
            .build();
        for m in members {
            for d in state.devices_of(&m) {
                if d.key != *me {
                    send_live(state, &d.key, out.clone());
                }
            }
        }
        return;
    }
    let Some(target) = state.resolve_user(&to) else {
        return;
    };
    if state.has_blocked(&target, &me.phone) {
        return;
    }
    let out = NodeBuilder::new("chatstate")
        .attr("from", Jid::pn(me.phone.as_str()))
        .children(kids)
        .build();
    for d in state.devices_of(&target) {
        send_live(state, &d.key, out.clone());
    }
}

/// Client `<ack>`s of what we delivered: the stanza is not kept any longer.
pub fn on_client_ack(session: &Session, node: Node) {
    if let Some((me, _)) = session.device() {
        session.state.acked(me, &node);
    }
}

/// Stanzas the sandbox has no use for but that expect an `<ack>`.
pub fn ack_generic(session: &Session, node: &Node) {
    if node.tag == "ib" {
        return;
    }
    if let Some(id) = attr(node, "id") {
        let class = node.tag.to_string();
        let to = attr_jid(node, "to").unwrap_or_else(|| Jid::new("", wacore_binary::Server::Pn));
        session.send(server_ack(&class, &id, &to, None));
    }
}

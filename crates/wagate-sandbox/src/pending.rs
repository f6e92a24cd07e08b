//! What each device has not acknowledged yet, kept the way WhatsApp's server
//! keeps it: a stanza for a device waits here from the moment it is relayed
//! (sent live, or queued while the device is away) until the device sends
//! the matching `<ack>`. A device that drops before acking — a crash, a
//! SIGKILL, a lost socket — gets everything still here again at its next
//! login, marked `offline="1"`, followed by `<ib><offline count=N/></ib>`.
//!
//! Only stanzas a client answers are kept after they went out (`<message>`,
//! `<receipt>`, `<notification>`, `<call>` with an `id` and a `from`);
//! anything else waits only while the device is offline and is forgotten
//! once sent. A client answers a message it took with a `<receipt>` (a
//! delivery, `inactive` or `peer_msg` receipt, or an aggregate one with a
//! `<list>` after an offline batch) and anything else, or a message it
//! cannot take, with an `<ack>`; whatsapp-rust with a durability hook sends
//! either only once the hook committed the message.
//! Each device's queue is bounded: past [`PER_DEVICE_CAP`] the oldest goes.

use std::collections::{HashMap, VecDeque};

use wacore_binary::Node;

use crate::nodes::{attr, children};
use crate::state::{ConnId, DevKey};

/// Most stanzas kept for one device (a device gone for good must not grow
/// the sandbox without bound).
pub const PER_DEVICE_CAP: usize = 10_000;

/// One stanza waiting for a device.
#[derive(Clone, Debug)]
pub struct Entry {
    pub node: Node,
    /// The connection it was last written to; `None` while it waits for
    /// the device's next login.
    pub sent_on: Option<ConnId>,
    /// Whether the device must ack it (otherwise it is dropped once sent).
    pub awaits_ack: bool,
}

/// A stanza handed out at login.
pub struct Drained {
    pub node: Node,
    /// It had gone out on an earlier connection that never acked it.
    pub redelivered: bool,
}

/// Per-device queues of stanzas not yet acknowledged.
#[derive(Default)]
pub struct Pending {
    by_device: HashMap<DevKey, VecDeque<Entry>>,
}

/// Whether a client acks this stanza (see the module doc).
pub fn awaits_ack(node: &Node) -> bool {
    matches!(
        node.tag.as_ref(),
        "message" | "receipt" | "notification" | "call"
    ) && node.attrs.contains_key("id")
        && node.attrs.contains_key("from")
}

impl Pending {
    /// Keeps a stanza for `key`. `sent_on` is the connection it just went
    /// out on, or `None` if it waits for a login. A stanza sent live that
    /// needs no ack is not kept.
    pub fn push(&mut self, key: &DevKey, node: Node, sent_on: Option<ConnId>) {
        let awaits_ack = awaits_ack(&node);
        if sent_on.is_some() && !awaits_ack {
            return;
        }
        let queue = self.by_device.entry(key.clone()).or_default();
        if queue.len() >= PER_DEVICE_CAP {
            queue.pop_front();
            tracing::warn!(
                "sandbox: pending queue of {} is full; dropped its oldest stanza",
                key.jid_string()
            );
        }
        queue.push_back(Entry {
            node,
            sent_on,
            awaits_ack,
        });
    }

    /// Everything `key` should get on connection `conn` as it goes active,
    /// oldest first. What needs an ack stays, now marked as sent on `conn`.
    pub fn drain_for_login(&mut self, key: &DevKey, conn: ConnId) -> Vec<Drained> {
        let Some(queue) = self.by_device.get_mut(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        queue.retain_mut(|e| {
            if e.sent_on == Some(conn) {
                return true;
            }
            out.push(Drained {
                node: e.node.clone(),
                redelivered: e.sent_on.is_some(),
            });
            e.sent_on = Some(conn);
            e.awaits_ack
        });
        if queue.is_empty() {
            self.by_device.remove(key);
        }
        out
    }

    /// A client `<ack class=… id=… to=… [participant=…]>` from `key`: drops
    /// the stanza it acknowledges. Returns whether one matched.
    pub fn ack(&mut self, key: &DevKey, ack: &Node) -> bool {
        let (Some(class), Some(id)) = (attr(ack, "class"), attr(ack, "id")) else {
            return false;
        };
        self.remove(key, &class, &id, attr(ack, "to"), attr(ack, "participant"))
    }

    /// A `<receipt>` from `key` for messages it received acknowledges them,
    /// as on WhatsApp (a client sends a receipt, not an `<ack>`, for a
    /// message it took): `id` and every `<list><item id=…/></list>` id, from
    /// the sender named in `to` (and `participant` in a group). A `retry`
    /// receipt says it could not decrypt; its `<ack>` follows on its own.
    /// Returns how many were dropped.
    pub fn receipt(&mut self, key: &DevKey, receipt: &Node) -> usize {
        if attr(receipt, "type").as_deref() == Some("retry") {
            return 0;
        }
        let to = attr(receipt, "to");
        let participant = attr(receipt, "participant");
        let listed = children(receipt)
            .iter()
            .filter(|c| c.tag == "list")
            .flat_map(children)
            .filter(|i| i.tag == "item")
            .filter_map(|i| attr(i, "id"));
        attr(receipt, "id")
            .into_iter()
            .chain(listed)
            .filter(|id| self.remove(key, "message", id, to.clone(), participant.clone()))
            .count()
    }

    /// Drops the stanza of `class` and `id` that `to` (its `from`) and
    /// `participant` name.
    fn remove(
        &mut self,
        key: &DevKey,
        class: &str,
        id: &str,
        to: Option<String>,
        participant: Option<String>,
    ) -> bool {
        let Some(queue) = self.by_device.get_mut(key) else {
            return false;
        };
        let same_stanza =
            |e: &Entry| e.node.tag == class && attr(&e.node, "id").as_deref() == Some(id);
        let exact = queue.iter().position(|e| {
            if !same_stanza(e) {
                return false;
            }
            let n = &e.node;
            let from = attr(n, "from");
            if to.is_some() && to != from {
                return false;
            }
            // A receipt's ack leaves out a participant equal to `from`.
            match (&participant, attr(n, "participant")) {
                (Some(p), Some(np)) => *p == np,
                (Some(_), None) => false,
                (None, np) => np.is_none() || class == "receipt" || np == from,
            }
        });
        // A client may name the sender by another address (its LID): an
        // id that only one kept stanza of that class carries is still it.
        let found = exact.or_else(|| {
            let mut same = queue.iter().enumerate().filter(|(_, e)| same_stanza(e));
            match (same.next(), same.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        });
        let Some(i) = found else { return false };
        queue.remove(i);
        if queue.is_empty() {
            self.by_device.remove(key);
        }
        true
    }

    /// Forgets everything kept for a device (it logged out).
    pub fn remove_device(&mut self, key: &DevKey) {
        self.by_device.remove(key);
    }

    /// What is kept for `key`, oldest first.
    pub fn entries(&self, key: &DevKey) -> Vec<Entry> {
        self.by_device
            .get(key)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many stanzas are kept for `key`.
    pub fn count(&self, key: &DevKey) -> usize {
        self.by_device.get(key).map_or(0, VecDeque::len)
    }

    /// Every queue, for persisting.
    pub fn all(&self) -> impl Iterator<Item = (&DevKey, &VecDeque<Entry>)> {
        self.by_device.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore_binary::Jid;
    use wacore_binary::builder::NodeBuilder;

    fn msg(id: &str, from: &str) -> Node {
        NodeBuilder::new("message")
            .attr("id", id)
            .attr("from", Jid::pn(from))
            .attr("type", "text")
            .build()
    }

    fn ack(class: &str, id: &str, to: &str) -> Node {
        NodeBuilder::new("ack")
            .attr("class", class)
            .attr("id", id)
            .attr("to", Jid::pn(to))
            .build()
    }

    #[test]
    fn a_stanza_stays_until_acked_and_comes_back_at_the_next_login() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        // Sent live on connection 1, never acked.
        p.push(&dev, msg("M1", "628200"), Some(1));
        // Queued while the device was away.
        p.push(&dev, msg("M2", "628200"), None);
        assert_eq!(p.count(&dev), 2);

        let drained = p.drain_for_login(&dev, 2);
        assert_eq!(drained.len(), 2);
        assert!(drained[0].redelivered, "M1 went out before");
        assert!(!drained[1].redelivered, "M2 is a first delivery");
        // Draining again on the same connection sends nothing twice.
        assert!(p.drain_for_login(&dev, 2).is_empty());

        // Acks for another id or class match nothing.
        assert!(!p.ack(&dev, &ack("message", "M9", "628200")));
        assert!(!p.ack(&dev, &ack("receipt", "M1", "628200")));
        assert!(p.ack(&dev, &ack("message", "M1", "628200")));
        assert!(p.ack(&dev, &ack("message", "M2", "628200")));
        assert_eq!(p.count(&dev), 0);
    }

    #[test]
    fn two_senders_reusing_an_id_are_told_apart_by_the_acks_to() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        p.push(&dev, msg("M1", "628200"), Some(1));
        p.push(&dev, msg("M1", "628400"), Some(1));
        assert!(!p.ack(&dev, &ack("message", "M1", "628300")));
        assert!(p.ack(&dev, &ack("message", "M1", "628400")));
        let left = p.entries(&dev);
        assert_eq!(left.len(), 1);
        assert_eq!(
            attr(&left[0].node, "from").as_deref(),
            Some("628200@s.whatsapp.net")
        );
        // The last one left is matched even by another address of its sender.
        assert!(p.ack(&dev, &ack("message", "M1", "999999")));
    }

    #[test]
    fn what_needs_no_ack_is_kept_only_while_the_device_is_away() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        let presence = NodeBuilder::new("ib").build();
        p.push(&dev, presence.clone(), Some(1));
        assert_eq!(p.count(&dev), 0);
        p.push(&dev, presence, None);
        assert_eq!(p.drain_for_login(&dev, 2).len(), 1);
        assert_eq!(p.count(&dev), 0);
    }

    #[test]
    fn a_group_message_is_matched_by_its_participant() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        let node = |sender: &str| {
            NodeBuilder::new("message")
                .attr("id", "G1")
                .attr("from", Jid::group("1203630"))
                .attr("participant", Jid::pn(sender))
                .build()
        };
        p.push(&dev, node("628200"), Some(1));
        p.push(&dev, node("628300"), Some(1));
        let group_ack = |sender: &str| {
            NodeBuilder::new("ack")
                .attr("class", "message")
                .attr("id", "G1")
                .attr("to", Jid::group("1203630"))
                .attr("participant", Jid::pn(sender))
                .build()
        };
        assert!(p.ack(&dev, &group_ack("628300")));
        let left = p.entries(&dev);
        assert_eq!(left.len(), 1);
        assert_eq!(
            attr(&left[0].node, "participant").as_deref(),
            Some("628200@s.whatsapp.net")
        );
    }

    #[test]
    fn a_delivery_receipt_acks_the_messages_it_names() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        for id in ["M1", "M2", "M3"] {
            p.push(&dev, msg(id, "628200"), Some(1));
        }
        let receipt = |ty: Option<&str>, ids: &[&str]| {
            let mut b = NodeBuilder::new("receipt")
                .attr("id", ids[0])
                .attr("to", Jid::pn("628200"));
            if let Some(t) = ty {
                b = b.attr("type", t);
            }
            let items: Vec<Node> = ids[1..]
                .iter()
                .map(|i| NodeBuilder::new("item").attr("id", *i).build())
                .collect();
            if !items.is_empty() {
                b = b.children([NodeBuilder::new("list").children(items).build()]);
            }
            b.build()
        };
        // A retry receipt is no ack.
        assert_eq!(p.receipt(&dev, &receipt(Some("retry"), &["M1"])), 0);
        assert_eq!(p.receipt(&dev, &receipt(Some("inactive"), &["M1"])), 1);
        // An aggregate receipt after an offline batch names several.
        assert_eq!(p.receipt(&dev, &receipt(None, &["M2", "M3"])), 2);
        assert_eq!(p.count(&dev), 0);
    }

    #[test]
    fn the_queue_is_bounded() {
        let dev = DevKey::new("628100", 1);
        let mut p = Pending::default();
        for i in 0..PER_DEVICE_CAP + 5 {
            p.push(&dev, msg(&format!("M{i}"), "628200"), None);
        }
        assert_eq!(p.count(&dev), PER_DEVICE_CAP);
        assert_eq!(attr(&p.entries(&dev)[0].node, "id").as_deref(), Some("M5"));
    }
}

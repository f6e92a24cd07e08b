//! Delivery to devices: a stanza goes out live or waits for the device's
//! next login, and is kept in `pending` until the device acks it. Taking
//! `pending`'s lock around the send keeps delivery and login-time draining
//! atomic with respect to each other.

use std::sync::atomic::Ordering;

use wacore_binary::Node;

use super::{ConnHandle, DevKey, LogEntry, State, lock, read};

impl State {
    /// Delivers a stanza to a device now if it is connected and active,
    /// otherwise queues it for its next login; either way it is kept until
    /// the device acks it if it must (`pending.rs`). Returns true if sent live.
    pub fn deliver(&self, key: &DevKey, node: Node) -> bool {
        let mut pending = lock(&self.pending);
        if let Some(c) = self.conn(key)
            && c.active.load(Ordering::Acquire)
            && c.send(node.clone())
        {
            pending.push(key, node, Some(c.id));
            return true;
        }
        pending.push(key, node, None);
        false
    }

    /// Marks a connection active and hands it everything the device has not
    /// acked — queued while it was away, or sent on an earlier connection
    /// that dropped before the ack — atomically with respect to [`deliver`].
    /// Each goes out marked `offline="1"`; a second delivery is logged as
    /// `redelivered`. Returns how many went out.
    pub fn activate(&self, key: &DevKey, conn: &ConnHandle) -> usize {
        let mut pending = lock(&self.pending);
        conn.active.store(true, Ordering::Release);
        let drained = pending.drain_for_login(key, conn.id);
        let n = drained.len();
        for d in drained {
            let mut node = d.node;
            if d.redelivered {
                self.log_redelivery(key, &node);
            }
            // Marks the stanza as drained from the offline queue, as WhatsApp does.
            node.attrs.insert("offline", "1");
            conn.send(node);
        }
        n
    }

    /// A device acked a stanza: it is not kept any longer.
    pub fn acked(&self, key: &DevKey, ack: &Node) -> bool {
        lock(&self.pending).ack(key, ack)
    }

    /// A device sent a receipt for messages it took: they are not kept any longer.
    pub fn receipt_from(&self, key: &DevKey, receipt: &Node) -> usize {
        lock(&self.pending).receipt(key, receipt)
    }

    fn log_redelivery(&self, key: &DevKey, node: &Node) {
        let user = |k: &str| {
            node.attrs
                .get(k)
                .and_then(|v| v.to_jid())
                .map(|j| j.user.to_string())
        };
        // A group stanza's sender is its participant; the log names phones.
        let sender = user("participant")
            .or_else(|| user("from"))
            .unwrap_or_default();
        let sender = read(&self.lid_to_phone)
            .get(&sender)
            .cloned()
            .unwrap_or(sender);
        let ty = node
            .attrs
            .get("type")
            .map(|v| v.as_str().into_owned())
            .unwrap_or_else(|| node.tag.to_string());
        self.log(LogEntry {
            id: node
                .attrs
                .get("id")
                .map(|v| v.as_str().into_owned())
                .unwrap_or_default(),
            kind: "redelivered".to_string(),
            from: sender,
            to: key.phone.clone(),
            msg_type: ty,
            timestamp: crate::nodes::now_millis(),
        });
    }
}

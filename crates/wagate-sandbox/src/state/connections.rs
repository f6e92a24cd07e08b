//! Live connections: the handle through which the rest of the sandbox talks
//! to a connection task, and the lookup of a device's current connection.
//! Kept apart from delivery so the handle's shape is in one place.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::mpsc;
use wacore_binary::Node;

use super::{DevKey, State, read};

pub type ConnId = u64;

/// What a connection task is asked to do by the rest of the sandbox.
#[derive(Debug)]
pub enum Outbound {
    /// Encrypt and send this stanza.
    Node(Node),
    /// Flush everything queued before this, then close the socket.
    Close,
}

/// A live, authenticated (or pairing) connection.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: ConnId,
    pub tx: mpsc::UnboundedSender<Outbound>,
    /// Set once the client left passive mode: stanzas go straight to it;
    /// before that they wait in the offline queue like on WhatsApp.
    pub active: Arc<AtomicBool>,
}

impl ConnHandle {
    pub fn send(&self, node: Node) -> bool {
        self.tx.send(Outbound::Node(node)).is_ok()
    }
    pub fn close(&self) {
        let _ = self.tx.send(Outbound::Close);
    }
}

impl State {
    pub fn conn(&self, key: &DevKey) -> Option<ConnHandle> {
        read(&self.conns).get(key).cloned()
    }
}

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

impl ConnHandle {
    /// Whether its connection task still runs (the socket is open).
    pub fn is_open(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// A device that logged in while another connection of it was still open:
/// WhatsApp replaces the older one, and a gateway that lets this happen runs
/// one device twice (a cluster whose leases failed). Kept for the admin API
/// (`GET /admin/conflicts`).
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub device_jid: String,
    /// Unix milliseconds.
    pub at: i64,
    pub replaced_connection: ConnId,
    pub by_connection: ConnId,
}

/// Most conflicts kept (the oldest go first).
pub const CONFLICTS_KEPT: usize = 10_000;

impl State {
    pub fn conn(&self, key: &DevKey) -> Option<ConnHandle> {
        read(&self.conns).get(key).cloned()
    }

    /// Makes `handle` the device's connection; an older one still open is
    /// closed and recorded as a conflict.
    pub fn replace_conn(&self, key: &DevKey, handle: &ConnHandle) {
        let old = super::write(&self.conns).insert(key.clone(), handle.clone());
        let Some(old) = old.filter(|o| o.id != handle.id) else {
            return;
        };
        if old.is_open() {
            let mut log = super::lock(&self.conflicts);
            if log.len() >= CONFLICTS_KEPT {
                log.remove(0);
            }
            log.push(Conflict {
                device_jid: key.jid_string(),
                at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or_default(),
                replaced_connection: old.id,
                by_connection: handle.id,
            });
        }
        old.close();
    }
}

//! The sandbox's shared world: virtual phones (accounts), their linked
//! devices with the key material those devices published, the live
//! connections, pending QR refs, what each device has not acked yet
//! (`pending.rs`), groups, newsletters, media blobs, each account's app state, the
//! relay log and the calls.
//!
//! Everything is behind short-lived `std::sync` locks keyed by jid; no lock is
//! ever held across an `.await`, so one slow connection never stalls another.
//!
//! This module holds the `State` struct itself; each kind of state it keeps
//! has its own submodule (types plus the `impl State` methods over them).

mod accounts;
mod app_state;
mod connections;
mod delivery;
mod group;
mod handshakes;
mod keys;
mod locks;
mod newsletter;
mod pairing;
mod persist;
mod phone_calls;
mod picture;
mod relay_log;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

pub use accounts::{DevKey, Device, Phone};
pub use app_state::{AppStateKey, AppStateLog, COLLECTIONS, UploadError};
pub use connections::{Conflict, ConnHandle, ConnId, Outbound};
pub use group::Group;
pub use handshakes::{Handshakes, Handshaking};
pub use keys::{SignedPreKey, StoredKeyPair};
pub use locks::{lock, read, write};
pub use newsletter::{Newsletter, Post};
pub use pairing::{AwaitingSign, PendingPairCode, PendingRef, Registration};
#[cfg(test)]
pub use phone_calls::CALLS_MAX;
pub use phone_calls::{Call, CallStatus, Calls, DeviceAnswer};
pub use picture::Picture;
pub use relay_log::{LogEntry, RelayedIds};

use crate::noise::ServerIdentity;
use crate::pending::Pending;

/// The whole sandbox world.
pub struct State {
    pub identity: ServerIdentity,
    pub data_dir: Option<PathBuf>,
    pub media_host: String,
    pub phones: RwLock<HashMap<String, Phone>>,
    pub lid_to_phone: RwLock<HashMap<String, String>>,
    pub devices: RwLock<HashMap<DevKey, Device>>,
    pub conns: RwLock<HashMap<DevKey, ConnHandle>>,
    /// Devices that logged in while an older connection of theirs was open.
    pub conflicts: Mutex<Vec<Conflict>>,
    /// Clients connecting now, and the most at once (`handshakes.rs`).
    pub handshakes: std::sync::Arc<Handshakes>,
    pub pairing_refs: RwLock<HashMap<String, PendingRef>>,
    pub pair_codes: RwLock<HashMap<String, PendingPairCode>>,
    /// pairing ref -> phone-side state after the code was entered.
    pub primary_hellos: Mutex<HashMap<String, crate::pair_code::PrimaryHello>>,
    pub awaiting_sign: Mutex<HashMap<ConnId, AwaitingSign>>,
    /// Stanzas each device has not acked yet (queued or sent).
    pub pending: Mutex<Pending>,
    /// Emulated network latency: every frame the sandbox writes waits this long.
    pub latency: std::time::Duration,
    pub groups: RwLock<HashMap<String, Group>>,
    /// Newsletters (channels) by id digits.
    pub newsletters: RwLock<HashMap<String, Newsletter>>,
    pub media: RwLock<HashMap<String, bytes::Bytes>>,
    pub media_token: String,
    pub relay_log: Mutex<VecDeque<LogEntry>>,
    /// phone -> last announced availability.
    pub presence: RwLock<HashMap<String, bool>>,
    /// Connected devices whose last word was "available".
    pub available_devices: RwLock<HashSet<DevKey>>,
    /// phone -> devices subscribed to its presence.
    pub presence_subs: RwLock<HashMap<String, HashSet<DevKey>>>,
    /// phone -> the phones it blocked, with when (unix seconds).
    pub blocklists: RwLock<HashMap<String, BTreeMap<String, i64>>>,
    /// Profile pictures by owner: a phone number or a group id.
    pub pictures: RwLock<HashMap<String, Picture>>,
    /// Direct messages already relayed, by (sender phone, recipient, id):
    /// a message sent again under the same id (a client retrying after a
    /// crash) is acked but not delivered twice, as WhatsApp does.
    pub relayed: Mutex<RelayedIds>,
    /// phone -> the chats it already held before its devices linked
    /// (`history.rs`), pushed to each device it links.
    pub histories: RwLock<HashMap<String, Vec<crate::history::SeedChat>>>,
    /// Calls the phones placed and what each device answered.
    pub calls: Mutex<Calls>,
    /// Each account's app-state collections (`app_state.rs`).
    pub app_state: RwLock<AppStateLog>,
    /// The statuses relayed (`crate::status`), for the admin API.
    pub statuses: Mutex<crate::status::StatusLog>,
    next_conn: AtomicU64,
    /// In-process bot clients (`echo-bot` feature), stopped on shutdown.
    #[cfg(feature = "echo-bot")]
    pub bots: Mutex<Vec<whatsapp_rust::bot::BotHandle>>,
    /// Fired on `shutdown`: every connection task ends.
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl State {
    pub fn new(identity: ServerIdentity, data_dir: Option<PathBuf>, http_base: &str) -> Self {
        let media_host = http_base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let (shutdown, _) = tokio::sync::watch::channel(false);
        Self {
            identity,
            data_dir,
            media_host,
            phones: RwLock::default(),
            lid_to_phone: RwLock::default(),
            devices: RwLock::default(),
            conns: RwLock::default(),
            conflicts: Mutex::default(),
            handshakes: Default::default(),
            pairing_refs: RwLock::default(),
            pair_codes: RwLock::default(),
            primary_hellos: Mutex::default(),
            awaiting_sign: Mutex::default(),
            pending: Mutex::default(),
            latency: std::time::Duration::ZERO,
            groups: RwLock::default(),
            newsletters: RwLock::default(),
            media: RwLock::default(),
            media_token: crate::nodes::new_id(),
            relay_log: Mutex::default(),
            presence: RwLock::default(),
            available_devices: RwLock::default(),
            presence_subs: RwLock::default(),
            blocklists: RwLock::default(),
            pictures: RwLock::default(),
            relayed: Mutex::default(),
            histories: RwLock::default(),
            calls: Mutex::default(),
            app_state: RwLock::default(),
            statuses: Mutex::default(),
            next_conn: AtomicU64::new(1),
            #[cfg(feature = "echo-bot")]
            bots: Mutex::default(),
            shutdown,
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

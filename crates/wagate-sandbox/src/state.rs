//! The sandbox's shared world: virtual phones (accounts), their linked
//! devices with the key material those devices published, the live
//! connections, pending QR refs, what each device has not acked yet
//! (`pending.rs`), groups, media blobs and the relay log.
//!
//! Everything is behind short-lived `std::sync` locks keyed by jid; no lock is
//! ever held across an `.await`, so one slow connection never stalls another.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use wacore_binary::{Jid, Node};
use wacore_libsignal::protocol::{KeyPair, PrivateKey};

use crate::noise::ServerIdentity;
use crate::pending::Pending;

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

/// `"628123450001:3"` — phone plus device id; the key of every per-device map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DevKey {
    pub phone: String,
    pub device: u16,
}

impl DevKey {
    pub fn new(phone: impl Into<String>, device: u16) -> Self {
        Self {
            phone: phone.into(),
            device,
        }
    }
    pub fn jid(&self) -> Jid {
        Jid::pn_device(self.phone.as_str(), self.device)
    }
    /// `phone:dev@s.whatsapp.net` (device 0 renders without `:0`).
    pub fn jid_string(&self) -> String {
        self.jid().to_string()
    }
}

/// Serde helper: a Curve25519 key pair stored as its private key.
#[derive(Clone)]
pub struct StoredKeyPair(pub KeyPair);

impl StoredKeyPair {
    pub fn generate() -> Self {
        Self(KeyPair::generate(&mut rand::rng()))
    }
    pub fn public(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.public_key.public_key_bytes());
        out
    }
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.0
            .private_key
            .calculate_signature(msg, &mut rand::rng())
            .map(|s| s.to_vec())
            .unwrap_or_default()
    }
}

impl Serialize for StoredKeyPair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.private_key.serialize()))
    }
}

impl<'de> Deserialize<'de> for StoredKeyPair {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let h = String::deserialize(d)?;
        let raw = hex::decode(h).map_err(D::Error::custom)?;
        let private = PrivateKey::deserialize(&raw).map_err(|e| D::Error::custom(e.to_string()))?;
        let public = private
            .public_key()
            .map_err(|e| D::Error::custom(e.to_string()))?;
        Ok(Self(KeyPair::new(public, private)))
    }
}

/// A signed pre-key as published by a device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedPreKey {
    pub id: u32,
    pub public: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A virtual phone: the account that devices link to. The sandbox plays it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Phone {
    pub phone: String,
    pub push_name: String,
    /// The account's LID user part (`<lid>@lid`).
    pub lid: String,
    /// ADV account signature key (the phone's identity key).
    pub account: StoredKeyPair,
    /// ADV raw id of the account, constant across devices.
    pub raw_id: u32,
    pub next_device: u16,
    pub banned_until: Option<i64>,
    pub bot: Option<String>,
    pub created_at: i64,
    /// The phone's own (device 0) Signal bundle, so companions can open a
    /// session with their primary the way they do on WhatsApp.
    pub phone_registration_id: u32,
    pub phone_signed_prekey: StoredKeyPair,
    pub phone_signed_prekey_sig: Vec<u8>,
}

/// A linked companion device.
#[derive(Clone, Serialize, Deserialize)]
pub struct Device {
    pub key: DevKey,
    /// The device's static Noise key; logins must present it.
    pub noise_pub: Vec<u8>,
    pub identity: Vec<u8>,
    pub registration_id: u32,
    pub signed_prekey: Option<SignedPreKey>,
    #[serde(default)]
    pub prekeys: VecDeque<(u32, Vec<u8>)>,
    /// `ADVSignedDeviceIdentity` bytes (account-signed; device-signed once the
    /// client answered `pair-device-sign`).
    pub signed_identity: Vec<u8>,
    pub key_index: u32,
    pub linked: bool,
    pub logged_out: bool,
    /// The phone already shared an app-state key with this device.
    #[serde(default)]
    pub key_shared: bool,
    pub platform: String,
    pub created_at: i64,
}

/// Registration data a new device sent in its ClientPayload.
#[derive(Clone, Debug)]
pub struct Registration {
    pub identity: Vec<u8>,
    pub registration_id: u32,
    pub signed_prekey: SignedPreKey,
    pub platform: String,
}

/// A QR ref handed to a pairing connection.
#[derive(Clone)]
pub struct PendingRef {
    pub conn: ConnHandle,
    pub noise_pub: [u8; 32],
    pub registration: Registration,
    pub expires_at: i64,
}

/// A pairing connection that asked for a phone-number pairing code.
#[derive(Clone)]
pub struct PendingPairCode {
    pub conn: ConnHandle,
    pub noise_pub: [u8; 32],
    pub registration: Registration,
    pub phone: String,
    pub wrapped_ephemeral: Vec<u8>,
    pub expires_at: i64,
}

/// A pair-success sent to a pairing connection, waiting for `pair-device-sign`.
#[derive(Clone)]
pub struct AwaitingSign {
    pub iq_id: String,
    pub device: DevKey,
}

/// One row of the relay log — metadata only, never content.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub id: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub timestamp: i64,
}

/// A group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub subject: String,
    pub subject_owner: String,
    pub subject_time: i64,
    pub description: Option<String>,
    pub description_id: Option<String>,
    pub creator: String,
    pub created_at: i64,
    /// phone -> is admin.
    pub participants: BTreeMap<String, bool>,
    pub invite_code: String,
    pub announce: bool,
    pub locked: bool,
}

impl Group {
    pub fn jid_string(&self) -> String {
        format!("{}@g.us", self.id)
    }
}

const RELAY_LOG_CAP: usize = 100_000;

/// The whole sandbox world.
pub struct State {
    pub identity: ServerIdentity,
    pub data_dir: Option<PathBuf>,
    pub media_host: String,
    pub phones: RwLock<HashMap<String, Phone>>,
    pub lid_to_phone: RwLock<HashMap<String, String>>,
    pub devices: RwLock<HashMap<DevKey, Device>>,
    pub conns: RwLock<HashMap<DevKey, ConnHandle>>,
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
    pub media: RwLock<HashMap<String, bytes::Bytes>>,
    pub media_token: String,
    pub relay_log: Mutex<VecDeque<LogEntry>>,
    /// phone -> last announced availability.
    pub presence: RwLock<HashMap<String, bool>>,
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
            pairing_refs: RwLock::default(),
            pair_codes: RwLock::default(),
            primary_hellos: Mutex::default(),
            awaiting_sign: Mutex::default(),
            pending: Mutex::default(),
            latency: std::time::Duration::ZERO,
            groups: RwLock::default(),
            media: RwLock::default(),
            media_token: crate::nodes::new_id(),
            relay_log: Mutex::default(),
            presence: RwLock::default(),
            presence_subs: RwLock::default(),
            blocklists: RwLock::default(),
            pictures: RwLock::default(),
            relayed: Mutex::default(),
            next_conn: AtomicU64::new(1),
            #[cfg(feature = "echo-bot")]
            bots: Mutex::default(),
            shutdown,
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn phone(&self, phone: &str) -> Option<Phone> {
        read(&self.phones).get(phone).cloned()
    }

    pub fn phone_exists(&self, phone: &str) -> bool {
        read(&self.phones).contains_key(phone)
    }

    /// Resolves a user part that may be a phone number or a LID to the phone.
    pub fn resolve_user(&self, jid: &Jid) -> Option<String> {
        if jid.is_lid() {
            read(&self.lid_to_phone).get(jid.user.as_str()).cloned()
        } else if self.phone_exists(&jid.user) {
            Some(jid.user.to_string())
        } else {
            None
        }
    }

    pub fn device(&self, key: &DevKey) -> Option<Device> {
        read(&self.devices).get(key).cloned()
    }

    /// Linked, not-logged-out devices of a phone, sorted by id.
    pub fn devices_of(&self, phone: &str) -> Vec<Device> {
        let mut v: Vec<Device> = read(&self.devices)
            .values()
            .filter(|d| d.key.phone == phone && d.linked && !d.logged_out)
            .cloned()
            .collect();
        v.sort_by_key(|d| d.key.device);
        v
    }

    pub fn conn(&self, key: &DevKey) -> Option<ConnHandle> {
        read(&self.conns).get(key).cloned()
    }

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

    pub fn log(&self, entry: LogEntry) {
        let mut log = lock(&self.relay_log);
        if log.len() >= RELAY_LOG_CAP {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Writes phones, devices and groups to `data_dir` (if configured).
    pub fn persist(&self) {
        let Some(dir) = &self.data_dir else { return };
        // Taken first, alone: no other lock is held while `pending` is.
        let pending = self.pending_snapshot();
        let snapshot = Snapshot {
            phones: read(&self.phones).values().cloned().collect(),
            devices: read(&self.devices).values().cloned().collect(),
            groups: read(&self.groups).values().cloned().collect(),
            blocklists: read(&self.blocklists).clone(),
            pictures: read(&self.pictures).values().cloned().collect(),
            pending,
        };
        match serde_json::to_vec(&snapshot) {
            Ok(bytes) => {
                let tmp = dir.join("state.json.tmp");
                if std::fs::write(&tmp, bytes).is_ok() {
                    let _ = std::fs::rename(&tmp, dir.join("state.json"));
                }
            }
            Err(e) => tracing::warn!("sandbox: cannot serialize state: {e}"),
        }
    }

    /// Loads what [`persist`] wrote.
    pub fn restore(&self) {
        let Some(dir) = &self.data_dir else { return };
        let Ok(bytes) = std::fs::read(dir.join("state.json")) else {
            return;
        };
        let snapshot: Snapshot = match serde_json::from_slice(&bytes) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("sandbox: ignoring unreadable state.json: {e}");
                return;
            }
        };
        let mut phones = write(&self.phones);
        let mut lids = write(&self.lid_to_phone);
        for p in snapshot.phones {
            lids.insert(p.lid.clone(), p.phone.clone());
            phones.insert(p.phone.clone(), p);
        }
        let mut devices = write(&self.devices);
        for d in snapshot.devices {
            devices.insert(d.key.clone(), d);
        }
        let mut groups = write(&self.groups);
        for g in snapshot.groups {
            groups.insert(g.id.clone(), g);
        }
        *write(&self.blocklists) = snapshot.blocklists;
        let mut pictures = write(&self.pictures);
        for p in snapshot.pictures {
            pictures.insert(p.owner.clone(), p);
        }
        drop((phones, lids, devices, groups, pictures));
        let mut pending = lock(&self.pending);
        for stored in snapshot.pending {
            for raw in stored.stanzas {
                match decode_stanza(&raw) {
                    Some(node) => pending.push(&stored.device, node, None),
                    None => tracing::warn!("sandbox: ignoring an unreadable pending stanza"),
                }
            }
        }
    }

    /// Every device's unacked stanzas, marshalled, for `state.json`.
    fn pending_snapshot(&self) -> Vec<StoredPending> {
        lock(&self.pending)
            .all()
            .map(|(device, queue)| StoredPending {
                device: device.clone(),
                stanzas: queue
                    .iter()
                    .filter_map(|e| wacore_binary::marshal::marshal(&e.node).ok())
                    .map(hex::encode)
                    .collect(),
            })
            .collect()
    }
}

fn decode_stanza(hex_bytes: &str) -> Option<Node> {
    let raw = hex::decode(hex_bytes).ok()?;
    let unpacked = wacore_binary::util::unpack(&raw).ok()?;
    let node = wacore_binary::marshal::unmarshal_ref(&unpacked).ok()?;
    Some(node.to_owned())
}

/// One device's unacked stanzas in `state.json` (marshalled, hex): what a
/// restarted sandbox still owes it.
#[derive(Serialize, Deserialize)]
struct StoredPending {
    device: DevKey,
    stanzas: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    phones: Vec<Phone>,
    devices: Vec<Device>,
    groups: Vec<Group>,
    #[serde(default)]
    blocklists: HashMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pictures: Vec<Picture>,
    #[serde(default)]
    pending: Vec<StoredPending>,
}

/// A profile picture: the bytes as set (JPEG), served at
/// `/pp/{owner}/{id}.jpg` on the sandbox's HTTP listener.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Picture {
    /// A phone number or a group id.
    pub owner: String,
    /// Changes with every new picture (unix milliseconds, strictly rising).
    pub id: String,
    #[serde(with = "hex_bytes")]
    pub data: bytes::Bytes,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let h = String::deserialize(d)?;
        hex::decode(h)
            .map(bytes::Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

impl State {
    /// Whether `phone` blocked `other`.
    pub fn has_blocked(&self, phone: &str, other: &str) -> bool {
        read(&self.blocklists)
            .get(phone)
            .is_some_and(|b| b.contains_key(other))
    }
}

/// Poison-tolerant lock helpers: a panicked holder must not take the sandbox down.
pub fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
pub fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
pub fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

/// The ids of the last [`RelayedIds::CAPACITY`] relayed direct messages.
#[derive(Default)]
pub struct RelayedIds {
    order: VecDeque<(String, String, String)>,
    seen: HashSet<(String, String, String)>,
}

impl RelayedIds {
    pub const CAPACITY: usize = 200_000;

    /// Records a message; false when it was relayed before.
    pub fn first_time(&mut self, from: &str, to: &str, id: &str) -> bool {
        let key = (from.to_string(), to.to_string(), id.to_string());
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() >= Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(key.clone());
        self.order.push_back(key);
        true
    }
}

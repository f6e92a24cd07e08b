//! Persistence: the `state.json` snapshot of phones, devices, groups, newsletters,
//! blocklists, pictures, app state and unacked stanzas, written on changes and read
//! back on start when the sandbox has a data dir.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use wacore_binary::Node;

use super::{
    AppStateLog, DevKey, Device, Group, Newsletter, Phone, Picture, State, lock, read, write,
};

impl State {
    /// Writes phones, devices and groups to `data_dir` (if configured).
    pub fn persist(&self) {
        let Some(dir) = &self.data_dir else { return };
        // Taken first, alone: no other lock is held while `pending` is.
        let pending = self.pending_snapshot();
        let snapshot = Snapshot {
            phones: read(&self.phones).values().cloned().collect(),
            devices: read(&self.devices).values().cloned().collect(),
            groups: read(&self.groups).values().cloned().collect(),
            newsletters: read(&self.newsletters).values().cloned().collect(),
            blocklists: read(&self.blocklists).clone(),
            pictures: read(&self.pictures).values().cloned().collect(),
            app_state: app_state_snapshot(&read(&self.app_state)),
            pending,
            histories: read(&self.histories).clone(),
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
        *write(&self.histories) = snapshot.histories;
        let mut newsletters = write(&self.newsletters);
        for n in snapshot.newsletters {
            newsletters.insert(n.id.clone(), n);
        }
        drop(newsletters);
        let mut pictures = write(&self.pictures);
        for p in snapshot.pictures {
            pictures.insert(p.owner.clone(), p);
        }
        drop((phones, lids, devices, groups, pictures));
        *write(&self.app_state) = app_state_restore(snapshot.app_state);
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

/// The app-state log as hex strings, for `state.json`.
fn app_state_snapshot(log: &AppStateLog) -> StoredAppState {
    log.iter()
        .map(|(phone, cols)| {
            let cols = cols
                .iter()
                .map(|(name, patches)| (name.clone(), patches.iter().map(hex::encode).collect()))
                .collect();
            (phone.clone(), cols)
        })
        .collect()
}

fn app_state_restore(stored: StoredAppState) -> AppStateLog {
    stored
        .into_iter()
        .map(|(phone, cols)| {
            let cols = cols
                .into_iter()
                .map(|(name, patches)| {
                    let patches = patches.iter().filter_map(|h| hex::decode(h).ok()).collect();
                    (name, patches)
                })
                .collect();
            (phone, cols)
        })
        .collect()
}

/// phone -> collection -> patches (hex), version order.
type StoredAppState = HashMap<String, BTreeMap<String, Vec<String>>>;

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
    newsletters: Vec<Newsletter>,
    #[serde(default)]
    blocklists: HashMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pictures: Vec<Picture>,
    #[serde(default)]
    pending: Vec<StoredPending>,
    #[serde(default)]
    histories: HashMap<String, Vec<crate::history::SeedChat>>,
    #[serde(default)]
    app_state: StoredAppState,
}

//! Accounts: the virtual phones, their linked devices and the per-device key
//! (`DevKey`) every per-device map uses, with the lookups over them. The
//! phones and devices are what the sandbox plays and persists.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use wacore_binary::Jid;

use super::{SignedPreKey, State, StoredKeyPair, read};

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

/// A virtual phone: the account that devices link to. The sandbox plays it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Phone {
    pub phone: String,
    pub push_name: String,
    /// The account's LID user part (`<lid>@lid`).
    pub lid: String,
    /// Addressed by its LID, as WhatsApp does for more and more people
    /// (`"lid": true` on create): what it sends reaches others from
    /// `<lid>@lid` with its phone number beside (`sender_pn`), and usync
    /// reveals its LID ↔ phone-number mapping. Other phones' LIDs stay
    /// private, and they are addressed by phone number.
    #[serde(default)]
    pub lid_addressed: bool,
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
    /// The app-state sync key the phone shares with every device it links
    /// (made with the first link).
    #[serde(default)]
    pub app_state_key: Option<super::AppStateKey>,
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

impl State {
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

    /// `(lid, phone)` of a LID-addressed phone; `None` for any other.
    pub fn lid_addressed(&self, phone: &str) -> Option<(String, String)> {
        read(&self.phones)
            .get(phone)
            .filter(|p| p.lid_addressed)
            .map(|p| (p.lid.clone(), p.phone.clone()))
    }

    /// How a device of `key`'s phone is named to other accounts: its
    /// LID device JID with the phone-number JID beside (a LID-addressed
    /// phone), else its phone-number device JID alone.
    pub fn sender_address(&self, key: &DevKey) -> (Jid, Option<Jid>) {
        match self.lid_addressed(&key.phone) {
            Some((lid, phone)) => (
                Jid::lid_device(lid.as_str(), key.device),
                Some(Jid::pn(phone.as_str())),
            ),
            None => (key.jid(), None),
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

    /// Whether `phone` blocked `other`.
    pub fn has_blocked(&self, phone: &str, other: &str) -> bool {
        read(&self.blocklists)
            .get(phone)
            .is_some_and(|b| b.contains_key(other))
    }
}

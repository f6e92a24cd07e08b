//! App state (syncd) per account: the patches each collection holds, in
//! version order, exactly as the devices (or the phone) uploaded them —
//! ciphertext the relay never opens — and the account's one app-state sync
//! key, which the phone shares with every device it links and uses itself
//! when it acts (`appstate::phone`).
//!
//! Patch `n` of a collection is version `n` (1-based). An upload must be
//! built on the head version; one built on an older base is a conflict and
//! the uploader is given what it missed, as WhatsApp does.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use waproto::whatsapp as wa;

use super::{State, read, write};

/// The collections WhatsApp syncs; anything else is refused.
pub const COLLECTIONS: [&str; 5] = [
    "critical_block",
    "critical_unblock_low",
    "regular_high",
    "regular_low",
    "regular",
];

/// Largest patch a device may upload.
pub const MAX_PATCH_BYTES: usize = 256 * 1024;
/// Most patches one collection keeps; further uploads are refused.
pub const MAX_PATCHES: usize = 10_000;

/// The account's app-state sync key (what `keyshare` sends to devices).
#[derive(Clone, Serialize, Deserialize)]
pub struct AppStateKey {
    pub key_id: Vec<u8>,
    pub key_data: Vec<u8>,
}

impl AppStateKey {
    pub fn generate() -> Self {
        let mut key_id = vec![0u8; 6];
        rand::fill(&mut key_id[2..]);
        let mut key_data = vec![0u8; 32];
        rand::fill(key_data.as_mut_slice());
        Self { key_id, key_data }
    }
}

/// phone -> collection -> patches (index `n - 1` holds version `n`).
pub type AppStateLog = HashMap<String, BTreeMap<String, Vec<Vec<u8>>>>;

/// Why an upload was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum UploadError {
    /// Built on `base`, but the collection is at `head`.
    Conflict { head: u64 },
    /// Not a patch, too big, or the collection is full.
    Bad(&'static str),
}

impl State {
    /// The account's sync key, made (and persisted) the first time.
    pub fn app_state_key(&self, phone: &str) -> Option<AppStateKey> {
        let mut phones = write(&self.phones);
        let p = phones.get_mut(phone)?;
        let key = p.app_state_key.get_or_insert_with(AppStateKey::generate);
        Some(key.clone())
    }

    /// The head version of a collection (0 when it holds nothing).
    pub fn app_state_version(&self, phone: &str, collection: &str) -> u64 {
        read(&self.app_state)
            .get(phone)
            .and_then(|c| c.get(collection))
            .map_or(0, |p| p.len() as u64)
    }

    /// The patches after `version`, at most `max`, and whether more follow.
    pub fn app_state_after(
        &self,
        phone: &str,
        collection: &str,
        version: u64,
        max: usize,
    ) -> (Vec<Vec<u8>>, bool) {
        let log = read(&self.app_state);
        let Some(patches) = log.get(phone).and_then(|c| c.get(collection)) else {
            return (Vec::new(), false);
        };
        let from = usize::try_from(version)
            .unwrap_or(usize::MAX)
            .min(patches.len());
        let rest = &patches[from..];
        (rest.iter().take(max).cloned().collect(), rest.len() > max)
    }

    /// Stores `patch` as the next version of `collection` when it was built
    /// on the head; returns the new version. The version is stamped into
    /// the patch (clients send it without one; readers check it).
    pub fn app_state_append(
        &self,
        phone: &str,
        collection: &str,
        base: u64,
        patch: &[u8],
    ) -> Result<u64, UploadError> {
        if patch.len() > MAX_PATCH_BYTES {
            return Err(UploadError::Bad("patch too large"));
        }
        let mut decoded = waproto::codec::syncd_patch_decode(patch)
            .map_err(|_| UploadError::Bad("not a SyncdPatch"))?;
        let mut log = write(&self.app_state);
        let patches = log
            .entry(phone.to_string())
            .or_default()
            .entry(collection.to_string())
            .or_default();
        let head = patches.len() as u64;
        if base != head {
            return Err(UploadError::Conflict { head });
        }
        if patches.len() >= MAX_PATCHES {
            return Err(UploadError::Bad("collection is full"));
        }
        let version = head + 1;
        decoded.version = buffa::MessageField::some(wa::SyncdVersion {
            version: Some(version),
        });
        patches.push(waproto::codec::syncd_patch_to_vec(&decoded));
        Ok(version)
    }

    /// Each collection of an account with its head version.
    pub fn app_state_summary(&self, phone: &str) -> Vec<(String, u64)> {
        read(&self.app_state)
            .get(phone)
            .map(|c| {
                c.iter()
                    .map(|(name, p)| (name.clone(), p.len() as u64))
                    .collect()
            })
            .unwrap_or_default()
    }
}

//! The phone changing its own app state: archive, pin, mute or mark a chat
//! unread, create, change or delete a label and label a chat, on the
//! virtual phone. The phone owns the account's sync key, so
//! it encodes a real mutation patch with wacore-appstate — the same code
//! whatsapp-rust sends patches with — on top of the collection's current
//! ltHash, which it rebuilds from the stored patches' MACs (no decryption
//! needed: the hash is over the value MACs the records carry in clear).

use std::collections::HashMap;

use wacore::appstate::encode::encode_record;
use wacore::appstate::hash::{HashState, generate_patch_mac};
use wacore::appstate::schemas::{self, IndexPart, Schema};
use wacore::appstate::{ExpandedAppStateKeys, expand_app_state_keys};
use waproto::whatsapp as wa;
use waproto::whatsapp::sync_action_value as act;

use crate::nodes::now_millis;
use crate::state::{AppStateKey, State, UploadError};

/// One change the phone makes to one chat.
#[derive(Clone, Copy, Debug)]
pub enum ChatChange {
    Archived(bool),
    Pinned(bool),
    /// Unix seconds; `-1` forever, `0` unmuted.
    MutedUntil(i64),
    MarkedUnread(bool),
}

/// One change the phone makes to its labels (WhatsApp Business).
#[derive(Clone, Debug)]
pub enum LabelChange {
    /// Creates or changes label `id`.
    Edit {
        id: String,
        name: String,
        color: i32,
    },
    /// Deletes label `id`.
    Delete { id: String },
    /// Puts label `id` on `chat_jid` (or takes it off).
    Chat {
        id: String,
        chat_jid: String,
        labeled: bool,
    },
}

/// A mutation the phone encodes: its schema, the variable parts of its
/// index in order, and its value.
pub struct PhoneMutation {
    schema: &'static Schema,
    keys: Vec<String>,
    value: wa::SyncActionValue,
}

impl LabelChange {
    pub fn mutation(&self) -> PhoneMutation {
        let mut value = wa::SyncActionValue {
            timestamp: Some(now_millis()),
            ..Default::default()
        };
        let (schema, keys) = match self {
            Self::Edit { id, name, color } => {
                value.label_edit_action = buffa::MessageField::some(act::LabelEditAction {
                    name: Some(name.clone()),
                    color: Some(*color),
                    deleted: Some(false),
                    ..Default::default()
                });
                (&schemas::LABEL_EDIT, vec![id.clone()])
            }
            Self::Delete { id } => {
                value.label_edit_action = buffa::MessageField::some(act::LabelEditAction {
                    deleted: Some(true),
                    ..Default::default()
                });
                (&schemas::LABEL_EDIT, vec![id.clone()])
            }
            Self::Chat {
                id,
                chat_jid,
                labeled,
            } => {
                value.label_association_action =
                    buffa::MessageField::some(act::LabelAssociationAction {
                        labeled: Some(*labeled),
                        ..Default::default()
                    });
                (&schemas::LABEL_JID, vec![id.clone(), chat_jid.clone()])
            }
        };
        PhoneMutation {
            schema,
            keys,
            value,
        }
    }
}

impl ChatChange {
    pub fn mutation(self, chat_jid: &str) -> PhoneMutation {
        PhoneMutation {
            schema: self.schema(),
            keys: vec![chat_jid.to_string()],
            value: self.value(),
        }
    }

    fn schema(self) -> &'static Schema {
        match self {
            Self::Archived(_) => &schemas::ARCHIVE,
            Self::Pinned(_) => &schemas::PIN,
            Self::MutedUntil(_) => &schemas::MUTE,
            Self::MarkedUnread(_) => &schemas::MARK_CHAT_AS_READ,
        }
    }

    fn value(self) -> wa::SyncActionValue {
        let mut v = wa::SyncActionValue {
            timestamp: Some(now_millis()),
            ..Default::default()
        };
        match self {
            Self::Archived(archived) => {
                v.archive_chat_action = buffa::MessageField::some(act::ArchiveChatAction {
                    archived: Some(archived),
                    ..Default::default()
                });
            }
            Self::Pinned(pinned) => {
                v.pin_action = buffa::MessageField::some(act::PinAction {
                    pinned: Some(pinned),
                });
            }
            Self::MutedUntil(until) => {
                let end = if until > 0 { until * 1000 } else { until };
                v.mute_action = buffa::MessageField::some(act::MuteAction {
                    muted: Some(until != 0),
                    mute_end_timestamp: Some(end),
                    ..Default::default()
                });
            }
            Self::MarkedUnread(unread) => {
                v.mark_chat_as_read_action = buffa::MessageField::some(act::MarkChatAsReadAction {
                    read: Some(!unread),
                    ..Default::default()
                });
            }
        }
        v
    }
}

/// Encodes `change` as the phone, stores it as the next version of its
/// collection and returns (collection, version).
pub fn apply(
    state: &State,
    phone: &str,
    key: &AppStateKey,
    change: &PhoneMutation,
) -> anyhow::Result<(&'static str, u64)> {
    let schema = change.schema;
    let collection = schema.collection.as_str();
    let keys = expand_app_state_keys(&key.key_data);
    let index = action_index(schema, &change.keys)?;
    let mut iv = [0u8; 16];
    rand::fill(&mut iv);
    let (mutation, _) = encode_record(
        wa::syncd_mutation::SyncdOperation::SET,
        &index,
        &change.value,
        &keys,
        &key.key_id,
        &iv,
        schema.version as i32,
    );
    // Another upload may land between reading the head and storing: build
    // again on the new head, as a device does after a conflict.
    for _ in 0..5 {
        let base = state.app_state_version(phone, collection);
        let patch = build_patch(state, phone, collection, base, &keys, key, &mutation)?;
        match state.app_state_append(phone, collection, base, &patch) {
            Ok(version) => return Ok((collection, version)),
            Err(UploadError::Conflict { .. }) => continue,
            Err(UploadError::Bad(why)) => anyhow::bail!("{why}"),
        }
    }
    anyhow::bail!("the collection kept moving")
}

/// The JSON index of an action: its literal, then `keys` in order
/// (`["archive", "<jid>"]`, `["label_jid", "<id>", "<jid>"]`).
fn action_index(schema: &Schema, keys: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut keys = keys.iter();
    let mut parts: Vec<&str> = Vec::new();
    for part in schema.index_parts {
        match part {
            IndexPart::Literal { value } => parts.push(value),
            _ => match keys.next() {
                Some(k) => parts.push(k),
                None => anyhow::bail!("the {} index needs more keys", schema.name),
            },
        }
    }
    Ok(serde_json::to_vec(&parts)?)
}

/// A `SyncdPatch` of one mutation on top of the collection at `base`.
fn build_patch(
    state: &State,
    phone: &str,
    collection: &str,
    base: u64,
    keys: &ExpandedAppStateKeys,
    key: &AppStateKey,
    mutation: &wa::SyncdMutation,
) -> anyhow::Result<Vec<u8>> {
    let (mut hash, values) = current_hash(state, phone, collection, base)?;
    let mutations = vec![mutation.clone()];
    let (_, res) = hash.update_hash(&mutations, |index_mac, _| {
        Ok(values.get(index_mac).cloned())
    });
    res?;
    hash.version = base + 1;
    let mut patch = wa::SyncdPatch {
        snapshot_mac: Some(hash.generate_snapshot_mac(collection, &keys.snapshot_mac)),
        key_id: buffa::MessageField::some(wa::KeyId {
            id: Some(key.key_id.clone()),
        }),
        mutations,
        ..Default::default()
    };
    patch.patch_mac = Some(generate_patch_mac(
        &patch,
        collection,
        &keys.patch_mac,
        hash.version,
    ));
    Ok(waproto::codec::syncd_patch_to_vec(&patch))
}

/// Index MAC -> the value MAC it holds now.
type ValueMacs = HashMap<Vec<u8>, Vec<u8>>;

/// The collection's ltHash at `version` and each index's current value
/// MAC, replayed from the stored patches.
fn current_hash(
    state: &State,
    phone: &str,
    collection: &str,
    version: u64,
) -> anyhow::Result<(HashState, ValueMacs)> {
    let (patches, _) = state.app_state_after(phone, collection, 0, usize::MAX);
    let mut hash = HashState::default();
    let mut values: ValueMacs = HashMap::new();
    for raw in patches.iter().take(version as usize) {
        let patch = waproto::codec::syncd_patch_decode(raw)?;
        let mut in_patch: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let (_, res) = hash.update_hash(&patch.mutations, |index_mac, idx| {
            let is_remove = patch.mutations[idx]
                .operation
                .is_some_and(|op| op == wa::syncd_mutation::SyncdOperation::REMOVE);
            let prev = match in_patch.get(index_mac) {
                Some(v) if !is_remove => Some(v.clone()),
                _ => values.get(index_mac).cloned(),
            };
            if let Some((index, value)) = index_and_value_mac(&patch.mutations[idx]) {
                in_patch.insert(index, value);
            }
            Ok(prev)
        });
        res?;
        for m in &patch.mutations {
            let Some((index, value)) = index_and_value_mac(m) else {
                continue;
            };
            if m.operation
                .is_some_and(|op| op == wa::syncd_mutation::SyncdOperation::REMOVE)
            {
                values.remove(&index);
            } else {
                values.insert(index, value);
            }
        }
        hash.version = patch.version.version.unwrap_or(hash.version + 1);
    }
    Ok((hash, values))
}

/// A record's index MAC and the value MAC at the end of its value blob.
fn index_and_value_mac(m: &wa::SyncdMutation) -> Option<(Vec<u8>, Vec<u8>)> {
    let rec = m.record.as_option()?;
    let index = rec.index.as_option()?.blob.clone()?;
    let value = rec.value.as_option()?.blob.as_deref()?;
    (value.len() >= 32).then(|| (index, value[value.len() - 32..].to_vec()))
}

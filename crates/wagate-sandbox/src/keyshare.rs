//! The app-state sync key the phone shares with a device right after it
//! links (WhatsApp does the same), so the companion finishes its initial
//! sync immediately instead of waiting out its key-share grace period.
//!
//! The phone sends it as itself (`phone_session.rs`): a
//! `protocolMessage{APP_STATE_SYNC_KEY_SHARE}`. Every device of an account
//! gets the account's one key (`Phone::app_state_key`), so what one device
//! uploads the others (and the phone) can read.

use waproto::whatsapp as wa;

use crate::nodes::now_millis;
use crate::state::{AppStateKey, Device, Phone};

/// The key-share message from `phone` to `device`, carrying the account's
/// app-state key.
pub fn message(phone: &Phone, key: &AppStateKey, device: &Device) -> wa::Message {
    wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::APP_STATE_SYNC_KEY_SHARE),
            app_state_sync_key_share: buffa::MessageField::some(
                wa::message::AppStateSyncKeyShare {
                    keys: vec![wa::message::AppStateSyncKey {
                        key_id: buffa::MessageField::some(wa::message::AppStateSyncKeyId {
                            key_id: Some(key.key_id.clone()),
                        }),
                        key_data: buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                            key_data: Some(key.key_data.clone()),
                            fingerprint: buffa::MessageField::some(
                                wa::message::AppStateSyncKeyFingerprint {
                                    raw_id: Some(phone.raw_id),
                                    current_index: Some(device.key_index),
                                    device_indexes: vec![0, device.key_index],
                                },
                            ),
                            timestamp: Some(now_millis()),
                        }),
                    }],
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

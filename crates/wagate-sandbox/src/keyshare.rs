//! The app-state sync key the phone shares with a device right after it
//! links (WhatsApp does the same), so the companion finishes its initial
//! sync immediately instead of waiting out its key-share grace period.
//!
//! The phone sends it as itself (`phone_session.rs`): a
//! `protocolMessage{APP_STATE_SYNC_KEY_SHARE}`. The sandbox holds no app
//! state, so the key never protects anything.

use waproto::whatsapp as wa;

use crate::nodes::now_millis;
use crate::state::{Device, Phone};

/// The key-share message from `phone` to `device`.
pub fn message(phone: &Phone, device: &Device) -> wa::Message {
    let mut key_id = vec![0u8, 0, 0, 0, 0, 0];
    rand::fill(&mut key_id[2..]);
    let mut key_data = vec![0u8; 32];
    rand::fill(key_data.as_mut_slice());
    wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::APP_STATE_SYNC_KEY_SHARE),
            app_state_sync_key_share: buffa::MessageField::some(
                wa::message::AppStateSyncKeyShare {
                    keys: vec![wa::message::AppStateSyncKey {
                        key_id: buffa::MessageField::some(wa::message::AppStateSyncKeyId {
                            key_id: Some(key_id),
                        }),
                        key_data: buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                            key_data: Some(key_data),
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

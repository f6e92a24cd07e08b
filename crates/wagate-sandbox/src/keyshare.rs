//! The virtual phone's one end-to-end message: right after a device links,
//! the primary shares an app-state sync key with it (WhatsApp does the same),
//! so the companion finishes its initial sync immediately instead of waiting
//! out its key-share grace period.
//!
//! This is the phone speaking as itself (device 0), not the relay: the phone
//! opens a Signal session from the bundle the device registered with and
//! encrypts a `protocolMessage{APP_STATE_SYNC_KEY_SHARE}`. Every device of an
//! account gets the account's one key (`Phone::app_state_key`), so what one
//! device uploads the others (and the phone) can read.

use async_trait::async_trait;
use buffa::Message as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, Direction, IdentityChange, IdentityKey, IdentityKeyPair,
    IdentityKeyStore, PreKeyBundle, ProtocolAddress, PublicKey, SessionRecord, SessionStore,
    SignalProtocolError, UsePQRatchet, message_encrypt, process_prekey_bundle,
};
use waproto::whatsapp as wa;

use crate::nodes::{new_id, now_millis, now_secs};
use crate::state::{AppStateKey, Device, Phone};

type SigResult<T> = Result<T, SignalProtocolError>;

struct PhoneIdentity {
    pair: IdentityKeyPair,
    registration_id: u32,
}

#[async_trait]
impl IdentityKeyStore for PhoneIdentity {
    async fn get_identity_key_pair(&self) -> SigResult<IdentityKeyPair> {
        Ok(self.pair.clone())
    }
    async fn get_local_registration_id(&self) -> SigResult<u32> {
        Ok(self.registration_id)
    }
    async fn save_identity(
        &mut self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
    ) -> SigResult<IdentityChange> {
        Ok(IdentityChange::NewOrUnchanged)
    }
    async fn is_trusted_identity(
        &self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
        _direction: Direction,
    ) -> SigResult<bool> {
        Ok(true)
    }
    async fn get_identity(&self, _address: &ProtocolAddress) -> SigResult<Option<IdentityKey>> {
        Ok(None)
    }
}

#[derive(Default)]
struct OneSession(Option<SessionRecord>);

#[async_trait]
impl SessionStore for OneSession {
    async fn load_session(&self, _address: &ProtocolAddress) -> SigResult<Option<SessionRecord>> {
        Ok(self.0.clone())
    }
    async fn has_session(&self, _address: &ProtocolAddress) -> SigResult<bool> {
        Ok(self.0.is_some())
    }
    async fn store_session(
        &mut self,
        _address: &ProtocolAddress,
        record: SessionRecord,
    ) -> SigResult<()> {
        self.0 = Some(record);
        Ok(())
    }
}

/// Builds the `<message>` carrying the encrypted key share from the phone
/// (device 0) to `device`.
pub async fn build(phone: &Phone, key: &AppStateKey, device: &Device) -> anyhow::Result<Node> {
    let spk = device
        .signed_prekey
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("device has no signed pre-key"))?;
    let bundle = PreKeyBundle::new(
        device.registration_id,
        DeviceId::from(u32::from(device.key.device)),
        None,
        spk.id.into(),
        PublicKey::from_djb_public_key_bytes(&spk.public)?,
        spk.signature.clone(),
        IdentityKey::new(PublicKey::from_djb_public_key_bytes(&device.identity)?),
    )?;
    let account = &phone.account.0;
    let mut identity = PhoneIdentity {
        pair: IdentityKeyPair::new(
            IdentityKey::new(account.public_key),
            account.private_key.clone(),
        ),
        registration_id: phone.phone_registration_id,
    };
    let mut sessions = OneSession::default();
    // A `Send` RNG: this future runs on a spawned task.
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    let address = ProtocolAddress::new(&phone.phone, DeviceId::from(u32::from(device.key.device)));
    process_prekey_bundle(
        &address,
        &mut sessions,
        &mut identity,
        &bundle,
        &mut rng,
        UsePQRatchet::No,
    )
    .await?;

    let key_id = key.key_id.clone();
    let key_data = key.key_data.clone();
    let share = wa::Message {
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
    };
    let plaintext = wacore::messages::MessageUtils::pad_message_v2(share.encode_to_vec());
    let ciphertext = message_encrypt(&plaintext, &address, &mut sessions, &mut identity).await?;
    let (enc_type, bytes) = match ciphertext {
        CiphertextMessage::PreKeySignalMessage(m) => ("pkmsg", m.serialized().to_vec()),
        CiphertextMessage::SignalMessage(m) => ("msg", m.serialized().to_vec()),
        _ => anyhow::bail!("unexpected ciphertext type"),
    };
    Ok(NodeBuilder::new("message")
        .attr("from", Jid::pn(phone.phone.as_str()))
        .attr("id", new_id())
        .attr("type", "text")
        .attr("category", "peer")
        .attr("t", now_secs())
        .children([NodeBuilder::new("enc")
            .attr("v", "2")
            .attr("type", enc_type)
            .bytes(bytes)
            .build()])
        .build())
}

//! The virtual phone speaking as itself (device 0) to one of its linked
//! companions, end-to-end encrypted like any WhatsApp message.
//!
//! WhatsApp's phone sends its companions a few messages of its own right
//! after they link: an app-state sync key (`keyshare.rs`) and the chat
//! history it already holds (`history.rs`). This is not the relay (which
//! never decrypts): the phone is a participant, opens a Signal session from
//! the bundle the device registered with, and encrypts each message in it,
//! in order, so the device decrypts them as one conversation.

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

use crate::nodes::{new_id, now_secs};
use crate::state::{Device, Phone};

type SigResult<T> = Result<T, SignalProtocolError>;

/// A Signal session from the phone to one of its devices, for the messages
/// the phone itself sends it.
pub struct PhoneSession {
    phone: String,
    address: ProtocolAddress,
    identity: PhoneIdentity,
    session: OneSession,
}

impl PhoneSession {
    /// Opens the session from the bundle `device` registered with.
    pub async fn open(phone: &Phone, device: &Device) -> anyhow::Result<Self> {
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
        let mut session = OneSession::default();
        // A `Send` RNG: this future runs on a spawned task.
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let address =
            ProtocolAddress::new(&phone.phone, DeviceId::from(u32::from(device.key.device)));
        process_prekey_bundle(
            &address,
            &mut session,
            &mut identity,
            &bundle,
            &mut rng,
            UsePQRatchet::No,
        )
        .await?;
        Ok(Self {
            phone: phone.phone.clone(),
            address,
            identity,
            session,
        })
    }

    /// The `<message>` carrying `message`, encrypted from the phone to the
    /// device.
    pub async fn encrypt(&mut self, message: &wa::Message) -> anyhow::Result<Node> {
        let plaintext = wacore::messages::MessageUtils::pad_message_v2(message.encode_to_vec());
        let ciphertext = message_encrypt(
            &plaintext,
            &self.address,
            &mut self.session,
            &mut self.identity,
        )
        .await?;
        let (enc_type, bytes) = match ciphertext {
            CiphertextMessage::PreKeySignalMessage(m) => ("pkmsg", m.serialized().to_vec()),
            CiphertextMessage::SignalMessage(m) => ("msg", m.serialized().to_vec()),
            _ => anyhow::bail!("unexpected ciphertext type"),
        };
        Ok(NodeBuilder::new("message")
            .attr("from", Jid::pn(self.phone.as_str()))
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
}

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

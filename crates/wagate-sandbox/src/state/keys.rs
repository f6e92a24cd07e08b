//! Key material devices and phones hold: Curve25519 key pairs stored as
//! their private key (so they persist in `state.json`) and signed pre-keys
//! as devices publish them.

use serde::{Deserialize, Serialize};
use wacore_libsignal::protocol::{KeyPair, PrivateKey};

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

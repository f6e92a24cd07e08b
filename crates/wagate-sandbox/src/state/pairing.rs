//! In-flight pairing state: what a new device registered with, the QR refs
//! and pairing codes handed out, and the pair-success waiting for the
//! device's signature. None of it outlives a sandbox restart.

use super::{ConnHandle, DevKey, SignedPreKey};

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

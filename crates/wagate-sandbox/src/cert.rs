//! The sandbox's certificate chain, signed for real.
//!
//! WhatsApp's server proves its Noise static key with a two-step chain: a
//! root key every client pins (`WA_CERT_PUB_KEY`) signs an intermediate
//! certificate, and the intermediate's key signs the leaf, which names the
//! server's static key. The sandbox cannot hold WhatsApp's root, so it has a
//! root of its own: a fixed key pair, public on purpose (this is a test
//! network), whose public half is [`root_public_key`] (printed by
//! `wagate sandbox --print-root-key`). A client that pins the root — whatsmeow,
//! Baileys 7, whatsapp-rust — can be pointed at the sandbox by swapping that
//! one constant in a test build; the chain then verifies exactly as WhatsApp's
//! does (XEdDSA signatures, issuer serial 0, leaf issued by the intermediate,
//! leaf key equal to the handshake's static key).
//!
//! whatsapp-rust 0.7 pins its root as a `const` with no hook to replace it,
//! so wagate's own `sandbox` build still skips the check
//! (`danger-skip-cert-chain-verify`); the chain is nonetheless well signed,
//! and this module's tests verify it step by step with the same primitive.

use buffa::Message as _;
use wacore_libsignal::protocol::{PrivateKey, PublicKey};
use waproto::whatsapp::{self as wa, cert_chain::noise_certificate};

/// The sandbox root's private key. Not a secret: anyone may run a sandbox,
/// and a client only trusts it when built to.
const ROOT_PRIVATE: [u8; 32] = *b"wagate sandbox root key, v1 ....";

/// The intermediate certificate's private key (fixed, like the root, so the
/// chain above the leaf is the same on every run).
const INTERMEDIATE_PRIVATE: [u8; 32] = *b"wagate sandbox intermediate, v1.";

/// WhatsApp's root issues the intermediate with serial 0; so does ours.
const ROOT_SERIAL: u32 = 0;
const INTERMEDIATE_SERIAL: u32 = 1;
const LEAF_SERIAL: u32 = 2;

/// Validity of both certificates: 2023-11-14 to 2100-01-01, so a client's
/// clock checks (`not_before`/`not_after`) pass for as long as anyone runs it.
const NOT_BEFORE: u64 = 1_700_000_000;
const NOT_AFTER: u64 = 4_102_444_800;

fn private(bytes: &[u8; 32]) -> PrivateKey {
    PrivateKey::deserialize(bytes).expect("32 bytes are a Curve25519 private key")
}

fn public_bytes(key: &PrivateKey) -> [u8; 32] {
    let public = key.public_key().expect("a Djb key has a public half");
    public
        .public_key_bytes()
        .try_into()
        .expect("a Curve25519 public key is 32 bytes")
}

/// The public half of the sandbox root: what a client pins instead of
/// WhatsApp's `WA_CERT_PUB_KEY` to verify the sandbox's chain.
pub fn root_public_key() -> [u8; 32] {
    public_bytes(&private(&ROOT_PRIVATE))
}

/// `details` signed by `issuer` (XEdDSA, as WhatsApp signs its chain).
fn certificate(
    details: noise_certificate::Details,
    issuer: &PrivateKey,
) -> wa::cert_chain::NoiseCertificate {
    let details = details.encode_to_vec();
    let signature = issuer
        .calculate_signature(&details, &mut rand::rng())
        .expect("a Djb key signs");
    wa::cert_chain::NoiseCertificate {
        details: Some(details),
        signature: Some(signature.to_vec()),
    }
}

/// The encoded `CertChain` naming `server_static_public` as the server's
/// Noise static key: intermediate signed by the root, leaf by the
/// intermediate.
pub fn chain_for(server_static_public: &[u8; 32]) -> Vec<u8> {
    let root = private(&ROOT_PRIVATE);
    let intermediate_key = private(&INTERMEDIATE_PRIVATE);
    let intermediate = certificate(
        noise_certificate::Details {
            serial: Some(INTERMEDIATE_SERIAL),
            issuer_serial: Some(ROOT_SERIAL),
            key: Some(public_bytes(&intermediate_key).to_vec()),
            not_before: Some(NOT_BEFORE),
            not_after: Some(NOT_AFTER),
        },
        &root,
    );
    let leaf = certificate(
        noise_certificate::Details {
            serial: Some(LEAF_SERIAL),
            issuer_serial: Some(INTERMEDIATE_SERIAL),
            key: Some(server_static_public.to_vec()),
            not_before: Some(NOT_BEFORE),
            not_after: Some(NOT_AFTER),
        },
        &intermediate_key,
    );
    wa::CertChain {
        leaf: buffa::MessageField::some(leaf),
        intermediate: buffa::MessageField::some(intermediate),
    }
    .encode_to_vec()
}

/// Whether `signature` over `details` was made by the key whose public half
/// is `issuer` (the check a pinning client runs at each step).
pub fn signed_by(issuer: &[u8; 32], details: &[u8], signature: &[u8]) -> bool {
    PublicKey::from_djb_public_key_bytes(issuer)
        .map(|key| key.verify_signature(details, signature))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;

//! The server (responder) side of WhatsApp's Noise handshake — XX for new
//! devices, IK for devices that cached our static key, and XXfallback when an
//! IK attempt used a stale key — plus the transport cipher pair the
//! connection uses afterwards.
//!
//! Pure functions over bytes: the connection loop in `conn.rs` does the I/O.
//! Transcript order mirrors the initiator in `wacore-noise` exactly.

use anyhow::{Context, Result, anyhow};
use buffa::Message as _;
use wacore_binary::consts::{
    NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK, WA_CONN_HEADER,
};
use wacore_libsignal::protocol::{KeyPair, PrivateKey};
use wacore_noise::{NoiseCipher, NoiseHandshake};
use waproto::whatsapp as wa;

/// The server's long-lived static Noise key and the certificate chain that
/// names it, signed by the sandbox root (`cert.rs`).
pub struct ServerIdentity {
    keypair: KeyPair,
    public: [u8; 32],
    cert_chain: Vec<u8>,
}

impl ServerIdentity {
    pub fn generate() -> Self {
        Self::from_keypair(KeyPair::generate(&mut rand::rng()))
    }

    /// Restores a persisted static key (32 private-key bytes).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self> {
        let private = PrivateKey::deserialize(bytes).map_err(|e| anyhow!("bad noise key: {e}"))?;
        let public = private
            .public_key()
            .map_err(|e| anyhow!("bad noise key: {e}"))?;
        Ok(Self::from_keypair(KeyPair::new(public, private)))
    }

    fn from_keypair(keypair: KeyPair) -> Self {
        let mut public = [0u8; 32];
        public.copy_from_slice(keypair.public_key.public_key_bytes());
        let cert_chain = crate::cert::chain_for(&public);
        Self {
            keypair,
            public,
            cert_chain,
        }
    }

    pub fn private_bytes(&self) -> Vec<u8> {
        self.keypair.private_key.serialize().to_vec()
    }

    #[cfg(test)]
    pub fn public(&self) -> [u8; 32] {
        self.public
    }
}

/// Transport keys after a completed handshake, with per-direction counters.
pub struct TransportCipher {
    write: NoiseCipher,
    read: NoiseCipher,
    write_counter: u32,
    read_counter: u32,
}

impl TransportCipher {
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let ct = self
            .write
            .encrypt_with_counter(self.write_counter, plaintext)
            .map_err(|e| anyhow!("encrypt: {e}"))?;
        self.write_counter = self
            .write_counter
            .checked_add(1)
            .context("write counter exhausted")?;
        Ok(ct)
    }

    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut buf = ciphertext.to_vec();
        self.read
            .decrypt_in_place_with_counter(self.read_counter, &mut buf)
            .map_err(|e| anyhow!("decrypt: {e}"))?;
        self.read_counter = self
            .read_counter
            .checked_add(1)
            .context("read counter exhausted")?;
        Ok(buf)
    }
}

/// Result of a completed handshake.
pub struct Established {
    pub cipher: TransportCipher,
    /// The client's static Noise public key (proves which device this is).
    pub client_static: [u8; 32],
    pub payload: wa::ClientPayload,
}

/// Responder state between ServerHello and ClientFinish (XX / XXfallback).
pub struct AwaitingFinish {
    noise: NoiseHandshake,
    server_ephemeral: KeyPair,
}

/// What to do with the first client message.
pub enum FirstReply {
    /// IK accepted: send `server_hello`, the session is established.
    Established {
        server_hello: Vec<u8>,
        established: Box<Established>,
    },
    /// XX (or XXfallback after a stale IK): send `server_hello`, then feed
    /// the ClientFinish to [`finish`].
    NeedFinish {
        server_hello: Vec<u8>,
        state: Box<AwaitingFinish>,
    },
}

fn key32(v: &[u8]) -> Result<[u8; 32]> {
    v.try_into().map_err(|_| anyhow!("expected a 32-byte key"))
}

fn split_responder(noise: NoiseHandshake) -> Result<TransportCipher> {
    // `finish` yields (initiator write, initiator read); the responder swaps.
    let (initiator_write, initiator_read) = noise.finish().map_err(|e| anyhow!("split: {e}"))?;
    Ok(TransportCipher {
        write: initiator_read,
        read: initiator_write,
        write_counter: 0,
        read_counter: 0,
    })
}

fn server_hello(ephemeral: &[u8; 32], stat: Option<Vec<u8>>, payload: Vec<u8>) -> Vec<u8> {
    wa::HandshakeMessage {
        server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(ephemeral.to_vec()),
            r#static: stat,
            payload: Some(payload),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn decode_payload(bytes: &[u8]) -> Result<wa::ClientPayload> {
    wa::ClientPayload::decode_from_slice(bytes).map_err(|e| anyhow!("client payload: {e}"))
}

/// Answers the first handshake frame (a `HandshakeMessage` with `client_hello`).
pub fn respond(identity: &ServerIdentity, client_hello_frame: &[u8]) -> Result<FirstReply> {
    let msg = wa::HandshakeMessage::decode_from_slice(client_hello_frame)
        .map_err(|e| anyhow!("handshake message: {e}"))?;
    let hello = msg
        .client_hello
        .into_option()
        .context("no client_hello in first frame")?;
    let eph = key32(hello.ephemeral.as_deref().context("no ephemeral")?)?;
    match (hello.r#static, hello.payload) {
        (Some(enc_static), Some(enc_payload)) => {
            match try_ik(identity, &eph, &enc_static, &enc_payload) {
                Ok(reply) => Ok(reply),
                // The client used a static key we do not hold (we restarted
                // without persistence, or rotated): XXfallback reusing its
                // ephemeral, exactly like WhatsApp's server does.
                Err(_) => xx_reply(identity, &eph, NOISE_PATTERN_XXFALLBACK),
            }
        }
        _ => xx_reply(identity, &eph, NOISE_PATTERN_XX),
    }
}

fn try_ik(
    identity: &ServerIdentity,
    client_eph: &[u8; 32],
    enc_static: &[u8],
    enc_payload: &[u8],
) -> Result<FirstReply> {
    let server_priv = identity.keypair.private_key.serialize();
    let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER)?;
    noise.authenticate(&identity.public);
    noise.authenticate(client_eph);
    noise.mix_shared_secret(server_priv, client_eph)?;
    let client_static = key32(&noise.decrypt(enc_static)?)?;
    noise.mix_shared_secret(server_priv, &client_static)?;
    let payload = decode_payload(&noise.decrypt(enc_payload)?)?;

    let server_eph = KeyPair::generate(&mut rand::rng());
    let server_eph_pub = key32(server_eph.public_key.public_key_bytes())?;
    noise.authenticate(&server_eph_pub);
    noise.mix_shared_secret(server_eph.private_key.serialize(), client_eph)?;
    noise.mix_shared_secret(server_eph.private_key.serialize(), &client_static)?;
    let enc_cert = noise.encrypt(&identity.cert_chain)?;
    let hello = server_hello(&server_eph_pub, None, enc_cert);
    Ok(FirstReply::Established {
        server_hello: hello,
        established: Box::new(Established {
            cipher: split_responder(noise)?,
            client_static,
            payload,
        }),
    })
}

fn xx_reply(identity: &ServerIdentity, client_eph: &[u8; 32], pattern: &str) -> Result<FirstReply> {
    let mut noise = NoiseHandshake::new(pattern, &WA_CONN_HEADER)?;
    noise.authenticate(client_eph);
    let server_eph = KeyPair::generate(&mut rand::rng());
    let server_eph_pub = key32(server_eph.public_key.public_key_bytes())?;
    noise.authenticate(&server_eph_pub);
    noise.mix_shared_secret(server_eph.private_key.serialize(), client_eph)?;
    let enc_static = noise.encrypt(&identity.public)?;
    noise.mix_shared_secret(identity.keypair.private_key.serialize(), client_eph)?;
    let enc_cert = noise.encrypt(&identity.cert_chain)?;
    let hello = server_hello(&server_eph_pub, Some(enc_static), enc_cert);
    Ok(FirstReply::NeedFinish {
        server_hello: hello,
        state: Box::new(AwaitingFinish {
            noise,
            server_ephemeral: server_eph,
        }),
    })
}

/// Consumes the ClientFinish frame of an XX / XXfallback handshake.
pub fn finish(state: AwaitingFinish, client_finish_frame: &[u8]) -> Result<Established> {
    let AwaitingFinish {
        mut noise,
        server_ephemeral,
    } = state;
    let msg = wa::HandshakeMessage::decode_from_slice(client_finish_frame)
        .map_err(|e| anyhow!("handshake message: {e}"))?;
    let cf = msg
        .client_finish
        .into_option()
        .context("no client_finish")?;
    let client_static = key32(&noise.decrypt(cf.r#static.as_deref().context("no static")?)?)?;
    noise.mix_shared_secret(server_ephemeral.private_key.serialize(), &client_static)?;
    let payload = decode_payload(&noise.decrypt(cf.payload.as_deref().context("no payload")?)?)?;
    Ok(Established {
        cipher: split_responder(noise)?,
        client_static,
        payload,
    })
}

/// Strips the connection preamble from the first bytes of a connection: an
/// optional edge-routing pre-intro (`ED\0\x01` + 3-byte length + data), then
/// the 4-byte `WA` header. Returns the remaining bytes, or `None` if more
/// bytes are needed. Errors on a malformed preamble.
pub fn strip_preamble(buf: &[u8]) -> Result<Option<usize>> {
    let mut off = 0usize;
    if buf.len() >= 2 && &buf[..2] == b"ED" {
        if buf.len() < 7 {
            return Ok(None);
        }
        let len = ((buf[4] as usize) << 16) | ((buf[5] as usize) << 8) | buf[6] as usize;
        off = 7 + len;
    }
    if buf.len() < off + 4 {
        return Ok(None);
    }
    if &buf[off..off + 2] != b"WA" {
        return Err(anyhow!("missing WA connection header"));
    }
    Ok(Some(off + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_plain_and_edge_routed() {
        let mut v = WA_CONN_HEADER.to_vec();
        v.extend_from_slice(&[0, 0, 1, 9]);
        assert_eq!(strip_preamble(&v).unwrap(), Some(4));
        let mut e = b"ED\x00\x01\x00\x00\x02ab".to_vec();
        e.extend_from_slice(&WA_CONN_HEADER);
        assert_eq!(strip_preamble(&e).unwrap(), Some(13));
        assert_eq!(strip_preamble(b"WA").unwrap(), None);
        assert!(strip_preamble(b"XXXXXX").is_err());
    }

    #[test]
    fn restores_identity_from_private_bytes() {
        let a = ServerIdentity::generate();
        let b = ServerIdentity::from_private_bytes(&a.private_bytes()).unwrap();
        assert_eq!(a.public(), b.public());
    }
}

//! On-disk encoding of the structured BLOB columns: the server cert chain,
//! app-state sync keys and app-state hash states.
//!
//! Protobuf, byte-compatible with `whatsapp-rust-sqlite-storage`'s
//! `proto/wire.proto` (same messages, field numbers and proto3 rules), so the
//! format is field-tagged (adding a field never corrupts old rows) and rows
//! could be copied between the two backends. The three messages are tiny, so
//! a hand-written encoder/decoder replaces a code generator.

use std::collections::HashMap;

use wacore::appstate::hash::HashState;
use wacore::store::device::{CachedNoiseCert, CachedServerCertChain};
use wacore::store::error::StoreError;
use wacore::store::traits::AppStateSyncKey;

const NOISE_KEY_LEN: usize = 32;
const HASH_STATE_LEN: usize = 128;
const APP_STATE_KEY_LEN: usize = 32;

fn bad(msg: impl Into<String>) -> StoreError {
    StoreError::Serialization(msg.into().into())
}

// --- encoder ---------------------------------------------------------------

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }
    /// proto3: zero is the default and is not written.
    fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, 0);
            self.varint(v);
        }
    }
    fn int64(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }
    fn bool(&mut self, field: u32, v: bool) {
        self.uint(field, u64::from(v));
    }
    /// proto3: empty bytes are the default and are not written.
    fn bytes(&mut self, field: u32, v: &[u8]) {
        if !v.is_empty() {
            self.len_delimited(field, v);
        }
    }
    /// Always written (sub-messages, map entries).
    fn len_delimited(&mut self, field: u32, v: &[u8]) {
        self.tag(field, 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
    }
}

// --- decoder ---------------------------------------------------------------

enum Val<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

struct Dec<'a> {
    buf: &'a [u8],
}

impl<'a> Dec<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or_else(|| bad("truncated varint"))?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.buf.len() < n {
            return Err(bad("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// Next `(field, value)`, or `None` at the end. Unknown wire types that
    /// protobuf still defines (fixed32/64) are skipped.
    fn next(&mut self) -> Result<Option<(u32, Val<'a>)>, StoreError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| bad("field number out of range"))?;
        let val = match key & 7 {
            0 => Val::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Val::Other
            }
            2 => {
                let len =
                    usize::try_from(self.varint()?).map_err(|_| bad("length out of range"))?;
                Val::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Val::Other
            }
            t => return Err(bad(format!("unsupported wire type {t}"))),
        };
        if field == 0 {
            return Err(bad("field number 0"));
        }
        Ok(Some((field, val)))
    }
}

// --- server cert chain -------------------------------------------------------

fn encode_noise_cert(c: &CachedNoiseCert) -> Vec<u8> {
    let mut e = Enc::default();
    e.bytes(1, &c.key);
    e.int64(2, c.not_before);
    e.int64(3, c.not_after);
    e.0
}

fn decode_noise_cert(buf: &[u8]) -> Result<CachedNoiseCert, StoreError> {
    let mut key: &[u8] = &[];
    let (mut not_before, mut not_after) = (0i64, 0i64);
    let mut d = Dec::new(buf);
    while let Some((field, val)) = d.next()? {
        match (field, val) {
            (1, Val::Bytes(b)) => key = b,
            (2, Val::Varint(v)) => not_before = v as i64,
            (3, Val::Varint(v)) => not_after = v as i64,
            _ => {}
        }
    }
    let key: [u8; NOISE_KEY_LEN] = key.try_into().map_err(|_| {
        bad(format!(
            "noise_cert.key: expected {NOISE_KEY_LEN} bytes, got {}",
            key.len()
        ))
    })?;
    Ok(CachedNoiseCert {
        key,
        not_before,
        not_after,
    })
}

pub(crate) fn encode_server_cert_chain(c: &CachedServerCertChain) -> Vec<u8> {
    let mut e = Enc::default();
    e.len_delimited(1, &encode_noise_cert(&c.intermediate));
    e.len_delimited(2, &encode_noise_cert(&c.leaf));
    e.0
}

pub(crate) fn decode_server_cert_chain(buf: &[u8]) -> Result<CachedServerCertChain, StoreError> {
    let (mut intermediate, mut leaf) = (None, None);
    let mut d = Dec::new(buf);
    while let Some((field, val)) = d.next()? {
        match (field, val) {
            (1, Val::Bytes(b)) => intermediate = Some(decode_noise_cert(b)?),
            (2, Val::Bytes(b)) => leaf = Some(decode_noise_cert(b)?),
            _ => {}
        }
    }
    Ok(CachedServerCertChain {
        intermediate: intermediate.ok_or_else(|| bad("server_cert_chain.intermediate missing"))?,
        leaf: leaf.ok_or_else(|| bad("server_cert_chain.leaf missing"))?,
    })
}

// --- app-state sync key --------------------------------------------------------

pub(crate) fn encode_app_state_sync_key(k: &AppStateSyncKey) -> Vec<u8> {
    let mut e = Enc::default();
    e.bytes(1, &k.key_data);
    e.bytes(2, &k.fingerprint);
    e.int64(3, k.timestamp);
    e.0
}

/// Rejects anything that is not a 32-byte master key, like the reference
/// backend: a corrupt row then reads as absent and the key is re-requested.
pub(crate) fn decode_app_state_sync_key(buf: &[u8]) -> Result<AppStateSyncKey, StoreError> {
    let mut key = AppStateSyncKey::default();
    let mut d = Dec::new(buf);
    while let Some((field, val)) = d.next()? {
        match (field, val) {
            (1, Val::Bytes(b)) => key.key_data = b.to_vec(),
            (2, Val::Bytes(b)) => key.fingerprint = b.to_vec(),
            (3, Val::Varint(v)) => key.timestamp = v as i64,
            _ => {}
        }
    }
    if key.key_data.len() != APP_STATE_KEY_LEN {
        return Err(bad(format!(
            "app_state_sync_key.key_data: expected {APP_STATE_KEY_LEN} bytes, got {}",
            key.key_data.len()
        )));
    }
    Ok(key)
}

// --- app-state hash state ------------------------------------------------------

pub(crate) fn encode_hash_state(s: &HashState) -> Vec<u8> {
    let mut e = Enc::default();
    e.uint(1, s.version);
    e.bytes(2, &s.hash);
    // Sorted so the same state always encodes to the same bytes.
    let mut entries: Vec<(&String, &Vec<u8>)> = s.index_value_map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (k, v) in entries {
        let mut entry = Enc::default();
        entry.bytes(1, k.as_bytes());
        entry.bytes(2, v);
        e.len_delimited(3, &entry.0);
    }
    e.bool(4, s.mac_mismatch_fatal);
    e.0
}

pub(crate) fn decode_hash_state(buf: &[u8]) -> Result<HashState, StoreError> {
    let mut version = 0u64;
    let mut hash: &[u8] = &[];
    let mut index_value_map = HashMap::new();
    let mut mac_mismatch_fatal = false;
    let mut d = Dec::new(buf);
    while let Some((field, val)) = d.next()? {
        match (field, val) {
            (1, Val::Varint(v)) => version = v,
            (2, Val::Bytes(b)) => hash = b,
            (3, Val::Bytes(entry)) => {
                let (mut k, mut v): (&[u8], &[u8]) = (&[], &[]);
                let mut ed = Dec::new(entry);
                while let Some((f, val)) = ed.next()? {
                    match (f, val) {
                        (1, Val::Bytes(b)) => k = b,
                        (2, Val::Bytes(b)) => v = b,
                        _ => {}
                    }
                }
                let k = std::str::from_utf8(k)
                    .map_err(|_| bad("hash_state.index_value_map key is not UTF-8"))?;
                index_value_map.insert(k.to_string(), v.to_vec());
            }
            (4, Val::Varint(v)) => mac_mismatch_fatal = v != 0,
            _ => {}
        }
    }
    let hash: [u8; HASH_STATE_LEN] = if hash.is_empty() {
        // proto3 drops an all-default field; an encoder that wrote no hash
        // meant "no hash yet", which is all zeroes.
        [0u8; HASH_STATE_LEN]
    } else {
        hash.try_into().map_err(|_| {
            bad(format!(
                "hash_state.hash: expected {HASH_STATE_LEN} bytes, got {}",
                hash.len()
            ))
        })?
    };
    Ok(HashState {
        version,
        hash,
        index_value_map,
        mac_mismatch_fatal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_cert_chain_roundtrips() {
        let chain = CachedServerCertChain {
            intermediate: CachedNoiseCert {
                key: [0xAB; 32],
                not_before: 1_700_000_000,
                not_after: -5,
            },
            leaf: CachedNoiseCert {
                key: [0xCD; 32],
                not_before: 0,
                not_after: 1_899_999_500,
            },
        };
        let decoded = decode_server_cert_chain(&encode_server_cert_chain(&chain)).unwrap();
        assert_eq!(decoded, chain);
    }

    #[test]
    fn server_cert_chain_rejects_bad_input() {
        assert!(decode_server_cert_chain(&[]).is_err());
        let mut e = Enc::default();
        e.len_delimited(
            1,
            &encode_noise_cert(&CachedNoiseCert {
                key: [1; 32],
                not_before: 1,
                not_after: 2,
            }),
        );
        let mut short = Enc::default();
        short.bytes(1, &[0u8; 5]);
        e.len_delimited(2, &short.0);
        assert!(decode_server_cert_chain(&e.0).is_err());
        assert!(decode_server_cert_chain(&[0x0a, 0x40, 1]).is_err());
    }

    #[test]
    fn known_bytes_match_protobuf() {
        // AppStateSyncKeyWire { key_data: [7; 32], fingerprint: [9], timestamp: 300 }
        let key = AppStateSyncKey {
            key_data: vec![7; 32],
            fingerprint: vec![9],
            timestamp: 300,
        };
        let bytes = encode_app_state_sync_key(&key);
        let mut expected = vec![0x0a, 32];
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0x12, 1, 9, 0x18, 0xac, 0x02]);
        assert_eq!(bytes, expected);
        let back = decode_app_state_sync_key(&bytes).unwrap();
        assert_eq!(back.key_data, key.key_data);
        assert_eq!(back.fingerprint, key.fingerprint);
        assert_eq!(back.timestamp, 300);
    }

    #[test]
    fn app_state_sync_key_rejects_wrong_len() {
        let key = AppStateSyncKey {
            key_data: vec![0; 16],
            fingerprint: vec![],
            timestamp: -1,
        };
        assert!(decode_app_state_sync_key(&encode_app_state_sync_key(&key)).is_err());
    }

    #[test]
    fn hash_state_roundtrips() {
        let mut map = HashMap::new();
        map.insert("idx-a".to_string(), vec![1, 2, 3]);
        map.insert("idx-b".to_string(), vec![]);
        let mut hash = [0u8; 128];
        hash[0] = 0xFF;
        hash[127] = 0x11;
        let state = HashState {
            version: 42,
            hash,
            index_value_map: map.clone(),
            mac_mismatch_fatal: true,
        };
        let decoded = decode_hash_state(&encode_hash_state(&state)).unwrap();
        assert_eq!(decoded.version, 42);
        assert_eq!(decoded.hash, hash);
        assert_eq!(decoded.index_value_map, map);
        assert!(decoded.mac_mismatch_fatal);

        let d = decode_hash_state(&encode_hash_state(&HashState::default())).unwrap();
        assert_eq!(d.version, 0);
        assert_eq!(d.hash, [0u8; 128]);
        assert!(d.index_value_map.is_empty());
        assert!(!d.mac_mismatch_fatal);
    }

    #[test]
    fn hash_state_rejects_wrong_hash_len() {
        let mut e = Enc::default();
        e.uint(1, 1);
        e.bytes(2, &[1u8; 64]);
        assert!(decode_hash_state(&e.0).is_err());
    }
}

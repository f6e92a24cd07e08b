//! Linking new devices, with the sandbox playing the phone.
//!
//! QR: a registering connection gets `<pair-device>` with six refs (the
//! client rotates through them: 60 s, then 20 s each, like WhatsApp). The
//! client renders `ref,noisePub,identityPub,advSecret[,type]`; the admin
//! "scan" finds the connection by ref and sends `<pair-success>` carrying an
//! `ADVSignedDeviceIdentityHMAC`: the inner `ADVSignedDeviceIdentity` is
//! XEdDSA-signed by the phone's account key over `[6,0] ‖ details ‖
//! deviceIdentityPub` and HMAC'd with the QR's adv secret. The client answers
//! `pair-device-sign`; the server then ends the stream with code 515 and the
//! client reconnects as a login.
//!
//! Pairing code: the client sends `<link_code_companion_reg stage=
//! "companion_hello">` with its wrapped ephemeral key; the admin "pair-code"
//! call plays the phone's side of that exchange (see `pair_code.rs`).

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use buffa::Message as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use waproto::whatsapp as wa;

use crate::conn::{Role, Session};
use crate::nodes::{self, new_id, now_secs};
use crate::state::{
    AwaitingSign, ConnHandle, DevKey, Device, PendingRef, Registration, State, lock, read, write,
};

const REF_COUNT: usize = 6;
/// Extra validity on top of the client's own rotation schedule, so a scan of
/// the code on screen right at its edge still works.
const REF_GRACE_SECS: i64 = 10;

const ADV_PREFIX_ACCOUNT_SIGNATURE: &[u8] = &[6, 0];

/// Errors surfaced by the admin API.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
}

/// Sends the `pair-device` refs to a fresh registering connection.
pub fn start(session: &mut Session) {
    let state = session.state.clone();
    let handle = session.handle.clone();
    let Role::Pairing {
        registration,
        noise_pub,
        refs,
    } = &mut session.role
    else {
        return;
    };
    let now = now_secs();
    let mut ref_nodes = Vec::with_capacity(REF_COUNT);
    let mut map = write(&state.pairing_refs);
    let mut deadline = now;
    for i in 0..REF_COUNT {
        let mut raw = [0u8; 18];
        rand::fill(&mut raw);
        let r = format!("2@{}", BASE64_STANDARD.encode(raw));
        deadline += if i == 0 { 60 } else { 20 };
        map.insert(
            r.clone(),
            PendingRef {
                conn: handle.clone(),
                noise_pub: *noise_pub,
                registration: registration.clone(),
                expires_at: deadline + REF_GRACE_SECS,
            },
        );
        ref_nodes.push(NodeBuilder::new("ref").bytes(r.as_bytes().to_vec()).build());
        refs.push(r);
    }
    drop(map);
    handle.send(
        NodeBuilder::new("iq")
            .attr("from", wacore_binary::SERVER_JID)
            .attr("type", "set")
            .attr("id", new_id())
            .attr("xmlns", "md")
            .children([NodeBuilder::new("pair-device").children(ref_nodes).build()])
            .build(),
    );
}

/// Parsed QR string.
struct Qr {
    reference: String,
    noise_pub: Vec<u8>,
    identity_pub: Vec<u8>,
    adv_secret: Vec<u8>,
}

fn parse_qr(qr: &str) -> Result<Qr, PairError> {
    let body = qr
        .trim()
        .strip_prefix("https://wa.me/settings/linked_devices#")
        .unwrap_or(qr.trim());
    let parts: Vec<&str> = body.split(',').collect();
    if parts.len() < 4 || parts[..4].iter().any(|p| p.is_empty()) {
        return Err(PairError::BadRequest(
            "qr must be ref,noisePub,identityPub,advSecret".into(),
        ));
    }
    let dec = |s: &str, what: &str| {
        BASE64_STANDARD
            .decode(s)
            .map_err(|_| PairError::BadRequest(format!("qr {what} is not base64")))
    };
    Ok(Qr {
        reference: parts[0].to_string(),
        noise_pub: dec(parts[1], "noise key")?,
        identity_pub: dec(parts[2], "identity key")?,
        adv_secret: dec(parts[3], "adv secret")?,
    })
}

/// Admin "scan": links the device showing `qr` to `phone`.
pub fn scan(state: &State, phone: &str, qr: &str) -> Result<String, PairError> {
    let qr = parse_qr(qr)?;
    if !state.phone_exists(phone) {
        return Err(PairError::NotFound(format!("unknown phone {phone}")));
    }
    let pending = read(&state.pairing_refs).get(&qr.reference).cloned();
    let Some(pending) = pending else {
        return Err(PairError::NotFound("unknown or expired QR".into()));
    };
    if pending.expires_at < now_secs()
        || pending.noise_pub.as_slice() != qr.noise_pub.as_slice()
        || pending.registration.identity != qr.identity_pub
    {
        return Err(PairError::NotFound("unknown or expired QR".into()));
    }
    link(
        state,
        phone,
        &pending.conn,
        pending.noise_pub,
        &pending.registration,
        &qr.adv_secret,
    )
}

/// Builds the account-signed identity for a new device and sends
/// `pair-success` to the pairing connection. Returns the new device JID.
pub fn link(
    state: &State,
    phone: &str,
    conn: &ConnHandle,
    noise_pub: [u8; 32],
    registration: &Registration,
    adv_secret: &[u8],
) -> Result<String, PairError> {
    // One pairing per connection: retire its refs and pair codes first so a
    // second scan of the same QR is a 404, not a second device.
    {
        let mut refs = write(&state.pairing_refs);
        let before = refs.len();
        refs.retain(|_, p| p.conn.id != conn.id);
        let mut codes = write(&state.pair_codes);
        let before_codes = codes.len();
        codes.retain(|_, p| p.conn.id != conn.id);
        if before == refs.len() && before_codes == codes.len() {
            return Err(PairError::NotFound("pairing already completed".into()));
        }
    }
    let (account, raw_id, lid, push_name, device_id) = {
        let mut phones = write(&state.phones);
        let Some(p) = phones.get_mut(phone) else {
            return Err(PairError::NotFound(format!("unknown phone {phone}")));
        };
        let id = p.next_device.max(1);
        p.next_device = id.saturating_add(1);
        (
            p.account.clone(),
            p.raw_id,
            p.lid.clone(),
            p.push_name.clone(),
            id,
        )
    };
    let key = DevKey::new(phone, device_id);
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(raw_id),
        timestamp: Some(now_secs().max(0) as u64),
        key_index: Some(u32::from(device_id)),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut to_sign = Vec::with_capacity(2 + details.len() + 32);
    to_sign.extend_from_slice(ADV_PREFIX_ACCOUNT_SIGNATURE);
    to_sign.extend_from_slice(&details);
    to_sign.extend_from_slice(&registration.identity);
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(account.public().to_vec()),
        account_signature: Some(account.sign(&to_sign)),
        device_signature: None,
    }
    .encode_to_vec();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(adv_secret)
        .map_err(|_| PairError::BadRequest("bad adv secret".into()))?;
    mac.update(&signed);
    let container = wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed.clone()),
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();

    write(&state.devices).insert(
        key.clone(),
        Device {
            key: key.clone(),
            noise_pub: noise_pub.to_vec(),
            identity: registration.identity.clone(),
            registration_id: registration.registration_id,
            signed_prekey: Some(registration.signed_prekey.clone()),
            prekeys: Default::default(),
            signed_identity: signed,
            key_index: u32::from(device_id),
            linked: false,
            logged_out: false,
            key_shared: false,
            platform: registration.platform.clone(),
            created_at: now_secs(),
        },
    );
    let iq_id = new_id();
    lock(&state.awaiting_sign).insert(
        conn.id,
        AwaitingSign {
            iq_id: iq_id.clone(),
            device: key.clone(),
        },
    );
    let mut success = vec![
        NodeBuilder::new("device-identity").bytes(container).build(),
        NodeBuilder::new("device")
            .attr("jid", key.jid())
            .attr("lid", Jid::lid_device(lid.as_str(), device_id))
            .build(),
        NodeBuilder::new("platform").attr("name", "smba").build(),
    ];
    if !push_name.is_empty() {
        // whatsapp-rust takes the push name from here when present, so a
        // reconnect does not wait for an app-state `setting_pushName`.
        success.push(NodeBuilder::new("biz").attr("name", push_name).build());
    }
    conn.send(
        NodeBuilder::new("iq")
            .attr("from", wacore_binary::SERVER_JID)
            .attr("type", "set")
            .attr("id", iq_id)
            .attr("xmlns", "md")
            .children([NodeBuilder::new("pair-success").children(success).build()])
            .build(),
    );
    Ok(key.jid_string())
}

/// A client `iq type=result|error` on a pairing connection: the answer to
/// our `pair-success` (or the plain ack of `pair-device`).
pub fn on_client_result(session: &Session, node: &Node) {
    let state = &session.state;
    let id = nodes::attr(node, "id").unwrap_or_default();
    let awaiting = lock(&state.awaiting_sign).get(&session.handle.id).cloned();
    let Some(awaiting) = awaiting.filter(|a| a.iq_id == id) else {
        return;
    };
    lock(&state.awaiting_sign).remove(&session.handle.id);
    let signed = nodes::child(node, "pair-device-sign")
        .and_then(|s| nodes::child(s, "device-identity"))
        .and_then(nodes::bytes)
        .map(<[u8]>::to_vec);
    match (nodes::attr(node, "type").as_deref(), signed) {
        (Some("result"), Some(signed)) => {
            if let Some(d) = write(&state.devices).get_mut(&awaiting.device) {
                d.signed_identity = signed;
                d.linked = true;
            }
            state.persist();
            tracing::info!("sandbox: linked {}", awaiting.device.jid_string());
            session.send(NodeBuilder::new("stream:error").attr("code", 515).build());
            session.close();
        }
        _ => {
            tracing::warn!(
                "sandbox: pairing of {} refused by the client",
                awaiting.device.jid_string()
            );
            write(&state.devices).remove(&awaiting.device);
            session.close();
        }
    }
}

/// Drops every pairing artefact of a closed connection. A device whose
/// client vanished before `pair-device-sign` is not linked.
pub fn forget_conn(state: &State, conn_id: u64) {
    write(&state.pairing_refs).retain(|_, p| p.conn.id != conn_id);
    write(&state.pair_codes).retain(|_, p| p.conn.id != conn_id);
    if let Some(a) = lock(&state.awaiting_sign).remove(&conn_id) {
        let mut devices = write(&state.devices);
        if devices.get(&a.device).is_some_and(|d| !d.linked) {
            devices.remove(&a.device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_parsing_rejects_garbage() {
        assert!(parse_qr("nope").is_err());
        assert!(parse_qr("a,!!,b,c").is_err());
        let ok = parse_qr("2@x,AAAA,AAAA,AAAA,1").unwrap();
        assert_eq!(ok.reference, "2@x");
    }
}

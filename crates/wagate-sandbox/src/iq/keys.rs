//! `xmlns="encrypt"`: pre-key upload, count, signed-pre-key rotation and
//! bundle fetch. Uploaded public keys are stored per device; a fetch hands
//! out (and consumes) one one-time pre-key plus the signed pre-key, the
//! identity and, for companions, the ADV `device-identity`. Device 0 is the
//! virtual phone, whose bundle the sandbox generates itself.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::conn::Session;
use crate::nodes::{attr_jid, child, child_bytes, children, iq_error, iq_result};
use crate::state::{DevKey, SignedPreKey, State, StoredKeyPair, write};

pub fn handle(session: &Session, id: &str, ty: &str, node: &Node) -> Node {
    let Some((me, _)) = session.device() else {
        return iq_error(id, 401, "not-authorized");
    };
    let state = &session.state;
    if ty == "get" {
        if child(node, "count").is_some() {
            let n = state.device(me).map(|d| d.prekeys.len()).unwrap_or(0);
            return iq_result(id, vec![NodeBuilder::new("count").attr("value", n).build()]);
        }
        if let Some(key) = child(node, "key") {
            return fetch(state, id, key);
        }
        // `<digest/>` and anything else: an empty answer the client skips.
        return iq_result(id, vec![]);
    }
    // type="set"
    if let Some(rotate) = child(node, "rotate") {
        if let Some(skey) = child(rotate, "skey").and_then(parse_skey)
            && let Some(d) = write(&state.devices).get_mut(me)
        {
            d.signed_prekey = Some(skey);
        }
        state.persist();
        return iq_result(id, vec![]);
    }
    upload(state, me, node);
    iq_result(id, vec![])
}

fn be_id(b: &[u8]) -> Option<u32> {
    match b.len() {
        3 => Some(u32::from_be_bytes([0, b[0], b[1], b[2]])),
        4 => Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        _ => None,
    }
}

fn parse_skey(node: &Node) -> Option<SignedPreKey> {
    Some(SignedPreKey {
        id: be_id(child_bytes(node, "id")?)?,
        public: child_bytes(node, "value")
            .filter(|v| v.len() == 32)?
            .to_vec(),
        signature: child_bytes(node, "signature")
            .filter(|v| v.len() == 64)?
            .to_vec(),
    })
}

fn upload(state: &State, me: &DevKey, node: &Node) {
    let mut keys = Vec::new();
    if let Some(list) = child(node, "list") {
        for k in children(list).iter().filter(|k| k.tag == "key") {
            if let (Some(id), Some(v)) = (
                child_bytes(k, "id").and_then(be_id),
                child_bytes(k, "value").filter(|v| v.len() == 32),
            ) {
                keys.push((id, v.to_vec()));
            }
        }
    }
    let skey = child(node, "skey").and_then(parse_skey);
    let identity = child_bytes(node, "identity").filter(|v| v.len() == 32);
    let regid = child_bytes(node, "registration").and_then(be_id);
    {
        let mut devices = write(&state.devices);
        let Some(d) = devices.get_mut(me) else { return };
        // A re-upload replaces the pool with what the client now holds.
        d.prekeys
            .retain(|(id, _)| !keys.iter().any(|(k, _)| k == id));
        d.prekeys.extend(keys);
        if let Some(s) = skey {
            d.signed_prekey = Some(s);
        }
        if let Some(i) = identity {
            d.identity = i.to_vec();
        }
        if let Some(r) = regid {
            d.registration_id = r;
        }
    }
    state.persist();
}

fn bytes_node(tag: &'static str, b: impl Into<Vec<u8>>) -> Node {
    NodeBuilder::new(tag).bytes(b).build()
}

fn key_node(tag: &'static str, id: u32, public: &[u8], sig: Option<&[u8]>) -> Node {
    let mut kids = vec![
        bytes_node("id", id.to_be_bytes()[1..].to_vec()),
        bytes_node("value", public.to_vec()),
    ];
    if let Some(s) = sig {
        kids.push(bytes_node("signature", s.to_vec()));
    }
    NodeBuilder::new(tag).children(kids).build()
}

fn user_error(jid: &Jid, code: u16, text: &str) -> Node {
    NodeBuilder::new("user")
        .attr("jid", jid.clone())
        .children([NodeBuilder::new("error")
            .attr("code", code)
            .attr("text", text)
            .build()])
        .build()
}

fn fetch(state: &State, id: &str, key: &Node) -> Node {
    let mut users = Vec::new();
    for u in children(key).iter().filter(|u| u.tag == "user") {
        let Some(jid) = attr_jid(u, "jid") else {
            continue;
        };
        let Some(phone) = state.resolve_user(&jid) else {
            users.push(user_error(&jid, 404, "item-not-found"));
            continue;
        };
        users.push(bundle_for(state, &jid, &DevKey::new(phone, jid.device)));
    }
    iq_result(id, vec![NodeBuilder::new("list").children(users).build()])
}

fn bundle_for(state: &State, jid: &Jid, dev: &DevKey) -> Node {
    if dev.device == 0 {
        let Some(p) = state.phone(&dev.phone) else {
            return user_error(jid, 404, "item-not-found");
        };
        // The phone never decrypts, so a fresh one-time key per fetch is fine.
        let otk = StoredKeyPair::generate();
        let otk_id = rand::random::<u32>() & 0x00ff_ffff;
        return NodeBuilder::new("user")
            .attr("jid", jid.clone())
            .children([
                bytes_node(
                    "registration",
                    p.phone_registration_id.to_be_bytes().to_vec(),
                ),
                bytes_node("type", vec![5u8]),
                bytes_node("identity", p.account.public().to_vec()),
                key_node("key", otk_id.max(1), &otk.public(), None),
                key_node(
                    "skey",
                    1,
                    &p.phone_signed_prekey.public(),
                    Some(&p.phone_signed_prekey_sig),
                ),
            ])
            .build();
    }
    let (device, one_time) = {
        let mut devices = write(&state.devices);
        match devices.get_mut(dev) {
            Some(d) if d.linked && !d.logged_out => {
                let otk = d.prekeys.pop_front();
                (d.clone(), otk)
            }
            _ => return user_error(jid, 404, "item-not-found"),
        }
    };
    let Some(skey) = device.signed_prekey.as_ref() else {
        return user_error(jid, 404, "item-not-found");
    };
    let mut kids = vec![
        bytes_node(
            "registration",
            device.registration_id.to_be_bytes().to_vec(),
        ),
        bytes_node("type", vec![5u8]),
        bytes_node("identity", device.identity.clone()),
    ];
    if let Some((kid, kv)) = one_time {
        kids.push(key_node("key", kid, &kv, None));
    }
    kids.push(key_node(
        "skey",
        skey.id,
        &skey.public,
        Some(&skey.signature),
    ));
    kids.push(bytes_node(
        "device-identity",
        device.signed_identity.clone(),
    ));
    NodeBuilder::new("user")
        .attr("jid", jid.clone())
        .children(kids)
        .build()
}

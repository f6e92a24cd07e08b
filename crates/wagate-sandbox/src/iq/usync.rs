//! `xmlns="usync"`: who is on WhatsApp (`contact`), device lists
//! (`devices`, with a key-index list signed by the account key) and LIDs
//! (a LID-addressed phone's mapping, asked either way).
//! A number is on WhatsApp exactly when it was created through the admin API.

use buffa::Message as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use waproto::whatsapp as wa;

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, child, children, iq_result, now_secs};
use crate::state::{Phone, State};

pub fn handle(session: &Session, id: &str, node: &Node) -> Node {
    let state = &session.state;
    let Some(usync) = child(node, "usync") else {
        return iq_result(id, vec![]);
    };
    let protocols: Vec<String> = child(usync, "query")
        .map(|q| children(q).iter().map(|c| c.tag.to_string()).collect())
        .unwrap_or_default();
    let has = |p: &str| protocols.iter().any(|x| x == p);

    let mut users = Vec::new();
    if let Some(list) = child(usync, "list") {
        for u in children(list).iter().filter(|u| u.tag == "user") {
            users.push(user_result(state, u, &has));
        }
    }
    let mut out = NodeBuilder::new("usync");
    for a in ["sid", "mode", "context", "index", "last"] {
        if let Some(v) = attr(usync, a) {
            out = out.attr(a, v);
        }
    }
    iq_result(
        id,
        vec![
            out.children([NodeBuilder::new("list").children(users).build()])
                .build(),
        ],
    )
}

/// Which phone a `<user>` entry asks about, and the JID to answer with.
fn identify(state: &State, u: &Node) -> (Option<String>, Jid) {
    if let Some(jid) = attr_jid(u, "jid") {
        return (state.resolve_user(&jid), jid.to_non_ad());
    }
    let digits: String = child(u, "contact")
        .and_then(crate::nodes::bytes)
        .map(|b| {
            String::from_utf8_lossy(b)
                .chars()
                .filter(char::is_ascii_digit)
                .collect()
        })
        .unwrap_or_default();
    let jid = Jid::pn(digits.as_str());
    let phone = state.phone_exists(&digits).then_some(digits);
    (phone, jid)
}

fn user_result(state: &State, u: &Node, has: &dyn Fn(&str) -> bool) -> Node {
    let (phone, jid) = identify(state, u);
    let account = phone.as_deref().and_then(|p| state.phone(p));
    let mut kids = Vec::new();
    if has("contact") {
        let ty = if account.is_some() { "in" } else { "out" };
        let mut c = NodeBuilder::new("contact").attr("type", ty);
        if let Some(raw) = child(u, "contact").and_then(crate::nodes::bytes) {
            c = c.string_content(String::from_utf8_lossy(raw).to_string());
        }
        kids.push(c.build());
    }
    if has("devices") {
        kids.push(match &account {
            Some(p) => devices_node(state, p),
            None => NodeBuilder::new("devices")
                .children([NodeBuilder::new("error")
                    .attr("code", 404)
                    .attr("text", "not-found")
                    .build()])
                .build(),
        });
    }
    // Only a LID-addressed phone's mapping is revealed; for any other an
    // empty `<lid/>` tells the client there is no mapping to learn, and
    // it keeps addressing the number by phone.
    let lid_mapping = account
        .as_ref()
        .filter(|p| p.lid_addressed)
        .map(|p| (Jid::lid(p.lid.as_str()), Jid::pn(p.phone.as_str())));
    if has("lid") {
        let mut l = NodeBuilder::new("lid");
        if let Some((lid, _)) = lid_mapping.as_ref().filter(|_| !jid.is_lid()) {
            l = l.attr("val", lid.clone());
        }
        kids.push(l.build());
    }
    if has("status")
        && let Some(p) = &account
    {
        kids.push(
            NodeBuilder::new("status")
                .attr("t", p.created_at)
                .string_content("Hey there! I am using WhatsApp.")
                .build(),
        );
    }
    let mut user = NodeBuilder::new("user").attr("jid", jid.clone());
    // Asked by LID: the phone number it stands for.
    if let Some((_, pn)) = lid_mapping.filter(|_| jid.is_lid()) {
        user = user.attr("pn_jid", pn);
    }
    user.children(kids).build()
}

fn devices_node(state: &State, p: &Phone) -> Node {
    let devices = state.devices_of(&p.phone);
    let mut list = vec![NodeBuilder::new("device").attr("id", 0).build()];
    let mut indexes = Vec::new();
    for d in &devices {
        list.push(
            NodeBuilder::new("device")
                .attr("id", d.key.device)
                .attr("key-index", d.key_index)
                .build(),
        );
        indexes.push(d.key_index);
    }
    let hash = format!(
        "2:{}",
        hex::encode(
            devices
                .iter()
                .flat_map(|d| d.key.device.to_be_bytes())
                .collect::<Vec<u8>>()
        )
    );
    let ts = now_secs();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(p.raw_id),
        timestamp: Some(ts.max(0) as u64),
        current_index: indexes.iter().copied().max(),
        valid_indexes: indexes,
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut to_sign = vec![6u8, 2];
    to_sign.extend_from_slice(&details);
    let signed = wa::ADVSignedKeyIndexList {
        account_signature: Some(p.account.sign(&to_sign)),
        account_signature_key: Some(p.account.public().to_vec()),
        details: Some(details),
    }
    .encode_to_vec();
    NodeBuilder::new("devices")
        .children([
            NodeBuilder::new("device-list")
                .attr("hash", hash)
                .children(list)
                .build(),
            NodeBuilder::new("key-index-list")
                .attr("ts", ts)
                .bytes(signed)
                .build(),
        ])
        .build()
}

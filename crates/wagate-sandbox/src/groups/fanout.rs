//! Group message fan-out: the shared `skmsg` to every member device plus
//! the per-device sender-key distribution `<enc>` from `<participants>`.

use std::collections::BTreeMap;

use wacore_binary::{Jid, Node};

use crate::conn::Session;
use crate::nodes::{attr, children, now_secs};
use crate::relay::{self, Fanout};
use crate::state::{DevKey, read};

/// A `<message to="…@g.us">`: the `skmsg` goes to every member device, the
/// sender-key distribution (`<participants>`) only to the devices listed.
pub fn relay_message(session: &Session, node: &Node, to: &Jid, id: &str) {
    let Some((me, my_jid)) = session.device() else {
        return;
    };
    let state = &session.state;
    let group = read(&state.groups).get(to.user.as_str()).cloned();
    let Some(group) = group else {
        session.send(relay::server_ack(
            "message",
            id,
            to,
            Some(("error", "404".into())),
        ));
        return;
    };
    if !group.participants.contains_key(&me.phone) {
        session.send(relay::server_ack(
            "message",
            id,
            to,
            Some(("error", "403".into())),
        ));
        return;
    }
    let ty = attr(node, "type").unwrap_or_else(|| "text".into());
    let skmsg: Vec<Node> = children(node)
        .iter()
        .filter(|c| c.tag == "enc")
        .cloned()
        .collect();
    let mut per_device: BTreeMap<DevKey, Vec<Node>> = relay::participant_targets(state, node)
        .into_iter()
        .collect();
    let shared = relay::shared_children(node);
    let fan = Fanout {
        original: node,
        from: Jid::group(group.id.as_str()),
        participant: Some(my_jid.clone()),
        recipient: None,
        sender_pn: None,
        notify: state
            .phone(&me.phone)
            .map(|p| p.push_name)
            .unwrap_or_default(),
        t: now_secs(),
    };
    for phone in group.participants.keys() {
        for d in state.devices_of(phone) {
            if d.key == *me {
                continue;
            }
            let mut encs = per_device.remove(&d.key).unwrap_or_default();
            encs.extend(skmsg.iter().cloned());
            if encs.is_empty() {
                continue;
            }
            state.deliver(&d.key, fan.build(encs, &shared));
        }
    }
    relay::log_row(state, "message", id, &me.phone, &group.jid_string(), &ty);
    session.send(relay::server_ack("message", id, to, None));
}

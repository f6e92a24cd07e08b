//! Group message fan-out: the shared `skmsg` to every member device plus
//! the per-device sender-key distribution `<enc>` from `<participants>`.

use wacore_binary::{Jid, Node};

use crate::conn::Session;
use crate::nodes::attr;
use crate::relay;
use crate::sender_key::SenderKeyFanout;
use crate::state::read;

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
    let mut fanout = SenderKeyFanout::new(state, node, me, my_jid, Jid::group(group.id.as_str()));
    for phone in group.participants.keys() {
        fanout.deliver_to(phone);
    }
    relay::log_row(state, "message", id, &me.phone, &group.jid_string(), &ty);
    session.send(relay::server_ack("message", id, to, None));
}

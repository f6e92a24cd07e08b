//! The fan-out of a sender-key message — a group message or a status: the
//! one `skmsg` `<enc>` goes to every device of each recipient, together
//! with the sender-key distribution `<enc>` its `<participants>` carry for
//! that device, if any. The sender's own device gets nothing back. Groups
//! and statuses differ only in who the recipients are and what `from`
//! names, so both relay through this.

use std::collections::BTreeMap;

use wacore_binary::{Jid, Node};

use crate::nodes::{children, now_secs};
use crate::relay::{self, Fanout};
use crate::state::{DevKey, State};

pub(crate) struct SenderKeyFanout<'a> {
    state: &'a State,
    me: DevKey,
    skmsg: Vec<Node>,
    per_device: BTreeMap<DevKey, Vec<Node>>,
    shared: Vec<Node>,
    fan: Fanout<'a>,
}

impl<'a> SenderKeyFanout<'a> {
    /// The message `node` from the device `me` (`my_jid`), relayed as
    /// coming from `from` with `participant` the sender's device.
    pub fn new(state: &'a State, node: &'a Node, me: &DevKey, my_jid: &Jid, from: Jid) -> Self {
        let skmsg = children(node)
            .iter()
            .filter(|c| c.tag == "enc")
            .cloned()
            .collect();
        SenderKeyFanout {
            state,
            me: me.clone(),
            skmsg,
            per_device: relay::participant_targets(state, node)
                .into_iter()
                .collect(),
            shared: relay::shared_children(node),
            fan: Fanout {
                original: node,
                from,
                participant: Some(my_jid.clone()),
                recipient: None,
                sender_pn: None,
                notify: state
                    .phone(&me.phone)
                    .map(|p| p.push_name)
                    .unwrap_or_default(),
                t: now_secs(),
            },
        }
    }

    /// Delivers to every linked device of `phone` but the sender's own.
    pub fn deliver_to(&mut self, phone: &str) {
        for d in self.state.devices_of(phone) {
            if d.key == self.me {
                continue;
            }
            let mut encs = self.per_device.remove(&d.key).unwrap_or_default();
            encs.extend(self.skmsg.iter().cloned());
            if !encs.is_empty() {
                self.state
                    .deliver(&d.key, self.fan.build(encs, &self.shared));
            }
        }
    }
}

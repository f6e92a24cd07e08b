//! `w:gp2` notifications: what every member device hears when a group
//! changes, and the `<participant>` lists they carry.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::nodes::{new_id, now_secs};
use crate::state::{Group, State};

/// Sends a `w:gp2` notification with `body` to every device of `phones`.
pub(super) fn notify(state: &State, group: &Group, actor: &str, phones: &[String], body: Node) {
    let node = NodeBuilder::new("notification")
        .attr("from", Jid::group(group.id.as_str()))
        .attr("type", "w:gp2")
        .attr("id", new_id())
        .attr("t", now_secs())
        .attr("participant", Jid::pn(actor))
        .attr(
            "notify",
            state.phone(actor).map(|p| p.push_name).unwrap_or_default(),
        )
        .children([body])
        .build();
    for p in phones {
        for d in state.devices_of(p) {
            state.deliver(&d.key, node.clone());
        }
    }
}

pub(super) fn participants_node(tag: &'static str, phones: &[String]) -> Node {
    NodeBuilder::new(tag)
        .children(phones.iter().map(|p| {
            NodeBuilder::new("participant")
                .attr("jid", Jid::pn(p.as_str()))
                .build()
        }))
        .build()
}

//! The `<group>` node that describes a group (participants with their admin
//! role, description, settings) as `query`, `participating`, `invite` and
//! `create` answer it.

use wacore_binary::Jid;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::state::Group;

pub(super) fn group_node(g: &Group) -> Node {
    let mut kids: Vec<Node> = g
        .participants
        .iter()
        .map(|(p, admin)| {
            let mut b = NodeBuilder::new("participant").attr("jid", Jid::pn(p.as_str()));
            if *admin {
                b = b.attr(
                    "type",
                    if *p == g.creator {
                        "superadmin"
                    } else {
                        "admin"
                    },
                );
            }
            b.build()
        })
        .collect();
    if let Some(d) = &g.description {
        kids.push(
            NodeBuilder::new("description")
                .attr("id", g.description_id.clone().unwrap_or_default())
                .children([NodeBuilder::new("body").string_content(d.as_str()).build()])
                .build(),
        );
    }
    if g.locked {
        kids.push(NodeBuilder::new("locked").build());
    }
    if g.announce {
        kids.push(NodeBuilder::new("announcement").build());
    }
    NodeBuilder::new("group")
        .attr("id", g.id.clone())
        .attr("subject", g.subject.clone())
        .attr("s_o", Jid::pn(g.subject_owner.as_str()))
        .attr("s_t", g.subject_time)
        .attr("creation", g.created_at)
        .attr("creator", Jid::pn(g.creator.as_str()))
        .attr("addressing_mode", "pn")
        .attr("size", g.participants.len())
        .children(kids)
        .build()
}

//! Groups (`xmlns="w:g2"`): create, metadata query, participating list,
//! participant add/remove/promote/demote, subject, description, invite link,
//! leave, lock/announce settings; `w:gp2` notifications to members; and the
//! group message fan-out (the shared `skmsg` to every member device plus the
//! per-device sender-key distribution `<enc>` from `<participants>`).
//! Groups use phone-number addressing.
//!
//! This module answers the `w:g2` iq; the `<group>` node, notifications,
//! membership changes and the message fan-out have their own submodules.

mod fanout;
mod membership;
mod metadata;
mod notify;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, JidExt, Node};

pub use fanout::relay_message;
use membership::{add_members, create, participant_change, remove_members};
use metadata::group_node;
use notify::notify;

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, child, children, iq_error, iq_result, new_id, now_secs};
use crate::state::{State, read, write};

/// Phones in a group (empty when the group is unknown).
pub fn member_phones(state: &State, group_id: &str) -> Vec<String> {
    read(&state.groups)
        .get(group_id)
        .map(|g| g.participants.keys().cloned().collect())
        .unwrap_or_default()
}

/// A `w:g2` iq.
pub fn on_iq(session: &Session, id: &str, ty: &str, node: &Node) -> Node {
    let Some((me, _)) = session.device() else {
        return iq_error(id, 401, "not-authorized");
    };
    let me = me.phone.clone();
    let state = &session.state;
    let to = attr_jid(node, "to");
    let Some(op) = children(node).first() else {
        return iq_error(id, 400, "bad-request");
    };
    let group_id = to
        .as_ref()
        .filter(|j| j.is_group() && !j.user.is_empty())
        .map(|j| j.user.to_string());

    match (op.tag.as_ref(), group_id) {
        ("create", _) => create(state, id, &me, op),
        ("participating", _) => {
            let groups: Vec<Node> = read(&state.groups)
                .values()
                .filter(|g| g.participants.contains_key(&me))
                .map(group_node)
                .collect();
            iq_result(
                id,
                vec![NodeBuilder::new("groups").children(groups).build()],
            )
        }
        ("leave", _) => {
            let ids: Vec<String> = children(op)
                .iter()
                .filter(|c| c.tag == "group")
                .filter_map(|c| attr_jid(c, "id").or_else(|| attr_jid(c, "jid")))
                .map(|j| j.user.to_string())
                .collect();
            for gid in &ids {
                remove_members(state, gid, &me, std::slice::from_ref(&me), "leave");
            }
            iq_result(id, vec![])
        }
        ("invite", None) => {
            // Join by code (set) or inspect (get).
            let code = attr(op, "code").unwrap_or_default();
            let found = read(&state.groups)
                .values()
                .find(|g| g.invite_code == code)
                .cloned();
            let Some(g) = found else {
                return iq_error(id, 404, "item-not-found");
            };
            if ty == "set" {
                add_members(state, &g.id, &me, std::slice::from_ref(&me), "add");
                iq_result(
                    id,
                    vec![
                        NodeBuilder::new("group")
                            .attr("jid", Jid::group(g.id.as_str()))
                            .build(),
                    ],
                )
            } else {
                iq_result(id, vec![group_node(&g)])
            }
        }
        (_, None) => iq_error(id, 404, "item-not-found"),
        (tag, Some(gid)) => {
            let Some(group) = read(&state.groups).get(&gid).cloned() else {
                return iq_error(id, 404, "item-not-found");
            };
            let is_member = group.participants.contains_key(&me);
            let is_admin = group.participants.get(&me).copied().unwrap_or(false);
            if !is_member {
                return iq_error(id, 403, "forbidden");
            }
            match tag {
                "query" => iq_result(id, vec![group_node(&group)]),
                "invite" => {
                    if ty == "set" && !is_admin {
                        return iq_error(id, 403, "forbidden");
                    }
                    let code = if ty == "set" {
                        let c = new_id();
                        if let Some(g) = write(&state.groups).get_mut(&gid) {
                            g.invite_code = c.clone();
                        }
                        c
                    } else {
                        group.invite_code.clone()
                    };
                    iq_result(
                        id,
                        vec![NodeBuilder::new("invite").attr("code", code).build()],
                    )
                }
                "add" | "remove" | "promote" | "demote" => {
                    if !is_admin {
                        return iq_error(id, 403, "forbidden");
                    }
                    participant_change(state, id, &gid, &me, tag, op)
                }
                "subject" => {
                    if group.locked && !is_admin {
                        return iq_error(id, 403, "forbidden");
                    }
                    let subject = op
                        .content_as_string()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let t = now_secs();
                    if let Some(g) = write(&state.groups).get_mut(&gid) {
                        g.subject = subject.clone();
                        g.subject_owner = me.clone();
                        g.subject_time = t;
                    }
                    notify(
                        state,
                        &group,
                        &me,
                        &member_phones(state, &gid),
                        NodeBuilder::new("subject")
                            .attr("subject", subject)
                            .attr("s_o", Jid::pn(me.as_str()))
                            .attr("s_t", t)
                            .build(),
                    );
                    state.persist();
                    iq_result(id, vec![])
                }
                "description" => {
                    if group.locked && !is_admin {
                        return iq_error(id, 403, "forbidden");
                    }
                    let body = child(op, "body")
                        .and_then(|b| b.content_as_string())
                        .map(|s| s.to_string());
                    let did = attr(op, "id").unwrap_or_else(new_id);
                    let deleted = attr(op, "delete").is_some_and(|d| d == "true");
                    if let Some(g) = write(&state.groups).get_mut(&gid) {
                        g.description = if deleted { None } else { body.clone() };
                        g.description_id = Some(did.clone());
                    }
                    let mut d = NodeBuilder::new("description").attr("id", did);
                    if let Some(b) = body.filter(|_| !deleted) {
                        d = d.children([NodeBuilder::new("body").string_content(b).build()]);
                    } else {
                        d = d.children([NodeBuilder::new("delete").build()]);
                    }
                    notify(state, &group, &me, &member_phones(state, &gid), d.build());
                    state.persist();
                    iq_result(id, vec![])
                }
                "locked" | "unlocked" | "announcement" | "not_announcement" => {
                    if !is_admin {
                        return iq_error(id, 403, "forbidden");
                    }
                    if let Some(g) = write(&state.groups).get_mut(&gid) {
                        match tag {
                            "locked" => g.locked = true,
                            "unlocked" => g.locked = false,
                            "announcement" => g.announce = true,
                            _ => g.announce = false,
                        }
                    }
                    notify(
                        state,
                        &group,
                        &me,
                        &member_phones(state, &gid),
                        NodeBuilder::new_dynamic(tag.to_string()).build(),
                    );
                    state.persist();
                    iq_result(id, vec![])
                }
                _ => iq_error(id, 501, "feature-not-implemented"),
            }
        }
    }
}

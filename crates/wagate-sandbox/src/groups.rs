//! Groups (`xmlns="w:g2"`): create, metadata query, participating list,
//! participant add/remove/promote/demote, subject, description, invite link,
//! leave, lock/announce settings; `w:gp2` notifications to members; and the
//! group message fan-out (the shared `skmsg` to every member device plus the
//! per-device sender-key distribution `<enc>` from `<participants>`).
//! Groups use phone-number addressing.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, JidExt, Node};

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, child, children, iq_error, iq_result, new_id, now_secs};
use crate::relay::{self, Fanout};
use crate::state::{DevKey, Group, State, read, write};

/// Phones in a group (empty when the group is unknown).
pub fn member_phones(state: &State, group_id: &str) -> Vec<String> {
    read(&state.groups)
        .get(group_id)
        .map(|g| g.participants.keys().cloned().collect())
        .unwrap_or_default()
}

fn group_node(g: &Group) -> Node {
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

/// Sends a `w:gp2` notification with `body` to every device of `phones`.
fn notify(state: &State, group: &Group, actor: &str, phones: &[String], body: Node) {
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

fn participants_node(tag: &'static str, phones: &[String]) -> Node {
    NodeBuilder::new(tag)
        .children(phones.iter().map(|p| {
            NodeBuilder::new("participant")
                .attr("jid", Jid::pn(p.as_str()))
                .build()
        }))
        .build()
}

fn listed_phones(state: &State, node: &Node) -> Vec<(Jid, Option<String>)> {
    children(node)
        .iter()
        .filter(|c| c.tag == "participant")
        .filter_map(|c| attr_jid(c, "jid"))
        .map(|j| {
            let p = state.resolve_user(&j);
            (j.to_non_ad(), p)
        })
        .collect()
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

fn create(state: &State, id: &str, me: &str, op: &Node) -> Node {
    let subject = attr(op, "subject").unwrap_or_default();
    let mut participants = BTreeMap::new();
    participants.insert(me.to_string(), true);
    // Numbers that are not on WhatsApp are simply not added.
    for (_, phone) in listed_phones(state, op) {
        if let Some(p) = phone {
            participants.entry(p).or_insert(false);
        }
    }
    let now = now_secs();
    let mut raw = [0u8; 8];
    rand::fill(&mut raw);
    let gid = format!("120363{:012}", u64::from_be_bytes(raw) % 1_000_000_000_000);
    let description = child(op, "description")
        .and_then(|d| child(d, "body"))
        .and_then(|b| b.content_as_string())
        .map(|s| s.to_string());
    let group = Group {
        id: gid.clone(),
        subject,
        subject_owner: me.to_string(),
        subject_time: now,
        description_id: description.as_ref().map(|_| new_id()),
        description,
        creator: me.to_string(),
        created_at: now,
        participants,
        invite_code: new_id(),
        announce: false,
        locked: false,
    };
    write(&state.groups).insert(gid.clone(), group.clone());
    state.persist();
    let members: Vec<String> = group.participants.keys().cloned().collect();
    notify(
        state,
        &group,
        me,
        &members,
        NodeBuilder::new("create")
            .children([group_node(&group)])
            .build(),
    );
    iq_result(id, vec![group_node(&group)])
}

fn participant_change(state: &State, id: &str, gid: &str, me: &str, tag: &str, op: &Node) -> Node {
    let listed = listed_phones(state, op);
    let mut ok = Vec::new();
    let mut out = Vec::new();
    for (jid, phone) in listed {
        let Some(p) = phone else {
            out.push(
                NodeBuilder::new("participant")
                    .attr("jid", jid)
                    .attr("error", "404")
                    .build(),
            );
            continue;
        };
        out.push(NodeBuilder::new("participant").attr("jid", jid).build());
        ok.push(p);
    }
    match tag {
        "add" => add_members(state, gid, me, &ok, "add"),
        "remove" => remove_members(state, gid, me, &ok, "remove"),
        _ => {
            let admin = tag == "promote";
            let group = {
                let mut groups = write(&state.groups);
                let Some(g) = groups.get_mut(gid) else {
                    return iq_error(id, 404, "item-not-found");
                };
                for p in &ok {
                    if let Some(a) = g.participants.get_mut(p) {
                        *a = admin;
                    }
                }
                g.clone()
            };
            let members: Vec<String> = group.participants.keys().cloned().collect();
            notify(
                state,
                &group,
                me,
                &members,
                participants_node(if admin { "promote" } else { "demote" }, &ok),
            );
            state.persist();
        }
    }
    iq_result(
        id,
        vec![
            NodeBuilder::new_dynamic(tag.to_string())
                .children(out)
                .build(),
        ],
    )
}

fn add_members(state: &State, gid: &str, actor: &str, phones: &[String], tag: &'static str) {
    let group = {
        let mut groups = write(&state.groups);
        let Some(g) = groups.get_mut(gid) else { return };
        for p in phones {
            g.participants.entry(p.clone()).or_insert(false);
        }
        g.clone()
    };
    let members: Vec<String> = group.participants.keys().cloned().collect();
    notify(
        state,
        &group,
        actor,
        &members,
        participants_node(tag, phones),
    );
    state.persist();
}

fn remove_members(state: &State, gid: &str, actor: &str, phones: &[String], tag: &'static str) {
    let (group, before) = {
        let mut groups = write(&state.groups);
        let Some(g) = groups.get_mut(gid) else { return };
        let before: Vec<String> = g.participants.keys().cloned().collect();
        for p in phones {
            g.participants.remove(p);
        }
        (g.clone(), before)
    };
    // The removed also learn they are out.
    notify(
        state,
        &group,
        actor,
        &before,
        participants_node(if tag == "leave" { "leave" } else { "remove" }, phones),
    );
    state.persist();
}

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

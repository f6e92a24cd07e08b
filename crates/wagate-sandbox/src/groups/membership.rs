//! Who is in a group: creating it with its first members, and adding,
//! removing, promoting and demoting participants (by admins, by invite, or
//! by leaving), each followed by a `w:gp2` notification and a persist.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use super::metadata::group_node;
use super::notify::{notify, participants_node};
use crate::nodes::{attr, attr_jid, child, children, iq_error, iq_result, new_id, now_secs};
use crate::state::{Group, State, write};

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

pub(super) fn create(state: &State, id: &str, me: &str, op: &Node) -> Node {
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

pub(super) fn participant_change(
    state: &State,
    id: &str,
    gid: &str,
    me: &str,
    tag: &str,
    op: &Node,
) -> Node {
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

pub(super) fn add_members(
    state: &State,
    gid: &str,
    actor: &str,
    phones: &[String],
    tag: &'static str,
) {
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

pub(super) fn remove_members(
    state: &State,
    gid: &str,
    actor: &str,
    phones: &[String],
    tag: &'static str,
) {
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

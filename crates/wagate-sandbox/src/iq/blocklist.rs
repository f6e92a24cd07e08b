//! `xmlns="blocklist"`: each account's blocklist, as whatsapp-rust asks
//! for it (`wacore::iq::blocklist`).
//!
//! * `get` → `<list><item jid="628…@s.whatsapp.net" t="…"/>…</list>`. The
//!   sandbox addresses people by phone number, so items carry PN JIDs.
//! * `set` with `<item action="block|unblock" jid=… [pn_jid=…]/>`. The jid
//!   may be a LID (what whatsapp-rust sends once it knows the mapping, with
//!   the PN in `pn_jid`) or a phone number (the form a client without a
//!   LID mapping falls back to). Blocking twice or unblocking someone who is
//!   not blocked succeeds and changes nothing, as on WhatsApp.
//!
//! Errors: an item naming nobody on the sandbox → 404 `item-not-found`; a
//! missing item or action, or blocking oneself → 400 `bad-request`.
//!
//! What a block does elsewhere: the blocked phone's 1:1 messages and chat
//! states to the blocker are dropped (the sender still gets its server ack,
//! like on WhatsApp: one grey tick that never turns into two), and the
//! blocker's profile picture is hidden from it (`picture.rs`).

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::nodes::{attr, attr_jid, child, iq_error, iq_result, now_secs};
use crate::state::{State, read, write};

/// Answers one blocklist IQ of the account `me`.
pub fn handle(state: &State, me: &str, id: &str, ty: &str, node: &Node) -> Node {
    if ty == "get" {
        return iq_result(id, vec![list_node(state, me)]);
    }
    let Some(item) = child(node, "item") else {
        return iq_error(id, 400, "bad-request");
    };
    let action = attr(item, "action").unwrap_or_default();
    if action != "block" && action != "unblock" {
        return iq_error(id, 400, "bad-request");
    }
    let Some(target) = target_phone(state, item) else {
        return iq_error(id, 404, "item-not-found");
    };
    if target == me {
        return iq_error(id, 400, "bad-request");
    }
    let changed = {
        let mut lists = write(&state.blocklists);
        if action == "block" {
            let list = lists.entry(me.to_string()).or_default();
            if list.contains_key(&target) {
                false
            } else {
                list.insert(target.clone(), now_secs());
                true
            }
        } else {
            let removed = lists
                .get_mut(me)
                .is_some_and(|l| l.remove(&target).is_some());
            if lists.get(me).is_some_and(|l| l.is_empty()) {
                lists.remove(me);
            }
            removed
        }
    };
    if changed {
        state.persist();
    }
    iq_result(id, vec![])
}

/// The phone an `<item>` names: its LID or phone-number `jid`, else `pn_jid`.
fn target_phone(state: &State, item: &Node) -> Option<String> {
    attr_jid(item, "jid")
        .and_then(|j| state.resolve_user(&j))
        .or_else(|| attr_jid(item, "pn_jid").and_then(|j| state.resolve_user(&j)))
}

fn list_node(state: &State, me: &str) -> Node {
    let items: Vec<Node> = read(&state.blocklists)
        .get(me)
        .map(|l| {
            l.iter()
                .map(|(phone, t)| {
                    NodeBuilder::new("item")
                        .attr("jid", Jid::pn(phone.as_str()))
                        .attr("t", *t)
                        .build()
                })
                .collect()
        })
        .unwrap_or_default();
    NodeBuilder::new("list").children(items).build()
}

/// `phone`'s blocklist as the admin API shows it.
pub fn admin_view(state: &State, phone: &str) -> Vec<serde_json::Value> {
    read(&state.blocklists)
        .get(phone)
        .map(|l| {
            l.iter()
                .map(|(p, t)| {
                    serde_json::json!({
                        "phone": p,
                        "jid": format!("{p}@s.whatsapp.net"),
                        "since": t,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iq::test_support::{state_with_phones, wire};
    use wacore::iq::blocklist::{BlocklistEntry, GetBlocklistSpec, UpdateBlocklistSpec};
    use wacore::iq::spec::IqSpec;

    fn entries(state: &State, me: &str) -> Vec<BlocklistEntry> {
        let (req, id, ty) = wire(GetBlocklistSpec.build_iq());
        let reply = handle(state, me, &id, &ty, &req);
        assert_eq!(attr(&reply, "type").as_deref(), Some("result"));
        GetBlocklistSpec
            .parse_response(&reply.as_node_ref())
            .expect("whatsapp-rust parses the list")
    }

    fn run(state: &State, me: &str, spec: UpdateBlocklistSpec) -> Node {
        let (req, id, ty) = wire(spec.build_iq());
        handle(state, me, &id, &ty, &req)
    }

    #[test]
    fn block_and_unblock_as_whatsapp_rust_sends_them() {
        let state = state_with_phones(&["628100000001", "628100000002", "628100000003"]);
        let me = "628100000001";
        assert!(entries(&state, me).is_empty());

        // The modern form: jid is the LID, pn_jid the phone number.
        let bob = state.phone("628100000002").unwrap();
        let reply = run(
            &state,
            me,
            UpdateBlocklistSpec::block_with_pn(
                &Jid::lid(bob.lid.as_str()),
                &Jid::pn("628100000002"),
            ),
        );
        assert_eq!(attr(&reply, "type").as_deref(), Some("result"));
        // The fallback form: a phone-number jid only.
        run(
            &state,
            me,
            UpdateBlocklistSpec::block(&Jid::pn("628100000003")),
        );
        let list = entries(&state, me);
        let users: Vec<&str> = list.iter().map(|e| e.jid.user.as_str()).collect();
        assert_eq!(users, ["628100000002", "628100000003"]);
        assert!(list.iter().all(|e| e.timestamp.is_some()));
        assert!(state.has_blocked(me, "628100000002"));
        assert!(!state.has_blocked("628100000002", me));

        // Idempotent both ways.
        run(
            &state,
            me,
            UpdateBlocklistSpec::block(&Jid::pn("628100000003")),
        );
        assert_eq!(entries(&state, me).len(), 2);
        run(
            &state,
            me,
            UpdateBlocklistSpec::unblock(&Jid::lid(bob.lid.as_str())),
        );
        run(
            &state,
            me,
            UpdateBlocklistSpec::unblock(&Jid::lid(bob.lid.as_str())),
        );
        let users: Vec<String> = entries(&state, me)
            .iter()
            .map(|e| e.jid.user.to_string())
            .collect();
        assert_eq!(users, ["628100000003"]);
        // Each account has its own list.
        assert!(entries(&state, "628100000003").is_empty());
    }

    #[test]
    fn unknown_targets_and_self_are_refused() {
        let state = state_with_phones(&["628100000001"]);
        let me = "628100000001";
        let reply = run(
            &state,
            me,
            UpdateBlocklistSpec::block(&Jid::pn("628199999999")),
        );
        assert_eq!(attr(&reply, "type").as_deref(), Some("error"));
        let err = child(&reply, "error").unwrap();
        assert_eq!(attr(err, "code").as_deref(), Some("404"));
        let reply = run(&state, me, UpdateBlocklistSpec::block(&Jid::pn(me)));
        assert_eq!(
            attr(child(&reply, "error").unwrap(), "code").as_deref(),
            Some("400")
        );
        assert!(entries(&state, me).is_empty());
    }
}

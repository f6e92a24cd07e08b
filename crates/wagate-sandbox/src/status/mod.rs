//! Status updates ("stories"): a `<message to="status@broadcast">` relayed
//! to the people its poster chose, like a group message whose members are
//! named by the message itself.
//!
//! A client posts a status the way it writes in a group: one `skmsg` `<enc>`
//! for everyone, plus `<participants>` with a sender-key distribution
//! (`pkmsg`/`msg`) for each device that has not got the key yet and a bare
//! `<to jid="user@lid"/>` for each other person of the audience (and its own
//! user, so its other devices get a copy). The relay sends every device of
//! each person named there its own distribution, if any, and the `skmsg`,
//! `from="status@broadcast"` with `participant` the poster's device — the
//! shape of a group message, which is what a client's sender-key handling
//! expects. Nothing is decrypted; a person who blocked the poster gets
//! nothing. What was relayed (ids and audiences, never content) is kept
//! for `GET /admin/phones/{phone}/statuses` (`routes`).

pub mod routes;

use std::collections::{BTreeSet, VecDeque};

use serde::Serialize;
use wacore_binary::{Jid, Node};

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, children, now_millis};
use crate::relay;
use crate::sender_key::SenderKeyFanout;
use crate::state::{State, lock};

/// Statuses remembered for the admin API (oldest forgotten first).
const STATUS_LOG_CAP: usize = 10_000;

/// One relayed status (metadata only).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayedStatus {
    pub id: String,
    /// The poster's phone number.
    pub from: String,
    /// The stanza type (`text`, `media`): a revoke is a `text` status too.
    #[serde(rename = "type")]
    pub msg_type: String,
    /// The phone numbers it was relayed to (the poster's own excluded).
    pub recipients: Vec<String>,
    pub timestamp: i64,
}

/// The statuses relayed so far.
#[derive(Default)]
pub struct StatusLog {
    entries: VecDeque<RelayedStatus>,
}

impl StatusLog {
    fn record(&mut self, entry: RelayedStatus) {
        // A status sent again (a retry) widens the first record.
        if let Some(old) = self
            .entries
            .iter_mut()
            .find(|e| e.id == entry.id && e.from == entry.from)
        {
            for r in entry.recipients {
                if !old.recipients.contains(&r) {
                    old.recipients.push(r);
                }
            }
            return;
        }
        if self.entries.len() >= STATUS_LOG_CAP {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The statuses `phone` posted, oldest first.
    pub fn posted_by(&self, phone: &str) -> Vec<RelayedStatus> {
        self.entries
            .iter()
            .filter(|e| e.from == phone)
            .cloned()
            .collect()
    }
}

/// The phone of every user a status's `<participants>` names.
fn audience(state: &State, node: &Node) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(p) = node.get_optional_child("participants") {
        for to in children(p).iter().filter(|c| c.tag == "to") {
            if let Some(phone) = attr_jid(to, "jid").and_then(|j| state.resolve_user(&j)) {
                out.insert(phone);
            }
        }
    }
    out
}

/// A `<message to="status@broadcast">` from a client.
pub fn relay_status(session: &Session, node: &Node, to: &Jid, id: &str) {
    let Some((me, my_jid)) = session.device() else {
        return;
    };
    let state = &session.state;
    let ty = attr(node, "type").unwrap_or_else(|| "text".into());
    let mut fanout = SenderKeyFanout::new(state, node, me, my_jid, Jid::status_broadcast());
    let mut recipients = Vec::new();
    for phone in audience(state, node) {
        let own = phone == me.phone;
        if !own && state.has_blocked(&phone, &me.phone) {
            continue;
        }
        if !own {
            recipients.push(phone.clone());
        }
        fanout.deliver_to(&phone);
    }
    lock(&state.statuses).record(RelayedStatus {
        id: id.to_string(),
        from: me.phone.clone(),
        msg_type: ty.clone(),
        recipients,
        timestamp: now_millis(),
    });
    relay::log_row(state, "status", id, &me.phone, &to.to_string(), &ty);
    session.send(relay::server_ack("message", id, to, None));
}

//! App-state sync (`<iq xmlns="w:sync:app:state">`), the way WhatsApp
//! serves it: a device asks for collections at the version it has and gets
//! the patches after it; a device uploads a patch built on the head version
//! and it becomes the next version, and the account's other devices get a
//! `server_sync` notification so they fetch it. A patch built on an older
//! base is a 409 conflict carrying what the uploader missed.
//!
//! The relay stores patches as the devices sent them (encrypted and MACed
//! with the account's key) and never opens one. The phone's own changes are
//! encoded by the phone itself ([`phone`]), a participant that owns the key.

pub(crate) mod admin;
mod changes;
pub(crate) mod labels;
pub(crate) mod phone;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Node, SERVER_JID};

use crate::nodes::{attr, bytes, child, children, iq_result, new_id, now_secs};
use crate::state::{COLLECTIONS, DevKey, State, UploadError};

/// Most patches one answer carries; `has_more_patches` tells the rest.
const PAGE: usize = 100;

/// Handles one `w:sync:app:state` iq of the linked device `me`.
pub fn on_iq(state: &State, me: &DevKey, id: &str, node: &Node) -> Node {
    let Some(sync) = child(node, "sync") else {
        return iq_result(id, vec![]);
    };
    let mut answers = Vec::new();
    let mut uploaded = Vec::new();
    for c in children(sync).iter().filter(|c| c.tag == "collection") {
        let Some(name) = attr(c, "name") else {
            continue;
        };
        let version: u64 = attr(c, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
        if !COLLECTIONS.contains(&name.as_str()) {
            answers.push(collection_error(&name, 400, "bad-request", None));
            continue;
        }
        let upload = child(c, "patch").and_then(bytes);
        let Some(patch) = upload else {
            answers.push(patches_after(state, &me.phone, &name, version));
            continue;
        };
        match state.app_state_append(&me.phone, &name, version, patch) {
            Ok(new_version) => {
                uploaded.push((name.clone(), new_version));
                answers.push(
                    NodeBuilder::new("collection")
                        .attr("name", name)
                        .attr("version", new_version)
                        .build(),
                );
            }
            Err(UploadError::Conflict { .. }) => {
                let missed = patches_after(state, &me.phone, &name, version);
                answers.push(collection_error(&name, 409, "conflict", Some(missed)));
            }
            Err(UploadError::Bad(why)) => {
                answers.push(collection_error(&name, 400, why, None));
            }
        }
    }
    if !uploaded.is_empty() {
        state.persist();
        notify_devices(state, &me.phone, Some(me), &uploaded);
    }
    iq_result(id, vec![NodeBuilder::new("sync").children(answers).build()])
}

/// `<collection name version><patches>…</patches></collection>` with the
/// patches after `version`.
fn patches_after(state: &State, phone: &str, name: &str, version: u64) -> Node {
    let (patches, more) = state.app_state_after(phone, name, version, PAGE);
    let head = state.app_state_version(phone, name);
    let mut b = NodeBuilder::new("collection")
        .attr("name", name)
        .attr("version", head);
    if more {
        b = b.attr("has_more_patches", "true");
    }
    if patches.is_empty() {
        return b.build();
    }
    b.children([NodeBuilder::new("patches")
        .children(
            patches
                .into_iter()
                .map(|p| NodeBuilder::new("patch").bytes(p).build()),
        )
        .build()])
        .build()
}

/// `<collection name type="error"><error code text/></collection>`; a
/// conflict also carries the patches the uploader missed.
fn collection_error(name: &str, code: u16, text: &str, missed: Option<Node>) -> Node {
    let mut kids = vec![
        NodeBuilder::new("error")
            .attr("code", code)
            .attr("text", text)
            .build(),
    ];
    let mut b = NodeBuilder::new("collection")
        .attr("name", name)
        .attr("type", "error");
    if let Some(missed) = missed {
        if missed.attrs.get("has_more_patches").is_some() {
            b = b.attr("has_more_patches", "true");
        }
        if let Some(p) = child(&missed, "patches") {
            kids.push(p.clone());
        }
    }
    b.children(kids).build()
}

/// Tells every device of `phone` (but `except`, the uploader) that these
/// collections moved: `<notification type="server_sync">`.
pub fn notify_devices(
    state: &State,
    phone: &str,
    except: Option<&DevKey>,
    moved: &[(String, u64)],
) {
    let node = NodeBuilder::new("notification")
        .attr("from", SERVER_JID)
        .attr("type", "server_sync")
        .attr("id", new_id())
        .attr("t", now_secs())
        .children(moved.iter().map(|(name, version)| {
            NodeBuilder::new("collection")
                .attr("name", name.as_str())
                .attr("version", *version)
                .build()
        }))
        .build();
    for d in state.devices_of(phone) {
        if Some(&d.key) != except {
            state.deliver(&d.key, node.clone());
        }
    }
}

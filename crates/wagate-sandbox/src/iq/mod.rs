//! `<iq>` dispatch by namespace, plus the small answers a client waits on
//! after login (passive/active, ping, props, privacy).
//! Bigger namespaces live in their own modules: `keys` (prekeys), `usync`,
//! `blocklist`, `picture` (profile pictures), and `groups` / `media` /
//! `appstate` / `newsletters` (with their `w:mex` queries) at the crate root.

pub(crate) mod blocklist;
mod keys;
pub(crate) mod picture;
mod usync;

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::conn::{Role, Session};
use crate::nodes::{attr, child, iq_error, iq_result};

/// Handles one client `<iq>`.
pub async fn handle(session: &mut Session, node: Node) {
    let ty = attr(&node, "type").unwrap_or_default();
    if ty == "result" || ty == "error" {
        if matches!(session.role, Role::Pairing { .. }) {
            crate::pairing::on_client_result(session, &node);
        }
        return;
    }
    let Some(id) = attr(&node, "id") else {
        return;
    };
    let xmlns = attr(&node, "xmlns").unwrap_or_default();

    if let Role::Pairing { .. } = session.role {
        // Before linking, only pairing-code requests and pings make sense.
        let reply = match xmlns.as_str() {
            "md" => crate::pair_code::on_iq(session, &id, &node),
            "w:p" => iq_result(&id, vec![]),
            _ => iq_error(&id, 401, "not-authorized"),
        };
        session.send(reply);
        return;
    }

    let reply = match xmlns.as_str() {
        "w:p" => iq_result(&id, vec![]),
        "passive" => {
            session.send(iq_result(&id, vec![]));
            if child(&node, "active").is_some() {
                go_active(session);
            }
            return;
        }
        "encrypt" => keys::handle(session, &id, &ty, &node),
        "usync" => usync::handle(session, &id, &node),
        "abt" => iq_result(
            &id,
            vec![
                NodeBuilder::new("props")
                    .attr("protocol", "1")
                    .attr("hash", "sandbox")
                    .attr("refresh", "86400")
                    .build(),
            ],
        ),
        "w" if child(&node, "props").is_some() => iq_result(
            &id,
            vec![
                NodeBuilder::new("props")
                    .attr("version", "1")
                    .attr("hash", "sandbox")
                    .build(),
            ],
        ),
        "privacy" => privacy(&id, &ty),
        "blocklist" | "w:profile:picture" => {
            let Some((me, _)) = session.device() else {
                return;
            };
            if xmlns == "blocklist" {
                blocklist::handle(&session.state, &me.phone, &id, &ty, &node)
            } else {
                picture::handle(&session.state, &me.phone, &id, &ty, &node)
            }
        }
        "w:sync:app:state" => {
            let Some((me, _)) = session.device() else {
                return;
            };
            crate::appstate::on_iq(&session.state, me, &id, &node)
        }
        "w:g2" => crate::groups::on_iq(session, &id, &ty, &node),
        "newsletter" => crate::newsletters::on_iq(session, &id, &node),
        "w:mex" => {
            let Some((me, _)) = session.device() else {
                return;
            };
            match crate::newsletters::on_mex(&session.state, &me.phone, &id, &node) {
                Some(reply) => reply,
                None => {
                    tracing::debug!("sandbox: default empty result for an unknown mex query");
                    iq_result(&id, vec![])
                }
            }
        }
        "w:m" => crate::media::media_conn(session, &id),
        "md" => crate::pair_code::on_iq(session, &id, &node),
        _ => {
            tracing::debug!("sandbox: default empty result for iq xmlns={xmlns} type={ty}");
            iq_result(&id, vec![])
        }
    };
    session.send(reply);
}

/// Client left passive mode: flush its offline queue and close the batch
/// with `<ib><offline count=N/></ib>`.
fn go_active(session: &Session) {
    let Role::Device { key, .. } = &session.role else {
        return;
    };
    let n = session.state.activate(key, &session.handle);
    // Connected: no longer counted as connecting (`/admin/handshakes`).
    crate::state::lock(&session.handshaking).take();
    session.send(
        NodeBuilder::new("ib")
            .children([NodeBuilder::new("offline").attr("count", n).build()])
            .build(),
    );
}

fn privacy(id: &str, ty: &str) -> Node {
    if ty != "get" {
        return iq_result(id, vec![]);
    }
    let cats = [
        ("last", "all"),
        ("online", "all"),
        ("profile", "all"),
        ("status", "all"),
        ("groupadd", "all"),
        ("readreceipts", "all"),
        ("calladd", "all"),
        ("messages", "all"),
    ];
    iq_result(
        id,
        vec![
            NodeBuilder::new("privacy")
                .children(cats.iter().map(|(n, v)| {
                    NodeBuilder::new("category")
                        .attr("name", *n)
                        .attr("value", *v)
                        .build()
                }))
                .build(),
        ],
    )
}

#[cfg(test)]
pub(crate) mod test_support {
    use wacore::request::{InfoQuery, RequestUtils};
    use wacore_binary::Node;

    use crate::nodes::attr;
    use crate::state::{State, write};

    /// A sandbox world with these phones (no devices).
    pub fn state_with_phones(phones: &[&str]) -> State {
        let state = State::new(
            crate::noise::ServerIdentity::generate(),
            None,
            "http://127.0.0.1:9",
        );
        for p in phones {
            let record = crate::admin::new_phone(&state, p, "", None);
            write(&state.lid_to_phone).insert(record.lid.clone(), p.to_string());
            write(&state.phones).insert(p.to_string(), record);
        }
        state
    }

    /// The `<iq>` whatsapp-rust sends for `query`, through the binary
    /// codec as it crosses the wire, with its id and type.
    pub fn wire(query: InfoQuery<'_>) -> (Node, String, String) {
        let node = RequestUtils::new("t".into()).build_iq_node(query, None);
        let bytes = wacore_binary::marshal::marshal(&node).unwrap();
        let unpacked = wacore_binary::util::unpack(&bytes).unwrap();
        let node = wacore_binary::marshal::unmarshal_ref(&unpacked)
            .unwrap()
            .to_owned();
        let id = attr(&node, "id").unwrap();
        let ty = attr(&node, "type").unwrap();
        (node, id, ty)
    }
}

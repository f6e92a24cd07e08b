//! A newsletter's posts: the owner's plaintext `<message to="…@newsletter">`
//! becomes a post with the next server id and goes to every device of
//! every follower (the same plaintext stanza, from the newsletter, as
//! WhatsApp fans it out); a `type="reaction"` message sets the sender's
//! reaction on a post; the `newsletter` iq answers the message history
//! (`<messages count before>`, with reaction counts) and live-update
//! subscriptions. A post from anyone but the owner is refused with an
//! error `<ack>`. Nothing here is encrypted: newsletters are not, on
//! WhatsApp either.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::conn::Session;
use crate::nodes::{attr, attr_jid, bytes, child, iq_error, iq_result, now_secs};
use crate::relay::{log_row, server_ack};
use crate::state::{Post, State, read, write};

/// The most posts one history answer carries.
const HISTORY_MAX: usize = 100;
/// How long a live-updates subscription lasts, in seconds.
const LIVE_UPDATES_SECS: u32 = 300;

/// Why a post or a reaction was refused.
#[derive(Debug)]
pub enum PostError {
    NotFound(String),
    NotAdmin(String),
    BadRequest(String),
}

/// Adds a post to newsletter `digits` from `phone` (its owner) and fans it
/// out to the followers' devices. Returns the post's server id.
pub fn post(
    state: &State,
    phone: &str,
    digits: &str,
    id: &str,
    kind: &str,
    media_type: Option<String>,
    plaintext: &[u8],
) -> Result<u64, PostError> {
    let t = now_secs();
    let (server_id, followers, jid) = {
        let mut all = write(&state.newsletters);
        let n = all
            .get_mut(digits)
            .ok_or_else(|| PostError::NotFound(format!("no newsletter {digits}")))?;
        if n.owner != phone {
            return Err(PostError::NotAdmin(format!(
                "{phone} is not an admin of {}",
                n.jid_string()
            )));
        }
        let server_id = n.next_server_id();
        n.posts.push(Post {
            server_id,
            id: id.to_string(),
            t,
            kind: kind.to_string(),
            media_type: media_type.clone(),
            plaintext: hex::encode(plaintext),
            reactions: Default::default(),
        });
        let followers: Vec<String> = n.followers.iter().cloned().collect();
        (server_id, followers, n.jid_string())
    };
    let mut pt = NodeBuilder::new("plaintext");
    if let Some(mt) = media_type {
        pt = pt.attr("mediatype", mt);
    }
    let stanza = NodeBuilder::new("message")
        .attr("from", Jid::new(digits, wacore_binary::Server::Newsletter))
        .attr("id", id.to_string())
        .attr("server_id", server_id)
        .attr("t", t)
        .attr("type", kind.to_string())
        .children([pt.bytes(plaintext.to_vec()).build()])
        .build();
    for follower in &followers {
        for d in state.devices_of(follower) {
            state.deliver(&d.key, stanza.clone());
        }
    }
    log_row(state, "newsletter", id, phone, &jid, kind);
    state.persist();
    Ok(server_id)
}

/// Sets (or, with an empty code, takes back) `phone`'s reaction on a post.
pub fn react(
    state: &State,
    phone: &str,
    digits: &str,
    server_id: u64,
    code: &str,
) -> Result<(), PostError> {
    {
        let mut all = write(&state.newsletters);
        let n = all
            .get_mut(digits)
            .ok_or_else(|| PostError::NotFound(format!("no newsletter {digits}")))?;
        let post = n
            .post_mut(server_id)
            .ok_or_else(|| PostError::NotFound(format!("no post {server_id}")))?;
        if code.is_empty() {
            post.reactions.remove(phone);
        } else if code.chars().count() > 16 {
            return Err(PostError::BadRequest("reaction too long".into()));
        } else {
            post.reactions.insert(phone.to_string(), code.to_string());
        }
    }
    state.persist();
    Ok(())
}

/// A client's `<message>` to a newsletter: a post or a reaction.
pub fn on_message(session: &Session, node: &Node, to: &Jid, id: &str) {
    let Some((me, _)) = session.device() else {
        return;
    };
    let state = &session.state;
    let digits = to.user.to_string();
    let kind = attr(node, "type").unwrap_or_else(|| "text".into());
    let result = if kind == "reaction" {
        let server_id = attr(node, "server_id").and_then(|s| s.parse::<u64>().ok());
        let code = child(node, "reaction").and_then(|r| attr(r, "code"));
        match (server_id, code) {
            (Some(sid), Some(code)) => react(state, &me.phone, &digits, sid, &code).map(|_| None),
            _ => Err(PostError::BadRequest(
                "a reaction needs server_id and code".into(),
            )),
        }
    } else if attr(node, "edit").is_some() {
        Err(PostError::BadRequest(
            "editing posts is not supported".into(),
        ))
    } else {
        match child(node, "plaintext") {
            Some(pt) => post(
                state,
                &me.phone,
                &digits,
                id,
                &kind,
                attr(pt, "mediatype"),
                bytes(pt).unwrap_or_default(),
            )
            .map(Some),
            None => Err(PostError::BadRequest("a post needs <plaintext>".into())),
        }
    };
    let ack = match result {
        Ok(Some(server_id)) => server_ack(
            "message",
            id,
            to,
            Some(("server_id", server_id.to_string())),
        ),
        Ok(None) => server_ack("message", id, to, None),
        Err(e) => {
            tracing::debug!("sandbox: newsletter message refused: {e:?}");
            let code = match e {
                PostError::NotFound(_) => "404",
                PostError::NotAdmin(_) => "403",
                PostError::BadRequest(_) => "400",
            };
            server_ack("message", id, to, Some(("error", code.to_string())))
        }
    };
    session.send(ack);
}

/// The `newsletter` iq: message history (`get` with `<messages>`) and
/// live-update subscriptions (`set` with `<live_updates/>`).
pub fn on_iq(session: &Session, id: &str, node: &Node) -> Node {
    let Some((me, _)) = session.device() else {
        return iq_error(id, 401, "not-authorized");
    };
    let Some(to) = attr_jid(node, "to") else {
        return iq_error(id, 400, "bad-request");
    };
    let all = read(&session.state.newsletters);
    let Some(n) = all.get(to.user.as_str()) else {
        return iq_error(id, 404, "item-not-found");
    };
    if child(node, "live_updates").is_some() {
        return iq_result(
            id,
            vec![
                NodeBuilder::new("live_updates")
                    .attr("duration", LIVE_UPDATES_SECS)
                    .build(),
            ],
        );
    }
    let Some(query) = child(node, "messages") else {
        return iq_error(id, 400, "bad-request");
    };
    let count = attr(query, "count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(HISTORY_MAX)
        .min(HISTORY_MAX);
    let before = attr(query, "before").and_then(|b| b.parse::<u64>().ok());
    let older: Vec<&Post> = n
        .posts
        .iter()
        .filter(|p| before.is_none_or(|b| p.server_id < b))
        .collect();
    let page = &older[older.len().saturating_sub(count)..];
    let messages: Vec<Node> = page
        .iter()
        .map(|p| history_node(p, n.owner == me.phone))
        .collect();
    iq_result(
        id,
        vec![
            NodeBuilder::new("messages")
                .attr("jid", to.clone())
                .attr("t", now_secs())
                .children(messages)
                .build(),
        ],
    )
}

/// One post in a history answer.
fn history_node(p: &Post, is_sender: bool) -> Node {
    let mut pt = NodeBuilder::new("plaintext");
    if let Some(mt) = &p.media_type {
        pt = pt.attr("mediatype", mt.clone());
    }
    let reactions: Vec<Node> = p
        .reaction_counts()
        .into_iter()
        .map(|(code, count)| {
            NodeBuilder::new("reaction")
                .attr("code", code)
                .attr("count", count)
                .build()
        })
        .collect();
    let mut b = NodeBuilder::new("message")
        .attr("id", p.id.clone())
        .attr("server_id", p.server_id)
        .attr("t", p.t)
        .attr("type", p.kind.clone());
    if is_sender {
        b = b.attr("is_sender", "true");
    }
    b.children([
        pt.bytes(hex::decode(&p.plaintext).unwrap_or_default())
            .build(),
        NodeBuilder::new("reactions").children(reactions).build(),
    ])
    .build()
}

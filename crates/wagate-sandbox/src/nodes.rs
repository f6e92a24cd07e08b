//! Small helpers over `wacore_binary::Node`: attribute access, child lookup,
//! and the stock server replies (`iq` result/error, `ack`). Every handler reads
//! untrusted client stanzas through these so a missing attribute is an
//! `Option`, never a panic.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, NodeContent, SERVER_JID};

/// The string value of attribute `key`, if present.
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// The attribute `key` parsed as a JID.
pub fn attr_jid(node: &Node, key: &str) -> Option<Jid> {
    node.attrs.get(key).and_then(|v| v.to_jid())
}

/// First child with tag `tag`.
pub fn child<'a>(node: &'a Node, tag: &str) -> Option<&'a Node> {
    node.get_optional_child(tag)
}

/// All children (empty when the content is not a node list).
pub fn children(node: &Node) -> &[Node] {
    node.children().unwrap_or_default()
}

/// Byte content of a node (string content is returned as its UTF-8 bytes).
pub fn bytes(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        Some(NodeContent::String(s)) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Bytes of child `tag`.
pub fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    child(node, tag).and_then(bytes)
}

/// `<iq type="result" id=… from="s.whatsapp.net"/>` with optional children.
pub fn iq_result(id: &str, content: Vec<Node>) -> Node {
    let b = NodeBuilder::new("iq")
        .attr("from", SERVER_JID)
        .attr("type", "result")
        .attr("id", id);
    if content.is_empty() {
        b.build()
    } else {
        b.children(content).build()
    }
}

/// `<iq type="error" id=…><error code=… text=…/></iq>`.
pub fn iq_error(id: &str, code: u16, text: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER_JID)
        .attr("type", "error")
        .attr("id", id)
        .children([NodeBuilder::new("error")
            .attr("code", code)
            .attr("text", text)
            .build()])
        .build()
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A server-generated stanza id (hex, like WhatsApp's).
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    rand::fill(&mut b);
    hex::encode_upper(b)
}

//! Newsletters (WhatsApp channels). Their metadata travels as GraphQL over
//! the `w:mex` iq: `<query query_id=…>{"variables": …}</query>` answered
//! by `<result>{"data": …}</result>`, with the persisted-query ids and the
//! answer shapes whatsapp-rust (WA Web) uses: list the ones followed or
//! owned, fetch one by id or invite, create, join, leave. A newsletter
//! unknown to the sandbox is `null` in the answer, as on WhatsApp.
//!
//! Posts, history and reactions (the `newsletter` iq and plaintext
//! `<message>`s) are in `posts`; the admin routes in `routes`.

mod posts;
pub mod routes;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use wacore::iq::mex_operations::{
    create_newsletter, fetch_all_newsletters_metadata, fetch_newsletter, join_newsletter,
    leave_newsletter,
};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

pub use posts::{on_iq, on_message};

use crate::nodes::{attr, bytes, child, iq_result, now_secs};
use crate::state::{Newsletter, State, read, write};

/// The longest name and description a newsletter takes (WhatsApp's bounds).
const NAME_MAX_CHARS: usize = 100;
const DESCRIPTION_MAX_CHARS: usize = 2048;

/// A `w:mex` query about newsletters from `phone`, answered; `None` when the
/// query is not one of the newsletter operations.
pub fn on_mex(state: &State, phone: &str, id: &str, node: &Node) -> Option<Node> {
    let query = child(node, "query")?;
    let query_id = attr(query, "query_id")?;
    let vars: Value = bytes(query)
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .map(|v| v["variables"].clone())
        .unwrap_or(Value::Null);
    let data = match query_id.as_str() {
        fetch_all_newsletters_metadata::DOC_ID => list(state, phone),
        fetch_newsletter::DOC_ID => fetch(state, phone, &vars),
        create_newsletter::DOC_ID => create(state, phone, &vars),
        join_newsletter::DOC_ID => join(state, phone, &vars, true),
        leave_newsletter::DOC_ID => join(state, phone, &vars, false),
        _ => return None,
    };
    let body = serde_json::to_vec(&data).unwrap_or_default();
    Some(iq_result(
        id,
        vec![NodeBuilder::new("result").bytes(body).build()],
    ))
}

/// The metadata of `n` as `viewer` sees it (WA Web's `xwa2_newsletter` shape).
pub fn metadata(n: &Newsletter, viewer: &str) -> Value {
    json!({
        "id": n.jid_string(),
        "state": { "type": "active" },
        "thread_metadata": {
            "name": { "id": n.id, "text": n.name, "update_time": n.created_at.to_string() },
            "description": {
                "id": n.id,
                "text": n.description.clone().unwrap_or_default(),
                "update_time": n.created_at.to_string(),
            },
            "subscribers_count": n.followers.len().to_string(),
            "verification": "UNVERIFIED",
            "invite": n.invite,
            "creation_time": n.created_at.to_string(),
        },
        "viewer_metadata": { "role": n.role_of(viewer), "mute": "OFF" },
    })
}

fn list(state: &State, phone: &str) -> Value {
    let mut mine: Vec<&Newsletter> = Vec::new();
    let all = read(&state.newsletters);
    mine.extend(
        all.values()
            .filter(|n| n.owner == phone || n.followers.contains(phone)),
    );
    mine.sort_by(|a, b| a.id.cmp(&b.id));
    let list: Vec<Value> = mine.into_iter().map(|n| metadata(n, phone)).collect();
    json!({ "data": { "xwa2_newsletter_subscribed": list } })
}

/// The digits of a `<digits>@newsletter` the client named.
fn newsletter_digits(raw: Option<&str>) -> Option<String> {
    let digits = raw?.strip_suffix("@newsletter")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
}

fn fetch(state: &State, phone: &str, vars: &Value) -> Value {
    let input = &vars["input"];
    let key = input["key"].as_str();
    let all = read(&state.newsletters);
    let found = match input["type"].as_str() {
        Some("INVITE") => all.values().find(|n| Some(n.invite.as_str()) == key),
        _ => newsletter_digits(key).and_then(|d| all.get(&d)),
    };
    let meta = found.map(|n| metadata(n, phone));
    json!({ "data": { "xwa2_newsletter": meta } })
}

fn create(state: &State, phone: &str, vars: &Value) -> Value {
    let input = &vars["input"];
    let name = input["name"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    let description = input["description"]
        .as_str()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS)
    {
        return json!({
            "data": null,
            "errors": [{ "message": "invalid newsletter name or description",
                         "extensions": { "error_code": 400, "is_summary": true } }],
        });
    }
    let n = Newsletter {
        id: new_newsletter_id(),
        name,
        description,
        owner: phone.to_string(),
        created_at: now_secs(),
        invite: new_invite(),
        followers: Default::default(),
        posts: Vec::new(),
    };
    let meta = metadata(&n, phone);
    write(&state.newsletters).insert(n.id.clone(), n);
    state.persist();
    json!({ "data": { "xwa2_newsletter_create": meta } })
}

/// Join (`true`) or leave: the owner neither joins nor leaves its own.
fn join(state: &State, phone: &str, vars: &Value, joining: bool) -> Value {
    let key = if joining {
        "xwa2_newsletter_join_v2"
    } else {
        "xwa2_newsletter_leave_v2"
    };
    let digits = newsletter_digits(vars["newsletter_id"].as_str());
    let answer = {
        let mut all = write(&state.newsletters);
        match digits.and_then(|d| all.get_mut(&d)) {
            Some(n) => {
                if n.owner != phone {
                    if joining {
                        n.followers.insert(phone.to_string());
                    } else {
                        n.followers.remove(phone);
                    }
                }
                if joining {
                    metadata(n, phone)
                } else {
                    json!({ "id": n.jid_string(), "state": { "type": "active" } })
                }
            }
            None => Value::Null,
        }
    };
    if !answer.is_null() {
        state.persist();
    }
    json!({ "data": { (key): answer } })
}

/// `120363` and twelve random digits, like WhatsApp's.
fn new_newsletter_id() -> String {
    let mut b = [0u8; 12];
    rand::fill(&mut b);
    let digits: String = b.iter().map(|x| char::from(b'0' + x % 10)).collect();
    format!("120363{digits}")
}

/// A 22-character invite code.
fn new_invite() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = [0u8; 22];
    rand::fill(&mut b);
    let code: String = b
        .iter()
        .map(|x| char::from(ALPHABET[*x as usize % ALPHABET.len()]))
        .collect();
    format!("0029{code}")
}

//! What the phone's app-state admin routes share (`admin` for chats,
//! `labels` for labels): the admin API's error shape, the chat JIDs a phone
//! can name, and storing the phone's own mutations as new collection
//! versions that the account's devices are told about.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::phone::{self, PhoneMutation};
use crate::state::State;

/// The admin API's error: `{"error": "..."}`.
pub(super) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

/// A chat JID the phone can name: `…@s.whatsapp.net` (or `…@c.us`),
/// `…@g.us` or `…@lid`, normalized to WhatsApp's form.
pub(super) fn chat_jid(raw: &str) -> Option<String> {
    let (user, server) = raw.split_once('@')?;
    let server = match server {
        "c.us" | "s.whatsapp.net" => "s.whatsapp.net",
        "g.us" => "g.us",
        "lid" => "lid",
        _ => return None,
    };
    let ok = !user.is_empty()
        && user.len() <= 40
        && user.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    ok.then(|| format!("{user}@{server}"))
}

/// The collections a change moved, as the admin API shows them.
pub(super) fn collections_json(moved: &[(String, u64)]) -> Vec<serde_json::Value> {
    moved
        .iter()
        .map(|(name, version)| json!({ "name": name, "version": version }))
        .collect()
}

/// Encodes each mutation as the phone with the account's app-state key,
/// stores it as the next version of its collection and tells the devices;
/// the collections moved, with their new versions. A 409 when the phone
/// has shared no key yet or a change cannot be stored.
pub(super) fn store_changes(
    state: &State,
    phone: &str,
    mutations: &[PhoneMutation],
) -> Result<Vec<(String, u64)>, Box<Response>> {
    let has_device = state.devices_of(phone).iter().any(|d| d.key_shared);
    let key = match state.phone(phone).and_then(|p| p.app_state_key) {
        Some(key) if has_device => key,
        _ => {
            return Err(Box::new(error(
                StatusCode::CONFLICT,
                "the phone has shared no app-state key yet: link a device first",
            )));
        }
    };
    let mut moved: Vec<(String, u64)> = Vec::new();
    for mutation in mutations {
        match phone::apply(state, phone, &key, mutation) {
            Ok((name, version)) => {
                moved.retain(|(n, _)| n != name);
                moved.push((name.to_string(), version));
            }
            Err(e) => {
                return Err(Box::new(error(
                    StatusCode::CONFLICT,
                    format!("cannot store the change: {e:#}"),
                )));
            }
        }
    }
    state.persist();
    super::notify_devices(state, phone, None, &moved);
    Ok(moved)
}

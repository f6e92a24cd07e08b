//! Admin routes over app state: the phone archiving, pinning, muting or
//! marking a chat unread by itself (`POST /admin/phones/{phone}/chats/{chatJid}`),
//! and what each collection of an account holds
//! (`GET /admin/phones/{phone}/app-state`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::json;

use super::changes::{chat_jid, collections_json, error, store_changes};
use super::phone::ChatChange;
use crate::state::State;

pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/admin/phones/{phone}/chats/{chat_jid}",
            routing::post(change_chat),
        )
        .route("/admin/phones/{phone}/app-state", routing::get(summary))
}

/// What the phone changes on one chat; at least one field.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChatChanges {
    archived: Option<bool>,
    pinned: Option<bool>,
    /// Unix seconds in the future; `-1` forever; `0` unmutes.
    muted_until: Option<i64>,
    marked_unread: Option<bool>,
}

/// `POST /admin/phones/{phone}/chats/{chatJid}` with
/// `{"archived"?, "pinned"?, "mutedUntil"?, "markedUnread"?}`: the phone
/// encodes each change as an app-state mutation with the account's key,
/// stores it as the next version of its collection and tells the devices →
/// `{"phone", "chatJid", "collections": [{"name", "version"}]}`.
async fn change_chat(
    AxState(state): AxState<Arc<State>>,
    Path((phone, raw_jid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    let Some(jid) = chat_jid(&raw_jid) else {
        return error(
            StatusCode::BAD_REQUEST,
            "chatJid must be <digits>@s.whatsapp.net, @c.us, @g.us or @lid",
        );
    };
    let req: ChatChanges = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let mut changes = Vec::new();
    changes.extend(req.archived.map(ChatChange::Archived));
    changes.extend(req.pinned.map(ChatChange::Pinned));
    if let Some(until) = req.muted_until {
        if until < -1 || (until > 0 && until <= crate::nodes::now_secs()) {
            return error(
                StatusCode::BAD_REQUEST,
                "mutedUntil is a future unix time in seconds, -1 (forever) or 0 (unmute)",
            );
        }
        changes.push(ChatChange::MutedUntil(until));
    }
    changes.extend(req.marked_unread.map(ChatChange::MarkedUnread));
    if changes.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "give at least one of archived, pinned, mutedUntil, markedUnread",
        );
    }
    let mutations: Vec<_> = changes.into_iter().map(|c| c.mutation(&jid)).collect();
    match store_changes(&state, &phone, &mutations) {
        Ok(moved) => Json(json!({
            "phone": phone,
            "chatJid": jid,
            "collections": collections_json(&moved),
        }))
        .into_response(),
        Err(resp) => *resp,
    }
}

/// `GET /admin/phones/{phone}/app-state` →
/// `{"phone", "collections": [{"name", "version"}]}`: each collection the
/// account's devices (or the phone) wrote, with its head version.
async fn summary(AxState(state): AxState<Arc<State>>, Path(phone): Path<String>) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    let collections: Vec<_> = state
        .app_state_summary(&phone)
        .into_iter()
        .map(|(name, version)| json!({ "name": name, "version": version }))
        .collect();
    Json(json!({ "phone": phone, "collections": collections })).into_response()
}

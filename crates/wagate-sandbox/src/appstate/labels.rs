//! Admin routes for the phone's labels (WhatsApp Business): the phone
//! creates, changes or deletes a label
//! (`POST /admin/phones/{phone}/labels/{labelId}`) and puts one on a chat
//! or takes it off (`POST /admin/phones/{phone}/labels/{labelId}/chats/{chatJid}`).
//! Each is encoded by the phone as an app-state mutation of the `regular`
//! collection, as WhatsApp Business does, and reaches the linked devices
//! through the ordinary sync.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::changes::{chat_jid, collections_json, error, store_changes};
use super::phone::LabelChange;
use crate::state::State;

/// The longest label name the phone takes, in characters.
const NAME_MAX: usize = 100;

pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/admin/phones/{phone}/labels/{label_id}",
            routing::post(edit_label),
        )
        .route(
            "/admin/phones/{phone}/labels/{label_id}/chats/{chat_jid}",
            routing::post(label_chat),
        )
}

/// `{"name", "color"}` creates or changes the label; `{"deleted": true}`
/// deletes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelEdit {
    name: Option<String>,
    color: Option<i32>,
    #[serde(default)]
    deleted: bool,
}

/// `{"labeled": true|false}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelChat {
    labeled: bool,
}

fn valid_label_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The phone and label checked, the body parsed.
fn checked<T: DeserializeOwned>(
    state: &State,
    phone: &str,
    label_id: &str,
    body: &Bytes,
) -> Result<T, Box<Response>> {
    if !state.phone_exists(phone) {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format!("unknown phone {phone}"),
        )));
    }
    if !valid_label_id(label_id) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "labelId is 1 to 32 letters or digits",
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {e}"),
        ))
    })
}

/// `POST /admin/phones/{phone}/labels/{labelId}` →
/// `{"phone", "labelId", "collections": [{"name", "version"}]}`.
async fn edit_label(
    AxState(state): AxState<Arc<State>>,
    Path((phone, label_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let req: LabelEdit = match checked(&state, &phone, &label_id, &body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let change = if req.deleted {
        LabelChange::Delete {
            id: label_id.clone(),
        }
    } else {
        let name = req.name.unwrap_or_default();
        let color = req.color.unwrap_or(0);
        if name.trim().is_empty() || name.chars().count() > NAME_MAX || !(0..20).contains(&color) {
            return error(
                StatusCode::BAD_REQUEST,
                "give a name (1 to 100 characters) and a color from 0 to 19, or deleted: true",
            );
        }
        LabelChange::Edit {
            id: label_id.clone(),
            name,
            color,
        }
    };
    respond(&state, &phone, json!({ "labelId": label_id }), change)
}

/// `POST /admin/phones/{phone}/labels/{labelId}/chats/{chatJid}` with
/// `{"labeled"}` → `{"phone", "labelId", "chatJid", "collections"}`.
async fn label_chat(
    AxState(state): AxState<Arc<State>>,
    Path((phone, label_id, raw_jid)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let req: LabelChat = match checked(&state, &phone, &label_id, &body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let Some(jid) = chat_jid(&raw_jid) else {
        return error(
            StatusCode::BAD_REQUEST,
            "chatJid must be <digits>@s.whatsapp.net, @c.us, @g.us or @lid",
        );
    };
    let change = LabelChange::Chat {
        id: label_id.clone(),
        chat_jid: jid.clone(),
        labeled: req.labeled,
    };
    respond(
        &state,
        &phone,
        json!({ "labelId": label_id, "chatJid": jid }),
        change,
    )
}

fn respond(
    state: &State,
    phone: &str,
    mut body: serde_json::Value,
    change: LabelChange,
) -> Response {
    match store_changes(state, phone, &[change.mutation()]) {
        Ok(moved) => {
            body["phone"] = json!(phone);
            body["collections"] = json!(collections_json(&moved));
            Json(body).into_response()
        }
        Err(resp) => *resp,
    }
}

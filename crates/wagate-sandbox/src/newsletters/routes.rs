//! The admin routes of newsletters, for assertions and for a phone to post:
//! every newsletter (`GET /admin/newsletters`), one
//! (`GET /admin/newsletters/{jid}`), each with its owner, followers and
//! posts (server id, text, reaction counts); and the owner's phone posting
//! a text (`POST /admin/phones/{phone}/newsletters/{jid}/messages`
//! `{"text"}` → 201 `{"serverId", "id"}`). Errors are the admin API's
//! `{"error": …}`: 400 (bad body), 403 (not the owner), 404 (unknown).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::{Value, json};
use waproto::whatsapp as wa;

use super::posts::{PostError, post};
use crate::admin::error;
use crate::nodes::new_id;
use crate::state::{Newsletter, State, read};

/// The longest text a phone posts through the admin API.
const TEXT_MAX_CHARS: usize = 65_536;

pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/admin/newsletters", routing::get(list))
        .route("/admin/newsletters/{jid}", routing::get(get))
        .route(
            "/admin/phones/{phone}/newsletters/{jid}/messages",
            routing::post(post_text),
        )
}

/// What the admin API shows of a newsletter.
fn view(n: &Newsletter) -> Value {
    let posts: Vec<Value> = n
        .posts
        .iter()
        .map(|p| {
            let text = hex::decode(&p.plaintext)
                .ok()
                .and_then(|b| waproto::codec::message_decode(&b).ok())
                .and_then(|m| {
                    m.conversation.clone().or_else(|| {
                        m.extended_text_message
                            .as_option()
                            .and_then(|x| x.text.clone())
                    })
                });
            json!({
                "serverId": p.server_id,
                "id": p.id,
                "t": p.t,
                "type": p.kind,
                "text": text,
                "reactions": p.reaction_counts(),
            })
        })
        .collect();
    json!({
        "jid": n.jid_string(),
        "name": n.name,
        "description": n.description,
        "owner": n.owner,
        "invite": n.invite,
        "createdAt": n.created_at,
        "followers": n.followers,
        "posts": posts,
    })
}

/// The digits of a `<digits>@newsletter` (or bare digits).
fn digits_of(jid: &str) -> &str {
    jid.strip_suffix("@newsletter").unwrap_or(jid)
}

async fn list(AxState(state): AxState<Arc<State>>) -> Response {
    let all = read(&state.newsletters);
    let mut list: Vec<&Newsletter> = all.values().collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Json(list.into_iter().map(view).collect::<Vec<_>>()).into_response()
}

async fn get(AxState(state): AxState<Arc<State>>, Path(jid): Path<String>) -> Response {
    match read(&state.newsletters).get(digits_of(&jid)) {
        Some(n) => Json(view(n)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown newsletter {jid}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    text: String,
}

async fn post_text(
    AxState(state): AxState<Arc<State>>,
    Path((phone, jid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let req: PostBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    if req.text.is_empty() || req.text.chars().count() > TEXT_MAX_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("text must be 1 to {TEXT_MAX_CHARS} characters"),
        );
    }
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    let message = wa::Message {
        conversation: Some(req.text),
        ..Default::default()
    };
    let plaintext = waproto::codec::message_to_vec(&message);
    let id = new_id();
    match post(
        &state,
        &phone,
        digits_of(&jid),
        &id,
        "text",
        None,
        &plaintext,
    ) {
        Ok(server_id) => (
            StatusCode::CREATED,
            Json(json!({ "serverId": server_id, "id": id })),
        )
            .into_response(),
        Err(PostError::NotFound(m)) => error(StatusCode::NOT_FOUND, m),
        Err(PostError::NotAdmin(m)) => error(StatusCode::FORBIDDEN, m),
        Err(PostError::BadRequest(m)) => error(StatusCode::BAD_REQUEST, m),
    }
}

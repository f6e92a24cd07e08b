//! Media: the `media_conn` iq (one host — this sandbox's own `host:port` —
//! and an auth token) and the HTTP side on the same listener:
//!
//! * upload: `POST /mms/{type}/{token}?auth=…&token=…` with the encrypted
//!   blob as body → `{"url": "https://HOST/v/sandbox/{type}/{token}",
//!   "direct_path": "/v/sandbox/{type}/{token}"}`
//! * download: `GET /v/sandbox/{type}/{token}` (any query string).
//!
//! Blobs are stored as uploaded (already encrypted by the client) in memory,
//! or under `data_dir/media/` when a data dir is configured.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::conn::Session;
use crate::nodes::iq_result;
use crate::state::{State, read, write};

/// Upper bound for one blob (WhatsApp's own document limit is 2 GB; the
/// sandbox keeps blobs in memory, so it is stricter).
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

pub fn media_conn(session: &Session, id: &str) -> Node {
    let state = &session.state;
    iq_result(
        id,
        vec![
            NodeBuilder::new("media_conn")
                .attr("auth", state.media_token.clone())
                .attr("ttl", 3600)
                .attr("auth_ttl", 3600)
                .attr("max_buckets", 12)
                .children([NodeBuilder::new("host")
                    .attr("hostname", state.media_host.clone())
                    .build()])
                .build(),
        ],
    )
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn blob_key(kind: &str, token: &str) -> String {
    format!("{kind}/{token}")
}

fn json_error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
}

pub async fn upload(
    AxState(state): AxState<Arc<State>>,
    Path((kind, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if q.get("auth") != Some(&state.media_token) {
        return json_error(StatusCode::UNAUTHORIZED, "bad media auth");
    }
    if !valid_segment(&kind) || !valid_segment(&token) {
        return json_error(StatusCode::BAD_REQUEST, "bad media path");
    }
    let key = blob_key(&kind, &token);
    if let Some(dir) = &state.data_dir {
        let dir = dir.join("media").join(&kind);
        let file = dir.join(&token);
        let data = body.clone();
        let res = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(file, &data)
        })
        .await;
        if !matches!(res, Ok(Ok(()))) {
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot store blob");
        }
    } else {
        write(&state.media).insert(key.clone(), body);
    }
    let direct_path = format!("/v/sandbox/{key}");
    let url = format!("https://{}{}", state.media_host, direct_path);
    axum::Json(serde_json::json!({ "url": url, "direct_path": direct_path })).into_response()
}

pub async fn download(
    AxState(state): AxState<Arc<State>>,
    Path((kind, token)): Path<(String, String)>,
) -> Response {
    if !valid_segment(&kind) || !valid_segment(&token) {
        return json_error(StatusCode::BAD_REQUEST, "bad media path");
    }
    let key = blob_key(&kind, &token);
    if let Some(b) = read(&state.media).get(&key).cloned() {
        return b.into_response();
    }
    if let Some(dir) = &state.data_dir {
        let file = dir.join("media").join(&kind).join(&token);
        if let Ok(Ok(b)) = tokio::task::spawn_blocking(move || std::fs::read(file)).await {
            return Bytes::from(b).into_response();
        }
    }
    json_error(StatusCode::NOT_FOUND, "no such media")
}

//! The API in a cluster: any node answers any request.
//!
//! What a session's node must do (a QR, a group, a contact check, a send
//! someone waits for, …) is forwarded to the node that holds the session's
//! lease, as the same HTTP request with the caller's own key, marked with
//! this node's id ([`FORWARDED_BY`]) and the cluster's secret
//! ([`CLUSTER_SECRET_HEADER`], from `CLUSTER_SECRET`). A forwarded request
//! is never forwarded again, and one whose secret is wrong is refused. A
//! new session goes to the least-loaded node the same way.
//!
//! When the holder cannot be reached (it died; its lease has not expired
//! yet) the request is served here: an async send is queued in the shared
//! database and goes out once a survivor takes the session over, and what
//! needs the live session answers that it is not connected.
//!
//! The seed systems' drop-in routes that act on one session are forwarded
//! the same way (`routes::compat::cluster`). Event streams (`…/events`,
//! `/ws`, the drop-ins' streams) are not: every node reads the one event
//! log.

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use tracing::warn;
use wagate_core::ErrorCode;
use wagate_engine::cluster::Placement;

use crate::error::ApiError;
use crate::secret::same_secret;
use crate::state::AppState;

/// The node that forwarded a request.
pub const FORWARDED_BY: &str = "x-wagate-forwarded-by";
/// The cluster's shared secret on a forwarded request.
pub const CLUSTER_SECRET_HEADER: &str = "x-wagate-cluster-secret";

/// Routes under a session that every node serves itself.
const SERVED_ANYWHERE: &[&str] = &["/api/sessions/{id}/events"];

/// What the guard does with a request in a cluster.
pub enum Route {
    /// Serve it here.
    Here(Request),
    /// Answered (forwarded, or refused).
    Answered(Response),
}

/// Whether the request came from another node (its secret checked): such a
/// request is served here, whatever this node thinks of the session.
fn forwarded(state: &AppState, headers: &HeaderMap) -> Result<bool, ApiError> {
    if !headers.contains_key(FORWARDED_BY) {
        return Ok(false);
    }
    let expected = state
        .manager
        .cluster()
        .and_then(|c| c.config().secret.clone());
    let Some(expected) = expected else {
        return Ok(true);
    };
    let presented = headers
        .get(CLUSTER_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if same_secret(presented, &expected) {
        Ok(true)
    } else {
        Err(ApiError::new(
            ErrorCode::Unauthorized,
            "a forwarded request needs the cluster's secret",
        ))
    }
}

/// A request for one session: forwarded to the node that runs it, unless
/// that is this node (or nobody: the session starts here when asked to).
pub async fn to_session_node(
    state: &AppState,
    matched: &str,
    session_id: &str,
    request: Request,
) -> Route {
    let Some(cluster) = state.manager.cluster() else {
        return Route::Here(request);
    };
    match forwarded(state, request.headers()) {
        Ok(true) => return Route::Here(request),
        Ok(false) => {}
        Err(e) => return Route::Answered(e.into_response()),
    }
    if SERVED_ANYWHERE.contains(&matched) || cluster.holds(session_id) {
        return Route::Here(request);
    }
    let owner = match cluster.owner_of(session_id).await {
        Ok(Some(o)) if o.node_id != cluster.node_id() => o,
        Ok(_) => return Route::Here(request),
        Err(e) => return Route::Answered(ApiError::from(e).into_response()),
    };
    // A node that missed two heartbeats is taken for gone: no request
    // waits for its connect timeout while its leases run out.
    if owner.silent_ms > cluster.config().renew_every().as_millis() as i64 * 2 {
        return Route::Here(request);
    }
    forward_or_here(state, request, &owner.url, &owner.node_id).await
}

/// `POST /api/sessions`: on the least-loaded node.
pub async fn to_new_session_node(state: &AppState, request: Request) -> Route {
    let Some(cluster) = state.manager.cluster() else {
        return Route::Here(request);
    };
    match forwarded(state, request.headers()) {
        Ok(true) => return Route::Here(request),
        Ok(false) => {}
        Err(e) => return Route::Answered(e.into_response()),
    }
    match cluster.place_new_session().await {
        Ok(Placement::Here) => Route::Here(request),
        Ok(Placement::There(node)) => {
            forward_or_here(state, request, &node.url, &node.node_id).await
        }
        Err(e) => Route::Answered(ApiError::from(e).into_response()),
    }
}

/// Forwards the request to `base`; serves it here when that node cannot be
/// reached at all.
async fn forward_or_here(state: &AppState, request: Request, base: &str, node: &str) -> Route {
    let (parts, body) = request.into_parts();
    // A large body (a media upload; media limits exceed `MAX_BODY_MB`)
    // is streamed through, not held: it cannot fall back to being served
    // here.
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let large = match declared {
        Some(n) => n > state.config.max_body_bytes,
        None => parts
            .headers
            .contains_key(axum::http::header::TRANSFER_ENCODING),
    };
    if large {
        let streamed = reqwest::Body::wrap_stream(body.into_data_stream());
        return Route::Answered(match forward(state, &parts, streamed, base).await {
            Ok(response) => response,
            Err(e) => ApiError::new(
                ErrorCode::ServiceUnavailable,
                format!("the session's node ({node}) cannot be reached: {e}"),
            )
            .into_response(),
        });
    }
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return Route::Answered(
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the request body is larger than {} bytes",
                        state.config.max_body_bytes
                    ),
                )
                .into_response(),
            );
        }
    };
    match forward(state, &parts, reqwest::Body::from(bytes.clone()), base).await {
        Ok(response) => Route::Answered(response),
        Err(e) => {
            warn!(node, "cluster: node unreachable, serving here: {e}");
            Route::Here(Request::from_parts(parts, Body::from(bytes)))
        }
    }
}

/// Headers not passed on (hop-by-hop, or recomputed).
fn passed_on(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive" | "upgrade"
    ) && name.as_str() != FORWARDED_BY
        && name.as_str() != CLUSTER_SECRET_HEADER
}

/// The same request on another node; its answer streamed back. `Err` only
/// when the node could not be reached (nothing was sent).
async fn forward(
    state: &AppState,
    parts: &Parts,
    body: reqwest::Body,
    base: &str,
) -> Result<Response, reqwest::Error> {
    let cluster = state.manager.cluster().expect("only in a cluster");
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut request = state
        .cluster_http
        .request(
            parts.method.clone(),
            format!("{}{path}", base.trim_end_matches('/')),
        )
        .header(FORWARDED_BY, cluster.node_id());
    for (name, value) in &parts.headers {
        if passed_on(name) {
            request = request.header(name, value);
        }
    }
    if let Some(secret) = &cluster.config().secret {
        request = request.header(CLUSTER_SECRET_HEADER, secret);
    }
    let answer = request.body(body).send().await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) if e.is_connect() => return Err(e),
        Err(e) => {
            return Ok(ApiError::new(
                ErrorCode::ServiceUnavailable,
                format!("the session's node did not answer: {e}"),
            )
            .into_response());
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if passed_on(name) {
            response = response.header(name, value);
        }
    }
    Ok(response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| {
            ApiError::new(
                ErrorCode::InternalError,
                "bad answer from the session's node",
            )
            .into_response()
        }))
}

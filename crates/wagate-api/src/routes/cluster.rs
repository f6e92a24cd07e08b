//! `GET /api/cluster/nodes` (admin): the nodes of the cluster, their
//! heartbeats and load. A single node (SQLite) answers with itself alone.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/cluster/nodes", get(list_nodes))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDto {
    /// `NODE_ID`.
    pub id: String,
    /// `NODE_URL`: where the other nodes reach it.
    pub url: String,
    /// Whether its heartbeat is recent (within `LEASE_TTL_SECS`).
    pub alive: bool,
    /// Handing its sessions over before it exits.
    pub draining: bool,
    pub started_at: String,
    pub heartbeat_at: String,
    /// Sessions it runs now (live leases).
    pub sessions: i64,
    /// `NODE_MAX_SESSIONS` (`null`: no cap).
    pub max_sessions: Option<i64>,
    /// `sessions / maxSessions` (`null` without a cap).
    pub load: Option<f64>,
    /// Whether it is the node that answered.
    pub this_node: bool,
}

/// The cluster's nodes.
#[utoipa::path(get, path = "/api/cluster/nodes", tag = "cluster",
    security(("api_key" = [])),
    responses((status = 200, description = "Every node, its heartbeat and load", body = [NodeDto]),
              (status = 403, description = "FORBIDDEN: needs the admin key")))]
pub async fn list_nodes(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> Result<Envelope<Vec<NodeDto>>, ApiError> {
    let Some(cluster) = state.manager.cluster() else {
        let now = wagate_core::iso_ms(wagate_core::now_ms());
        let sessions = state.manager.live_counts().await.values().sum::<usize>() as i64;
        return Ok(envelope::ok(vec![NodeDto {
            id: "single".into(),
            url: String::new(),
            alive: true,
            draining: false,
            started_at: now.clone(),
            heartbeat_at: now,
            sessions,
            max_sessions: None,
            load: None,
            this_node: true,
        }]));
    };
    let nodes = cluster.nodes().await?;
    Ok(envelope::ok(
        nodes
            .into_iter()
            .map(|n| {
                let max = (n.max_sessions > 0).then_some(n.max_sessions);
                NodeDto {
                    this_node: n.node_id == cluster.node_id(),
                    id: n.node_id,
                    url: n.url,
                    alive: n.alive,
                    draining: n.draining,
                    started_at: wagate_core::iso_ms(n.started_at),
                    heartbeat_at: wagate_core::iso_ms(n.heartbeat_at),
                    sessions: n.sessions,
                    max_sessions: max,
                    load: max.map(|m| n.sessions as f64 / m as f64),
                }
            })
            .collect(),
    ))
}

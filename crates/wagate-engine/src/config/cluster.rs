//! A node's settings in a cluster (`NODE_ID`, `NODE_URL`,
//! `CLUSTER_SECRET`, `LEASE_TTL_SECS`, `NODE_MAX_SESSIONS`); what the node
//! does with them is [`crate::cluster`]'s.

use std::path::Path;
use std::time::Duration;

/// A node's identity and the cluster's timing.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `NODE_ID`: kept in `$DATA_DIR/node_id` when generated.
    pub node_id: String,
    /// `NODE_URL`: where the other nodes reach this one
    /// (`http://host:port`, no trailing slash).
    pub node_url: String,
    /// `CLUSTER_SECRET`: carried by every request one node forwards to
    /// another, and demanded of every forwarded request.
    pub secret: Option<String>,
    /// `LEASE_TTL_SECS`: how long a lease lives without renewal.
    pub lease_ttl: Duration,
    /// `NODE_MAX_SESSIONS`: the most sessions this node runs (0: no cap).
    pub max_sessions: usize,
}

impl ClusterConfig {
    /// How often the node renews its leases: a third of their life, so two
    /// renewals may fail before anything expires.
    pub fn renew_every(&self) -> Duration {
        self.lease_ttl / 3
    }

    pub(crate) fn ttl_ms(&self) -> i64 {
        self.lease_ttl.as_millis() as i64
    }
}

/// `NODE_ID` when set, else the id kept in `<data_dir>/node_id`, else a new
/// one written there (so a restarted node is the same node and takes its
/// sessions straight back).
pub fn node_id(explicit: Option<&str>, data_dir: &Path) -> Result<String, String> {
    if let Some(id) = explicit.map(str::trim).filter(|s| !s.is_empty()) {
        if id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err("NODE_ID must be 1 to 64 letters, digits, '-', '_' or '.'".to_string());
        }
        return Ok(id.to_string());
    }
    let file = data_dir.join("node_id");
    if let Ok(kept) = std::fs::read_to_string(&file)
        && !kept.trim().is_empty()
    {
        return Ok(kept.trim().to_string());
    }
    let id = format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    std::fs::write(&file, &id)
        .map_err(|e| format!("cannot keep the node id in {}: {e}", file.display()))?;
    Ok(id)
}
